"""Portable bundles: everything a device needs to measure the converted models, with no TensorFlow.

A bundle is a directory (or a ``.zip`` of one)::

    manifest.json                 schema "tflbench.bundle", version 1 (see docs/device.md)
    README.txt                    how to measure it
    <model>/inputs.npy            evaluation inputs, already preprocessed (float32, NHWC)
    <model>/labels.npy            integer labels
    <model>/reference.npy         the Keras model's outputs on those inputs (float32)
    <model>/<mode>.tflite         one file per mode that converted successfully on the host
    host-results.json             the host's results (without latency samples), to merge with

``manifest.json`` lists every other file with its SHA-256 and size; its JSON Schema ships in the
package (:func:`manifest_schema`). :func:`read_bundle` refuses a manifest from a newer tflbench,
any path that is absolute, climbs out with ``..`` or goes through a symlink, and zip entries
that would do the same; it then checks every file and reports problems *per mode*, so the modes
whose files are intact still run. Arrays are read with ``allow_pickle=False``. The checksums
detect corruption and accidental edits; they do not prove who made the bundle.

One module per concern:

* :mod:`~tflbench.bundle.paths` - safe bundle-relative paths, slugs and unique names
* :mod:`~tflbench.bundle.manifest` - file names, schema identity, finding, loading and
  validating the manifest, and its JSON Schema
* :mod:`~tflbench.bundle.write` - :func:`write_bundle` and :class:`ModelArrays`
* :mod:`~tflbench.bundle.replace` - preparing the output directory, replacing an old bundle
* :mod:`~tflbench.bundle.archive` - writing a zip, and extracting one safely (zip-slip,
  symlinks, size caps)
* :mod:`~tflbench.bundle.verify` - checking each file's size, checksum and arrays
* :mod:`~tflbench.bundle.read` - :func:`read_bundle` and the :class:`Bundle` it returns

This package never imports TensorFlow.
"""

from __future__ import annotations

from tflbench.bundle.archive import (
    MAX_MANIFEST_BYTES,
    MAX_ZIP_ENTRIES,
    MAX_ZIP_ENTRY_BYTES,
    MAX_ZIP_TOTAL_BYTES,
)
from tflbench.bundle.manifest import (
    HOST_RESULTS,
    MANIFEST,
    README,
    SCHEMA,
    SCHEMA_VERSION,
    manifest_schema,
    validate_manifest,
)
from tflbench.bundle.paths import check_relative_path
from tflbench.bundle.read import Bundle, BundleMode, BundleModel, read_bundle
from tflbench.bundle.write import (
    DEFAULT_MAX_SAMPLES,
    ModelArrays,
    arrays_for_subject,
    bundleable_modes,
    thresholds_table,
    write_bundle,
)
from tflbench.fileio import sha256_file

__all__ = [
    "DEFAULT_MAX_SAMPLES",
    "HOST_RESULTS",
    "MANIFEST",
    "MAX_MANIFEST_BYTES",
    "MAX_ZIP_ENTRIES",
    "MAX_ZIP_ENTRY_BYTES",
    "MAX_ZIP_TOTAL_BYTES",
    "README",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Bundle",
    "BundleMode",
    "BundleModel",
    "ModelArrays",
    "arrays_for_subject",
    "bundleable_modes",
    "check_relative_path",
    "manifest_schema",
    "read_bundle",
    "sha256_file",
    "thresholds_table",
    "validate_manifest",
    "write_bundle",
]
