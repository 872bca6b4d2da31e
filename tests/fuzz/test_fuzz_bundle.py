"""Fuzzing the bundle reader: random and mutated manifests (as values and as files in a copy of
the committed bundle) and damaged zip bundles end in a verified :class:`Bundle` or one clear
:class:`BundleError`, never another exception."""

from __future__ import annotations

import io
import json
import reprlib
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fuzz_helpers import (
    FIXTURE_BUNDLE,
    FUZZ_SECONDS,
    Failures,
    Tally,
    all_paths,
    deep,
    fuzz_settings,
    json_values,
    materialize,
    mutate_text,
    mutated,
    outcome,
    run_property,
    set_path,
    sweep_values,
)
from hypothesis import given
from hypothesis import strategies as st

from tflbench.bundle import MANIFEST, read_bundle, validate_manifest

pytestmark = pytest.mark.xdist_group("parsers")

BASE = json.loads((FIXTURE_BUNDLE / MANIFEST).read_text(encoding="utf-8"))


def _copy() -> Path:
    root = Path(tempfile.mkdtemp(prefix="tflbench-fuzz-bundle-")) / "digits-mini"
    shutil.copytree(FIXTURE_BUNDLE, root)
    return root


def _open(path: Path) -> None:
    with read_bundle(path) as bundle:
        bundle.status()


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(p for p in FIXTURE_BUNDLE.rglob("*") if p.is_file()):
            zf.write(f, f"digits-mini/{f.relative_to(FIXTURE_BUNDLE).as_posix()}")
    return buf.getvalue()


def test_manifest_random_and_mutated_values() -> None:
    tally = Tally("manifest-values")

    @fuzz_settings()
    @given(manifest=mutated(BASE) | json_values)
    def prop(manifest: Any) -> None:
        manifest = materialize(manifest)
        outcome(tally, lambda: validate_manifest(manifest, "manifest.json"))

    run_property(prop, tally, share=0.03)


def test_read_bundle_with_mutated_manifest_files() -> None:
    tally = Tally("bundle-manifest-files")
    root = _copy()
    _open(root)

    @st.composite
    def manifests(draw: st.DrawFn) -> bytes:
        kind = draw(st.sampled_from(["json", "bytes", "nested"]))
        if kind == "nested":
            depth = draw(st.sampled_from([100, 1000, 100_000]))
            return ('{"schema": "tflbench.bundle", "schema_version": 1, "models": '
                    + "[" * depth + "]" * depth + "}").encode()
        if kind == "json":
            doc = materialize(draw(mutated(BASE)))
            try:
                return json.dumps(doc).encode()
            except (RecursionError, ValueError):
                return json.dumps(BASE).encode()
        return mutate_text(json.dumps(BASE, indent=1).encode(), draw)

    @fuzz_settings()
    @given(data=manifests())
    def prop(data: bytes) -> None:
        (root / MANIFEST).write_bytes(data)
        outcome(tally, lambda: _open(root))

    run_property(prop, tally, share=0.04)


def test_read_damaged_zip_bundles() -> None:
    tally = Tally("bundle-zips")
    folder = Path(tempfile.mkdtemp(prefix="tflbench-fuzz-zip-"))
    original = _zip_bytes()
    (folder / "ok.zip").write_bytes(original)
    _open(folder / "ok.zip")

    @st.composite
    def zips(draw: st.DrawFn) -> bytes:
        return mutate_text(original, draw)

    @fuzz_settings()
    @given(data=zips())
    def prop(data: bytes) -> None:
        path = folder / "bundle.zip"
        path.write_bytes(data)
        outcome(tally, lambda: _open(path))

    run_property(prop, tally, share=0.04)


def test_every_nasty_value_at_every_path_of_the_manifest() -> None:
    tally = Tally("manifest-every-path")
    failures = Failures()
    root = _copy()
    values: list[Any] = [10**400, float("nan"), "\ud800", "a\x00", "../x", "/abs", "",
                         None, True, [], {}, -1, 2**64, "x" * 5000]
    for i, path in enumerate(all_paths(BASE)):
        extra = [deep(5000), deep(5000, kind="dict")] if i % 7 == 0 else []
        for value in [*sweep_values(i, values), *extra]:
            doc = json.loads(json.dumps(BASE))
            set_path(doc, path, value)
            failures.run(tally, lambda doc=doc: validate_manifest(doc, "manifest.json"),
                         f"{path}={reprlib.repr(value)}")
            try:
                data = json.dumps(doc).encode("utf-8", errors="surrogatepass")
            except (RecursionError, ValueError):
                continue
            if FUZZ_SECONDS is None and i % 8:
                continue  # the default run reads an eighth of them as files
            (root / MANIFEST).write_bytes(data)
            failures.run(tally, lambda: _open(root), f"file {path}={reprlib.repr(value)}")
    tally.write()
    failures.check()
