"""The shipped JSON Schema of manifest.json describes the manifests tflbench writes and reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bundle_helpers import FIXTURE, doc_from_bundle, load_manifest

from tflbench.bundle import (
    MANIFEST,
    README,
    SCHEMA_VERSION,
    check_relative_path,
    manifest_schema,
    read_bundle,
    thresholds_table,
    validate_manifest,
    write_bundle,
)
from tflbench.errors import BundleError


@pytest.fixture(scope="module")
def validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = manifest_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator: Any, manifest: Any) -> list[tuple[str, str]]:
    return [(e.json_path, e.message) for e in validator.iter_errors(manifest)]


def test_schema_is_draft_2020_12_and_describes_this_schema_version() -> None:
    schema = manifest_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema"] == {"const": "tflbench.bundle"}
    assert schema["properties"]["schema_version"]["enum"] == [1, 2]  # 1: still read
    assert max(schema["properties"]["schema_version"]["enum"]) == SCHEMA_VERSION


def test_each_call_returns_a_fresh_copy() -> None:
    manifest_schema()["properties"].clear()
    assert "models" in manifest_schema()["properties"]


def test_committed_fixture_manifest_validates(validator: Any) -> None:
    assert _errors(validator, load_manifest(FIXTURE)) == []


@pytest.mark.parametrize("as_zip", [False, True], ids=["directory", "zip"])
def test_written_manifest_validates(validator: Any, bundle_copy: Path, tmp_path: Path,
                                    as_zip: bool) -> None:
    doc, arrays = doc_from_bundle(bundle_copy)
    out = write_bundle(doc, arrays, tmp_path / "out", zip=as_zip, max_samples=40,
                       modes=["fp32", "int8"], thresholds=thresholds_table(doc))
    with read_bundle(out, strict=True) as b:
        manifest = b.manifest
    assert manifest["bundle"]["modes"] == ["fp32", "int8"]
    assert _errors(validator, manifest) == []


def test_every_key_the_writer_writes_is_described(bundle_copy: Path, tmp_path: Path) -> None:
    doc, arrays = doc_from_bundle(bundle_copy)
    manifest = load_manifest(write_bundle(doc, arrays, tmp_path / "out"))
    schema = manifest_schema()
    defs, top = schema["$defs"], schema["properties"]
    model, mode = manifest["models"][0], manifest["models"][0]["modes"][0]
    for written, described in [
        (manifest, top),
        (manifest["bundle"], top["bundle"]["properties"]),
        (manifest["host"], top["host"]["properties"]),
        (model, defs["model"]["properties"]),
        (mode, defs["mode"]["properties"]),
        (mode["io"], defs["io"]["properties"]),
        (mode["host"], defs["hostSummary"]["properties"]),
        (model["inputs_encoding"], defs["inputsEncoding"]["properties"]),
    ]:
        assert set(written) <= set(described), set(written) - set(described)


def test_written_bundle_holds_only_listed_files(bundle_copy: Path, tmp_path: Path) -> None:
    """Manifest and README are written atomically: no temporary file is left behind."""
    doc, arrays = doc_from_bundle(bundle_copy)
    out = write_bundle(doc, arrays, tmp_path / "out")
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk == set(load_manifest(out)["files"]) | {MANIFEST, README}


@pytest.mark.parametrize(("mutate", "path"), [
    (lambda m: m["models"][0]["modes"][0]["host"].update(threads="one"),
     "$.models[0].modes[0].host.threads"),
    (lambda m: m["files"]["digits-mini/labels.npy"].update(size_bytes="928"),
     "$.files['digits-mini/labels.npy'].size_bytes"),
    (lambda m: m.update(schema_version="1"), "$.schema_version"),
    (lambda m: m["models"][0].update(n_samples=None), "$.models[0].n_samples"),
    (lambda m: m["bundle"].update(max_samples=0), "$.bundle.max_samples"),
], ids=["host-threads", "size-bytes", "schema-version", "n-samples", "max-samples"])
def test_a_wrong_type_or_value_fails_naming_its_json_path(validator: Any, mutate: Any,
                                                          path: str) -> None:
    manifest = load_manifest(FIXTURE)
    mutate(manifest)
    errors = _errors(validator, manifest)
    assert errors and {p for p, _ in errors} == {path}, errors


@pytest.mark.parametrize("key", ["schema", "schema_version", "files", "models"])
def test_keys_a_reader_needs_are_required(validator: Any, key: str) -> None:
    manifest = load_manifest(FIXTURE)
    del manifest[key]
    assert ("$", f"'{key}' is a required property") in _errors(validator, manifest)
    with pytest.raises(BundleError):
        validate_manifest(manifest)


@pytest.mark.parametrize("rel", [
    "a", "a/b.npy", "a/b/", "...", "a..", "..a/b",
    "", "/a", "C:a", "c:/a", "a//b", "./a", "a/./b", "../a", "a/..", ".", "a\\b", "a\x00b",
])
def test_path_pattern_agrees_with_the_reader(validator: Any, rel: str) -> None:
    try:
        check_relative_path(rel, "test")
        accepted = True
    except BundleError:
        accepted = False
    manifest = load_manifest(FIXTURE)
    manifest["models"][0]["modes"][0]["file"] = rel
    manifest["files"][rel] = {"sha256": "0" * 64, "size_bytes": 0}
    assert (_errors(validator, manifest) == []) is accepted


def test_reading_a_bundle_needs_no_jsonschema() -> None:
    code = (
        "import json, sys\n"
        "sys.modules['jsonschema'] = None  # any import of it fails\n"
        "from tflbench.bundle import manifest_schema, read_bundle\n"
        f"with read_bundle({str(FIXTURE)!r}, strict=True) as b:\n"
        "    ok = all(r['ok'] for r in b.status())\n"
        "print(json.dumps({'ok': ok, 'title': manifest_schema()['title']}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"ok": True, "title": "tflbench bundle manifest"}
