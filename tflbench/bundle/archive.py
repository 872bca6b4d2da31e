"""Zip bundles: writing a staged bundle directory as one ``.zip``, checking that an existing
zip is a bundle before replacing it, and extracting a zip without trusting it.

Extraction refuses, before writing anything, entries that are absolute, climb out with ``..``,
are symlinks, encrypted, duplicated (ignoring case), nested under a file entry, compressed with
an unsupported method, or too many or too large; sizes are enforced again on the bytes actually
inflated, not only on the headers.
"""

from __future__ import annotations

import json
import lzma
import os
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from tflbench.bundle.manifest import MANIFEST, SCHEMA
from tflbench.bundle.paths import check_relative_path
from tflbench.errors import BundleError

#: Limits applied when extracting a ``.zip`` bundle (a bundle of a few models is megabytes).
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_ENTRY_BYTES = 1 << 30  # 1 GiB
MAX_ZIP_TOTAL_BYTES = 2 << 30  # 2 GiB
#: Largest manifest read from an existing zip before replacing it.
MAX_MANIFEST_BYTES = 64 << 20

_CHUNK = 1 << 20
#: Compression methods a zip bundle may use (the ones Python's zipfile reads).
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
#: What a damaged zip or entry raises while it is read.
_ZIP_ERRORS = (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError,
               ValueError, zlib.error)


def _one_line(exc: BaseException, limit: int = 300) -> str:
    return " ".join(str(exc).split())[:limit]


def write_zip(stage: Path, zip_path: Path) -> None:
    """Write every file under ``stage`` into ``zip_path`` (deflated) below one top-level
    directory named like ``stage``; the zip appears at ``zip_path`` only once complete."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    part = zip_path.with_name(zip_path.name + ".part")
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(p for p in stage.rglob("*") if p.is_file()):
            zf.write(f, f"{stage.name}/{f.relative_to(stage).as_posix()}")
    os.replace(part, zip_path)


def check_replaceable_zip(zip_path: Path) -> None:
    """Raise :class:`BundleError` unless ``zip_path`` is a zip holding a tflbench bundle."""
    if zip_path.is_symlink() or not zip_path.is_file():
        raise BundleError(f"{zip_path} exists and is not a regular file. Choose another --out.")
    reason = f"it has no {MANIFEST} at its top level or in one top-level directory"
    try:
        with zipfile.ZipFile(zip_path) as zf:
            found = [i for i in zf.infolist()
                     if i.filename.rstrip("/").split("/")[-1] == MANIFEST
                     and i.filename.count("/") <= 1 and not i.is_dir()]
            if len(found) == 1 and found[0].file_size <= MAX_MANIFEST_BYTES:
                manifest = json.loads(zf.read(found[0]).decode("utf-8"))
                schema = manifest.get("schema") if isinstance(manifest, dict) else None
                if schema == SCHEMA:
                    return
                reason = f"its {MANIFEST} has schema {schema!r}, not {SCHEMA!r}"
    except _ZIP_ERRORS:
        reason = "it is not a readable zip with a JSON manifest"
    raise BundleError(
        f"{zip_path} exists and is not a tflbench bundle ({reason}). Replacing (overwrite / "
        "--force) only replaces a bundle written by 'tflbench bundle'; nothing was deleted. "
        "Choose another --out."
    )


def safe_extract(
    zpath: Path, dest: Path, *, max_entries: int, max_entry_bytes: int, max_total_bytes: int
) -> None:
    """Extract ``zpath`` into ``dest`` after checking every entry; nothing is written when an
    entry is unsafe. Sizes are enforced on the bytes actually inflated, not the headers."""
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{zpath} is not a readable zip file ({exc}). Copy the bundle "
                          "again or give its directory.") from None
    with zf:
        infos = zf.infolist()
        _check_entries(zpath, infos, max_entries=max_entries, max_entry_bytes=max_entry_bytes,
                       max_total_bytes=max_total_bytes)
        root = dest.resolve()
        total = 0
        for info in infos:
            try:
                total = _extract_entry(zf, info, root, total, max_entry_bytes, max_total_bytes)
            except BundleError:
                raise
            except (*_ZIP_ERRORS, lzma.LZMAError) as exc:
                raise BundleError(
                    f"{zpath}: entry {info.filename!r} cannot be extracted "
                    f"({type(exc).__name__}: {_one_line(exc)}). The zip is damaged or was not "
                    "written by 'tflbench bundle'; copy the bundle again."
                ) from None


def _check_entries(zpath: Path, infos: list[zipfile.ZipInfo], *, max_entries: int,
                   max_entry_bytes: int, max_total_bytes: int) -> None:
    """Raise :class:`BundleError` at the first entry of ``infos`` that is unsafe to extract."""
    if len(infos) > max_entries:
        raise BundleError(f"{zpath} has {len(infos)} entries (limit {max_entries}); "
                          "this is not a tflbench bundle.")
    seen: set[str] = set()
    files: set[str] = set()
    declared = 0
    for info in infos:
        where = f"{zpath}: entry {info.filename!r}"
        rel = check_relative_path(info.filename, where)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise BundleError(f"{where} is a symlink; bundles may not contain links. "
                              "Re-create the bundle with 'tflbench bundle'.")
        if info.flag_bits & 0x1:
            raise BundleError(f"{where} is encrypted; tflbench bundles are not.")
        if info.compress_type not in _ZIP_METHODS:
            raise BundleError(f"{where} uses compression method {info.compress_type}, which "
                              "this reader does not support; tflbench bundles use deflate. "
                              "Re-create the bundle with 'tflbench bundle'.")
        key = rel.as_posix().lower()
        if key in seen:
            raise BundleError(f"{where} appears twice; the zip is not a tflbench bundle.")
        seen.add(key)
        if not info.is_dir():
            files.add(key)
        if info.file_size > max_entry_bytes:
            raise BundleError(f"{where} is {info.file_size} bytes uncompressed (limit "
                              f"{max_entry_bytes}); refusing to extract it.")
        declared += info.file_size
        if declared > max_total_bytes:
            raise BundleError(f"{zpath} uncompresses to more than {max_total_bytes} bytes; "
                              "refusing to extract it.")
    for info in infos:
        rel = PurePosixPath(info.filename.rstrip("/"))
        for parent in rel.parents:
            if parent.as_posix().lower() in files:
                raise BundleError(
                    f"{zpath}: entry {info.filename!r} lies under {parent.as_posix()!r}, "
                    "which is a file entry of the same zip; the zip is not a tflbench "
                    "bundle. Re-create it with 'tflbench bundle'."
                )


def _extract_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path, total: int,
                   max_entry_bytes: int, max_total_bytes: int) -> int:
    """Extract one checked entry under ``root``; return the running total of bytes written."""
    rel = PurePosixPath(info.filename.rstrip("/"))
    target = root.joinpath(*rel.parts)
    if not target.resolve().is_relative_to(root):  # pragma: no cover - checked before
        raise BundleError(f"{zf.filename}: entry {info.filename!r} escapes the bundle.")
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return total
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with zf.open(info) as src, open(target, "xb") as dst:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            total += len(chunk)
            if written > max_entry_bytes or total > max_total_bytes:
                raise BundleError(
                    f"{zf.filename}: entry {info.filename!r} inflates beyond its declared "
                    "size or the size limit; refusing to extract it."
                )
            dst.write(chunk)
    return total
