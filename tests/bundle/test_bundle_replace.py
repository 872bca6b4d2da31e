"""Replacing an existing bundle (overwrite / --force) removes only that bundle's own files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from bundle_helpers import doc_from_bundle

from tflbench.bundle import MANIFEST, SCHEMA, read_bundle, write_bundle
from tflbench.errors import BundleError


@pytest.fixture
def host(bundle_copy: Path) -> tuple[dict, dict]:
    return doc_from_bundle(bundle_copy)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _web_app(root: Path) -> Path:
    root.mkdir()
    (root / MANIFEST).write_text(json.dumps({"name": "My app", "start_url": "/"}))
    (root / "index.html").write_text("<html></html>")
    (root / "js").mkdir()
    (root / "js" / "app.js").write_text("console.log(1)")
    return root


@pytest.mark.parametrize("manifest", [
    json.dumps({"name": "My app", "start_url": "/"}),
    "{not json",
    json.dumps(["a", "list"]),
    json.dumps({"schema": SCHEMA, "files": {"../outside.txt": {}}}),
    json.dumps({"schema": SCHEMA}),
])
def test_a_folder_with_another_manifest_is_never_deleted(host: tuple[dict, dict], tmp_path: Path,
                                                         manifest: str) -> None:
    doc, arrays = host
    app = _web_app(tmp_path / "webapp")
    (app / MANIFEST).write_text(manifest)
    (tmp_path / "outside.txt").write_text("keep me")
    before = _tree(app)
    with pytest.raises(BundleError, match="not a tflbench bundle.*Choose another --out"):
        write_bundle(doc, arrays, app, overwrite=True)
    assert _tree(app) == before
    assert (tmp_path / "outside.txt").read_text() == "keep me"


def test_replacing_a_bundle_keeps_unrelated_files(host: tuple[dict, dict],
                                                   tmp_path: Path) -> None:
    doc, arrays = host
    old_doc = json.loads(json.dumps(doc))
    old_doc["models"][0]["name"] = "old-model"
    out = write_bundle(old_doc, {"old-model": arrays["digits-mini"]}, tmp_path / "b")
    (out / "notes.txt").write_text("mine")
    (out / "old-model" / "extra.txt").write_text("also mine")
    (out / "results").mkdir()
    (out / "results" / "device.json").write_text("{}")

    write_bundle(doc, arrays, out, overwrite=True, max_samples=5)

    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "old-model" / "extra.txt").read_text() == "also mine"
    assert (out / "results" / "device.json").read_text() == "{}"
    assert not (out / "old-model" / "inputs.npy").exists()
    with read_bundle(out, strict=True) as b:
        assert [m.name for m in b.models] == ["digits-mini"]
        assert b.models[0].x is not None and len(b.models[0].x) == 5


def test_emptied_directories_of_the_old_bundle_are_removed(host: tuple[dict, dict],
                                                           tmp_path: Path) -> None:
    doc, arrays = host
    old_doc = json.loads(json.dumps(doc))
    old_doc["models"][0]["name"] = "old-model"
    out = write_bundle(old_doc, {"old-model": arrays["digits-mini"]}, tmp_path / "b")
    write_bundle(doc, arrays, out, overwrite=True)
    assert not (out / "old-model").exists()
    assert sorted(p.name for p in out.iterdir()) == [
        "README.txt", "digits-mini", "host-results.json", "manifest.json"]


def test_an_unlisted_file_in_the_way_is_not_overwritten(host: tuple[dict, dict],
                                                        tmp_path: Path) -> None:
    doc, arrays = host
    out = write_bundle(doc, arrays, tmp_path / "b", modes=["fp32"])
    mine = out / "digits-mini" / "int8.tflite"
    mine.write_bytes(b"my own file")
    (out / "keep.txt").write_text("mine")
    with pytest.raises(BundleError, match="refusing to overwrite"):
        write_bundle(doc, arrays, out, overwrite=True)
    assert mine.read_bytes() == b"my own file"
    assert (out / "keep.txt").read_text() == "mine"


def test_a_failed_write_removes_only_what_it_wrote(host: tuple[dict, dict],
                                                   tmp_path: Path) -> None:
    doc, arrays = host
    out = write_bundle(doc, arrays, tmp_path / "b")
    (out / "keep.txt").write_text("mine")
    path = Path(doc["models"][0]["modes"][-1]["file"]["path"])
    path.write_bytes(path.read_bytes() + b"\0")  # the last mode fails after others were written
    with pytest.raises(BundleError, match="changed since the results were written"):
        write_bundle(doc, arrays, out, overwrite=True)
    assert _tree(out) == {"keep.txt": b"mine"}


def test_zip_is_replaced_only_when_it_is_a_bundle(host: tuple[dict, dict],
                                                  tmp_path: Path) -> None:
    doc, arrays = host
    z = tmp_path / "b.zip"
    z.write_bytes(b"not a zip")
    with pytest.raises(BundleError, match="not a tflbench bundle"):
        write_bundle(doc, arrays, z, zip=True, overwrite=True)
    assert z.read_bytes() == b"not a zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("site/manifest.json", json.dumps({"name": "app"}))
    before = z.read_bytes()
    with pytest.raises(BundleError, match="schema None"):
        write_bundle(doc, arrays, z, zip=True, overwrite=True)
    assert z.read_bytes() == before

    z.unlink()
    write_bundle(doc, arrays, z, zip=True, modes=["fp32"])
    with pytest.raises(BundleError, match="already exists"):
        write_bundle(doc, arrays, z, zip=True)
    write_bundle(doc, arrays, z, zip=True, overwrite=True)
    with read_bundle(z, strict=True) as b:
        assert len(b.models[0].modes) == 3
