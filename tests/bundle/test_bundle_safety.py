"""Reading a bundle refuses unsafe paths, newer schemas, unsafe zips and altered files, while the
modes whose files are intact still run."""

from __future__ import annotations

import io
import os
import shutil
import stat
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from bundle_helpers import load_manifest, replace_file, save_manifest

from tflbench.bundle import MANIFEST, check_relative_path, read_bundle
from tflbench.errors import BundleError


def _flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


# -------------------------------------------------------------------------- checksums per mode


def test_altered_tflite_fails_only_its_mode(bundle_copy: Path) -> None:
    _flip_byte(bundle_copy / "digits-mini" / "int8.tflite")
    with read_bundle(bundle_copy) as b:
        status = {r["mode"]: r for r in b.status()}
        assert not status["int8"]["ok"]
        assert "digits-mini/int8.tflite" in status["int8"]["error"]
        assert "altered" in status["int8"]["error"]
        assert status["fp32"]["ok"] and status["dynamic"]["ok"]
        assert len(b.problems) == 1


def test_strict_refuses_naming_the_file(bundle_copy: Path) -> None:
    _flip_byte(bundle_copy / "digits-mini" / "int8.tflite")
    with pytest.raises(BundleError, match=r"digits-mini/int8\.tflite: altered"):
        read_bundle(bundle_copy, strict=True)


def test_same_size_edit_is_caught_by_the_checksum(bundle_copy: Path) -> None:
    p = bundle_copy / "digits-mini" / "fp32.tflite"
    size = p.stat().st_size
    _flip_byte(p, offset=size // 2)
    assert p.stat().st_size == size
    with read_bundle(bundle_copy) as b:
        bad = [r for r in b.status() if not r["ok"]]
    assert [r["mode"] for r in bad] == ["fp32"]
    assert "sha256" in bad[0]["error"]


def test_missing_file_is_named(bundle_copy: Path) -> None:
    (bundle_copy / "digits-mini" / "dynamic.tflite").unlink()
    with read_bundle(bundle_copy) as b:
        bad = {r["mode"]: r["error"] for r in b.status() if not r["ok"]}
    assert bad == {"dynamic": "digits-mini/dynamic.tflite: missing"}


def test_altered_inputs_fail_every_mode_and_the_bundle(bundle_copy: Path) -> None:
    _flip_byte(bundle_copy / "digits-mini" / "inputs.npy", offset=500)
    with pytest.raises(BundleError, match=r"digits-mini/inputs\.npy: altered"):
        read_bundle(bundle_copy)


def test_symlinked_file_is_refused(bundle_copy: Path, tmp_path: Path) -> None:
    target = bundle_copy / "digits-mini" / "fp32.tflite"
    outside = tmp_path / "outside.tflite"
    shutil.copyfile(target, outside)
    target.unlink()
    os.symlink(outside, target)
    with read_bundle(bundle_copy) as b:
        bad = {r["mode"]: r["error"] for r in b.status() if not r["ok"]}
    assert "symlink" in bad["fp32"]
    assert set(bad) == {"fp32"}


def test_symlinked_bundle_folder_is_refused(bundle_copy: Path, tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    os.symlink(bundle_copy, outer / "linked")
    with pytest.raises(BundleError, match="is a symlink"):
        read_bundle(outer)
    with pytest.raises(BundleError, match="is a symlink"):
        read_bundle(outer / "linked")
    (outer / "linked").unlink()
    shutil.copytree(bundle_copy, outer / "real")
    with read_bundle(outer, strict=True) as b:  # a real single subfolder is still accepted
        assert b.root == outer / "real"


def test_symlinked_manifest_is_refused(bundle_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "manifest-elsewhere.json"
    shutil.move(bundle_copy / MANIFEST, outside)
    os.symlink(outside, bundle_copy / MANIFEST)
    with pytest.raises(BundleError, match="symlink"):
        read_bundle(bundle_copy)


def test_pickled_array_is_refused(bundle_copy: Path) -> None:
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    replace_file(bundle_copy, "digits-mini/labels.npy", buf.getvalue(), update_manifest=True)
    with pytest.raises(BundleError, match=r"labels\.npy: not a readable \.npy"):
        read_bundle(bundle_copy)


# --------------------------------------------------------------------------- manifest and paths


@pytest.mark.parametrize("bad", ["/etc/passwd", "../outside.tflite", "digits-mini/../../x",
                                 "C:/x.tflite", "a\\b.tflite", "", "./x"])
def test_unsafe_manifest_paths_are_refused(bundle_copy: Path, bad: str) -> None:
    m = load_manifest(bundle_copy)
    meta = m["files"].pop(m["models"][0]["modes"][0]["file"])
    m["models"][0]["modes"][0]["file"] = bad
    m["files"][bad] = meta
    save_manifest(bundle_copy, m)
    with pytest.raises(BundleError, match="path"):
        read_bundle(bundle_copy)


@pytest.mark.parametrize("path", ["/abs/p", "../p", "a/../../p", "a//b", "a\\b", "C:x"])
def test_check_relative_path_rejects(path: str) -> None:
    with pytest.raises(BundleError):
        check_relative_path(path, "test")


def test_check_relative_path_accepts_plain_paths() -> None:
    assert str(check_relative_path("m/fp32.tflite", "test")) == "m/fp32.tflite"


def test_newer_schema_is_refused(bundle_copy: Path) -> None:
    m = load_manifest(bundle_copy)
    m["schema_version"] = 99
    save_manifest(bundle_copy, m)
    with pytest.raises(BundleError, match=r"made by a newer tflbench .*pip install -U tflbench"):
        read_bundle(bundle_copy)


def test_wrong_schema_and_missing_manifest(bundle_copy: Path, tmp_path: Path) -> None:
    m = load_manifest(bundle_copy)
    m["schema"] = "something.else"
    save_manifest(bundle_copy, m)
    with pytest.raises(BundleError, match="not a tflbench bundle manifest"):
        read_bundle(bundle_copy)
    (bundle_copy / MANIFEST).write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        read_bundle(bundle_copy)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BundleError, match="manifest.json"):
        read_bundle(empty)
    with pytest.raises(BundleError, match="not found"):
        read_bundle(tmp_path / "nope")


def test_file_not_listed_in_files_is_refused(bundle_copy: Path) -> None:
    m = load_manifest(bundle_copy)
    del m["files"]["digits-mini/int8.tflite"]
    save_manifest(bundle_copy, m)
    with pytest.raises(BundleError, match="not listed in 'files'"):
        read_bundle(bundle_copy)


# ---------------------------------------------------------------------------------------- zips


def _zip_of(bundle: Path, out: Path, extra: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for f in sorted(p for p in bundle.rglob("*") if p.is_file()):
            zf.write(f, f"b/{f.relative_to(bundle).as_posix()}")
        for name, data in extra:
            zf.writestr(name, data)
    return out


def test_zip_bundle_is_read_and_cleaned_up(bundle_copy: Path, tmp_path: Path) -> None:
    z = _zip_of(bundle_copy, tmp_path / "b.zip", [])
    with read_bundle(z, strict=True) as b:
        root = b.root
        assert all(r["ok"] for r in b.status())
        assert root.exists()
    assert not root.exists()


@pytest.mark.parametrize("entry", ["../evil.txt", "b/../../evil.txt", "/tmp/evil.txt",
                                   "b\\..\\evil.txt"])
def test_zip_slip_is_refused_and_nothing_is_written(bundle_copy: Path, tmp_path: Path,
                                                    entry: str) -> None:
    z = _zip_of(bundle_copy, tmp_path / "b.zip", [(entry, b"pwned")])
    with pytest.raises(BundleError, match="stay inside the bundle"):
        read_bundle(z)
    assert not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/evil.txt").exists() or Path("/tmp/evil.txt").read_bytes() != b"pwned"


def test_zip_symlink_entry_is_refused(bundle_copy: Path, tmp_path: Path) -> None:
    info = zipfile.ZipInfo("b/link.tflite")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    z = _zip_of(bundle_copy, tmp_path / "b.zip", [(info, b"/etc/passwd")])
    with pytest.raises(BundleError, match="symlink"):
        read_bundle(z)


def test_zip_size_caps(bundle_copy: Path, tmp_path: Path) -> None:
    z = _zip_of(bundle_copy, tmp_path / "b.zip", [])
    with pytest.raises(BundleError, match="refusing to extract"):
        read_bundle(z, max_total_bytes=10_000)
    with pytest.raises(BundleError, match="refusing to extract"):
        read_bundle(z, max_entry_bytes=1_000)
    with pytest.raises(BundleError, match="entries"):
        read_bundle(z, max_entries=3)


def test_zip_duplicate_entry_is_refused(bundle_copy: Path, tmp_path: Path) -> None:
    z = _zip_of(bundle_copy, tmp_path / "b.zip", [])
    with pytest.warns(UserWarning, match="Duplicate"), zipfile.ZipFile(z, "a") as zf:
        zf.writestr("b/README.txt", b"again")
    with pytest.raises(BundleError, match="appears twice"):
        read_bundle(z)


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary directory of this test only, where read_bundle extracts zips."""
    d = tmp_path / "extract"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


def test_zip_entry_under_a_file_entry_is_refused(bundle_copy: Path, tmp_path: Path,
                                                 private_tmp: Path) -> None:
    z = _zip_of(bundle_copy, tmp_path / "b.zip", [("b/m", b"x"), ("b/m/y", b"y")])
    with pytest.raises(BundleError, match=r"b\.zip: entry 'b/m/y' lies under 'b/m'"):
        read_bundle(z)
    assert not any(private_tmp.iterdir())  # the partial extraction is removed


def test_zip_with_a_bad_crc_is_a_bundle_error(bundle_copy: Path, tmp_path: Path,
                                              private_tmp: Path) -> None:
    z = tmp_path / "b.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_STORED) as zf:
        for f in sorted(p for p in bundle_copy.rglob("*") if p.is_file()):
            zf.write(f, f"b/{f.relative_to(bundle_copy).as_posix()}")
    raw = bytearray(z.read_bytes())
    raw[raw.find(b"\x93NUMPY") + 200] ^= 0xFF
    z.write_bytes(bytes(raw))
    with pytest.raises(BundleError, match=r"b\.zip: entry 'b/digits-mini/.*\.npy' cannot be "
                                          r"extracted \(BadZipFile: Bad CRC"):
        read_bundle(z)
    assert not any(private_tmp.iterdir())  # the partial extraction is removed


def test_zip_with_an_unknown_compression_method_is_refused(bundle_copy: Path,
                                                           tmp_path: Path) -> None:
    z = _zip_of(bundle_copy, tmp_path / "b.zip", [])
    raw = bytearray(z.read_bytes())
    for sig, off in ((b"PK\x01\x02", 10), (b"PK\x03\x04", 8)):
        pos = raw.find(sig)
        while pos >= 0:
            raw[pos + off : pos + off + 2] = struct.pack("<H", 99)
            pos = raw.find(sig, pos + 4)
    z.write_bytes(bytes(raw))
    with pytest.raises(BundleError, match="compression method 99"):
        read_bundle(z)


@pytest.mark.parametrize("exc", [NotImplementedError("that compression type is not supported"),
                                 OSError(28, "No space left on device")])
def test_zip_read_errors_are_bundle_errors(bundle_copy: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           exc: Exception) -> None:
    z = _zip_of(bundle_copy, tmp_path / "b.zip", [])

    def broken(self: zipfile.ZipFile, *args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(zipfile.ZipFile, "open", broken)
    with pytest.raises(BundleError, match=rf"b\.zip: entry 'b/.*' cannot be extracted "
                                          rf"\({type(exc).__name__}: "):
        read_bundle(z)


def test_not_a_zip(tmp_path: Path) -> None:
    f = tmp_path / "bundle.zip"
    f.write_bytes(b"not a zip at all")
    with pytest.raises(BundleError, match="neither a bundle directory nor a .zip"):
        read_bundle(f)
