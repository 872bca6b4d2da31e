"""Preparing a bundle's output directory, and replacing a bundle written earlier.

Replacing (``overwrite`` / ``--force``) only ever removes a tflbench bundle, and only its own
files: the ones its manifest lists, its README and host results. Anything else in the directory
is left alone, and a directory that does not hold a bundle is refused with nothing deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from tflbench.bundle.manifest import HOST_RESULTS, MANIFEST, README, SCHEMA
from tflbench.bundle.paths import bundle_path, check_relative_path, through_symlink
from tflbench.errors import BundleError


def _not_a_bundle(out: Path, reason: str) -> BundleError:
    return BundleError(
        f"Bundle output {out} is not empty and is not a tflbench bundle ({reason}). Replacing "
        "(overwrite / --force) only removes a bundle written by 'tflbench bundle', and only its "
        "own files; nothing was deleted. Choose another --out (a new or empty directory)."
    )


def old_bundle_files(out: Path) -> list[PurePosixPath]:
    """The files of the bundle in directory ``out`` (from its manifest); raise
    :class:`BundleError` when ``out`` does not hold a tflbench bundle manifest."""
    mpath = out / MANIFEST
    if mpath.is_symlink() or not mpath.is_file():
        raise _not_a_bundle(out, f"it has no {MANIFEST}")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise _not_a_bundle(out, f"its {MANIFEST} is not readable JSON") from None
    schema = manifest.get("schema") if isinstance(manifest, dict) else None
    if schema != SCHEMA:
        raise _not_a_bundle(out, f"its {MANIFEST} has schema {schema!r}, not {SCHEMA!r}")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise _not_a_bundle(out, f"its {MANIFEST} has no 'files' object")
    try:
        return [check_relative_path(rel, str(mpath)) for rel in files]
    except BundleError:
        raise _not_a_bundle(out, f"its {MANIFEST} lists a path outside the directory") from None


def remove_files(root: Path, rels: Iterable[PurePosixPath]) -> None:
    """Delete the regular files ``rels`` under ``root`` (never through or at a symlink), then
    the directories among their parents that are left empty; ``root`` itself stays."""
    parents: set[PurePosixPath] = set()
    for rel in rels:
        parents.update(p for p in rel.parents if p.parts)
        if through_symlink(root, rel):
            continue
        p = bundle_path(root, rel)
        if p.is_file():
            p.unlink()
    for rel in sorted(parents, key=lambda r: len(r.parts), reverse=True):
        d = bundle_path(root, rel)
        if not through_symlink(root, rel) and d.is_dir() and not any(d.iterdir()):
            d.rmdir()


def prepare_out_dir(out: Path, overwrite: bool) -> bool:
    """Make ``out`` ready for a new bundle; True when it did not exist before.

    A non-empty ``out`` is accepted only with ``overwrite`` and only when it holds a tflbench
    bundle: the files its manifest lists, its README and host results are removed (the
    manifest last), and any other file is left alone.
    """
    if out.exists() or out.is_symlink():
        if out.is_symlink() or not out.is_dir():
            raise BundleError(f"Bundle output {out} exists and is not a directory. "
                              "Choose another --out.")
        if any(out.iterdir()):
            if not overwrite:
                raise BundleError(
                    f"Bundle output directory {out} is not empty. Choose an empty or new "
                    "directory (an existing bundle is replaced only with overwrite/--force)."
                )
            old = old_bundle_files(out)
            own = [PurePosixPath(README), PurePosixPath(HOST_RESULTS)]
            remove_files(out, [*old, *own])
            remove_files(out, [PurePosixPath(MANIFEST)])
        return False
    out.mkdir(parents=True)
    return True
