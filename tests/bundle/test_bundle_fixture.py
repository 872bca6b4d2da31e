"""The committed fixture bundle (fixtures/bundles/digits-mini) still verifies."""

from __future__ import annotations

import json

import numpy as np
from bundle_helpers import FIXTURE

from tflbench.bundle import MANIFEST, SCHEMA, SCHEMA_VERSION, read_bundle
from tflbench.results import validate


def test_fixture_verifies_strictly() -> None:
    with read_bundle(FIXTURE, strict=True) as b:
        assert b.intact
        assert b.problems == []
        status = b.status()
        assert {r["mode"] for r in status} == {"fp32", "dynamic", "int8"}
        assert all(r["ok"] for r in status)
        m = b.models[0]
        assert m.x is not None and m.y is not None and m.reference is not None
        assert m.x.dtype == np.float32 and m.x.shape[1:] == (8, 8, 1)
        assert len(m.x) == len(m.y) == len(m.reference) == 100
        assert m.reference.shape[1] == len(m.class_names) == 10
        assert b.host_results is not None


def test_fixture_is_small_and_a_readable_schema() -> None:
    """The fixture stays at schema_version 1 (float32 inputs): older bundles must keep
    reading."""
    size = sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file())
    assert size < 300 * 1024
    manifest = json.loads((FIXTURE / MANIFEST).read_text())
    assert manifest["schema"] == SCHEMA
    assert manifest["schema_version"] == 1 < SCHEMA_VERSION
    assert manifest["thresholds"]["digits-mini"]["int8"]["min_top1_agreement"] is not None


def test_fixture_host_results_are_a_valid_results_document() -> None:
    manifest = json.loads((FIXTURE / MANIFEST).read_text())
    host = json.loads((FIXTURE / manifest["host_results"]).read_text())
    validate(host)
    for model in host["models"]:
        for rec in model["modes"]:
            assert "samples" not in (rec.get("latency") or {})
