"""Writing bundles from a results document (rebuilt from the fixture, so no TensorFlow)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from bundle_helpers import FIXTURE, doc_from_bundle

from tflbench.bundle import (
    HOST_RESULTS,
    MANIFEST,
    ModelArrays,
    read_bundle,
    sha256_file,
    thresholds_table,
    write_bundle,
)
from tflbench.data.base import stratified_subset
from tflbench.errors import BundleError


@pytest.fixture
def host(bundle_copy: Path) -> tuple[dict, dict]:
    return doc_from_bundle(bundle_copy)


def test_write_then_read_round_trip(host: tuple[dict, dict], tmp_path: Path) -> None:
    doc, arrays = host
    out = write_bundle(doc, arrays, tmp_path / "out", max_samples=None,
                       thresholds=thresholds_table(doc))
    manifest = json.loads((out / MANIFEST).read_text())
    for rel, meta in manifest["files"].items():
        assert sha256_file(out / rel) == meta["sha256"]
        assert (out / rel).stat().st_size == meta["size_bytes"]
    assert HOST_RESULTS in manifest["files"]
    with read_bundle(out, strict=True) as b:
        m = b.models[0]
        src = arrays[m.name]
        np.testing.assert_array_equal(m.x, src.x)
        np.testing.assert_array_equal(m.y, src.y)
        np.testing.assert_array_equal(m.reference, src.reference)
        assert [md.mode for md in m.modes] == ["fp32", "dynamic", "int8"]
        for md in m.modes:
            assert md.path is not None
            assert sha256_file(md.path) == sha256_file(FIXTURE / "digits-mini" / md.path.name)


def test_max_samples_caps_the_arrays(host: tuple[dict, dict], tmp_path: Path) -> None:
    doc, arrays = host
    out = write_bundle(doc, arrays, tmp_path / "out", max_samples=7)
    src = arrays["digits-mini"]
    idx = stratified_subset(src.y, 7, 0)
    with read_bundle(out) as b:
        assert b.models[0].x is not None and len(b.models[0].x) == 7
        np.testing.assert_array_equal(b.models[0].y, src.y[idx])
        np.testing.assert_array_equal(b.models[0].x, np.asarray(src.x)[idx])
        np.testing.assert_array_equal(b.models[0].reference, src.reference[idx])
        assert b.manifest["models"][0]["n_samples"] == 7
        assert b.manifest["bundle"] == {"max_samples": 7, "sampling": "stratified", "seed": 0,
                                        "modes": None}


def test_modes_filter_and_zip(host: tuple[dict, dict], tmp_path: Path) -> None:
    doc, arrays = host
    z = write_bundle(doc, arrays, tmp_path / "out", zip=True, modes=["int8"])
    assert z.name == "out.zip" and z.is_file()
    with zipfile.ZipFile(z) as zf:
        names = zf.namelist()
    assert all(n.startswith("out/") for n in names)
    assert "out/digits-mini/int8.tflite" in names
    assert not any(n.endswith("fp32.tflite") for n in names)
    with read_bundle(z, strict=True) as b:
        assert [r["mode"] for r in b.status()] == ["int8"]


def test_refuses_a_non_empty_directory_unless_replacing_a_bundle(
    host: tuple[dict, dict], tmp_path: Path
) -> None:
    doc, arrays = host
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("user data")
    with pytest.raises(BundleError, match="not empty"):
        write_bundle(doc, arrays, other, overwrite=True)
    assert (other / "keep.txt").read_text() == "user data"
    out = write_bundle(doc, arrays, tmp_path / "b")
    with pytest.raises(BundleError, match="not empty"):
        write_bundle(doc, arrays, out)
    write_bundle(doc, arrays, out, overwrite=True, max_samples=3)
    with read_bundle(out) as b:
        assert b.models[0].x is not None and len(b.models[0].x) == 3


def test_changed_tflite_is_refused(host: tuple[dict, dict], tmp_path: Path) -> None:
    doc, arrays = host
    path = Path(doc["models"][0]["modes"][0]["file"]["path"])
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(BundleError, match="changed since the results were written"):
        write_bundle(doc, arrays, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # no partial bundle left behind


def test_missing_arrays_and_failed_modes(host: tuple[dict, dict], tmp_path: Path) -> None:
    doc, arrays = host
    with pytest.raises(BundleError, match="No evaluation arrays given for model 'digits-mini'"):
        write_bundle(doc, {}, tmp_path / "a")
    for rec in doc["models"][0]["modes"]:
        rec["status"] = "failed"
    with pytest.raises(BundleError, match="Nothing to bundle"):
        write_bundle(doc, arrays, tmp_path / "b")


def test_model_arrays_validate_lengths() -> None:
    with pytest.raises(BundleError, match="differ in length"):
        ModelArrays(np.zeros((3, 2)), np.zeros(2), np.zeros((3, 2)))
    with pytest.raises(BundleError, match="0 inputs"):
        ModelArrays(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 2)))


def test_unsafe_model_names_become_safe_directories(host: tuple[dict, dict],
                                                     tmp_path: Path) -> None:
    doc, arrays = host
    doc["models"][0]["name"] = "../../etc/evil name"
    arrays = {"../../etc/evil name": arrays["digits-mini"]}
    out = write_bundle(doc, arrays, tmp_path / "out")
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["models"][0]["dir"] == "etc-evil-name"
    assert all(not rel.startswith("..") for rel in manifest["files"])
    assert not (tmp_path / "etc").exists()
    with read_bundle(out, strict=True) as b:
        assert b.models[0].name == "../../etc/evil name"


def test_a_duplicated_mode_record_is_refused_clearly(host: tuple[dict, dict],
                                                     tmp_path: Path) -> None:
    doc, arrays = host
    modes = doc["models"][0]["modes"]
    modes.append(json.loads(json.dumps(modes[0])))  # e.g. one run merged twice
    with pytest.raises(BundleError, match="more than one successful record of mode.*'fp32'"):
        write_bundle(doc, arrays, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    out = write_bundle(doc, arrays, tmp_path / "out", modes=["int8"])
    with read_bundle(out, strict=True) as b:
        assert [r["mode"] for r in b.status()] == ["int8"]


def test_mode_names_with_the_same_slug_get_distinct_files(host: tuple[dict, dict],
                                                          tmp_path: Path) -> None:
    doc, arrays = host
    modes = doc["models"][0]["modes"]
    sources = {}
    for rec, new in zip(modes, ["fp32", "FP32", "fp32?"], strict=True):
        rec["mode"] = new  # 'FP32' clashes on case-insensitive file systems, 'fp32?' slugs to fp32
        sources[new] = sha256_file(rec["file"]["path"])
    out = write_bundle(doc, arrays, tmp_path / "out")
    manifest = json.loads((out / MANIFEST).read_text())
    files = [m["file"] for m in manifest["models"][0]["modes"]]
    assert len({f.lower() for f in files}) == 3
    with read_bundle(out, strict=True) as b:
        for md in b.models[0].modes:
            assert md.ok and md.path is not None
            assert sha256_file(md.path) == sources[md.mode]


def test_model_names_never_collide_with_bundle_files(host: tuple[dict, dict],
                                                     tmp_path: Path) -> None:
    doc, arrays = host
    first = doc["models"][0]
    names = ["manifest.json", "Model", "model"]
    doc["models"] = []
    for n in names:
        m = json.loads(json.dumps(first))
        m["name"] = n
        doc["models"].append(m)
    out = write_bundle(doc, {n: arrays["digits-mini"] for n in names}, tmp_path / "out")
    manifest = json.loads((out / MANIFEST).read_text())
    dirs = [m["dir"] for m in manifest["models"]]
    assert len({d.lower() for d in dirs} | {"manifest.json"}) == 4
    with read_bundle(out, strict=True) as b:
        assert [m.name for m in b.models] == names
