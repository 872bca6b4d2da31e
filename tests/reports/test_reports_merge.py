"""Merging documents from several devices, thread counts or dates."""

from __future__ import annotations

import copy

import pytest
from sample_results import make_device_document, make_document

from tflbench.errors import ResultsError
from tflbench.reports.merge import merge
from tflbench.reports.table import build_rows, columns, devices
from tflbench.results import validate


def test_two_devices_side_by_side() -> None:
    host, board = make_document(), make_device_document()
    doc = merge([host, board], sources=["host.json", "board.json"])
    validate(doc)
    assert devices(doc) == ["build-host", "rpi4"]
    rows = build_rows(doc)
    assert len(rows) == 24
    assert len({r.key for r in rows}) == 24
    assert [(r.mode, r.device) for r in rows[:2]] == [("fp32", "build-host"), ("fp32", "rpi4")]
    assert "device" in [k for k, _ in columns(rows)]
    by_key = {r.key: r for r in rows}
    assert by_key[("digits-cnn", "int8", "rpi4")].p50_us == \
        board["models"][0]["modes"][3]["latency"]["median"]
    assert [d["source"] for d in doc["devices"]] == ["host.json", "board.json"]
    assert doc["devices"][1]["environment"]["machine"] == "aarch64"
    assert doc["merged"]["warnings"] == []
    assert "device" not in host["models"][0]["modes"][0]  # inputs untouched


def test_same_device_twice_gets_unique_labels() -> None:
    one = make_document()
    two = make_document(seed=3)
    two["settings"]["num_threads"] = 2
    doc = merge([one, two])
    assert devices(doc) == ["build-host 1t", "build-host 2t"]
    three = copy.deepcopy(one)
    doc = merge([one, three])
    assert len(set(devices(doc))) == 2


def test_warns_when_dataset_fingerprints_differ() -> None:
    other = make_device_document()
    for m in other["models"]:
        m["dataset"]["fingerprint"] = "ffff0000"
    doc = merge([make_document(), other], sources=["a.json", "b.json"])
    warnings = doc["merged"]["warnings"]
    assert len(warnings) == 2
    assert "digits-cnn: dataset fingerprints differ between a.json" in warnings[0]


def test_single_document_is_returned_as_a_copy() -> None:
    doc = make_document()
    out = merge([doc])
    assert out == doc and out is not doc


def test_nothing_to_merge() -> None:
    with pytest.raises(ResultsError):
        merge([])


def test_different_evaluation_counts_warn():
    import copy

    from tflbench.reports.merge import merge
    from tflbench.results import new_document

    a = new_document({"hostname": "host"}, {})
    a["models"].append({"name": "m", "dataset": {"fingerprint": "f", "n_eval": 270},
                        "modes": [{"mode": "fp32", "status": "ok"}]})
    b = copy.deepcopy(a)
    b["device"] = "pi"
    b["models"][0]["dataset"]["n_eval"] = 100
    merged = merge([a, b])
    assert any("evaluated on 270 samples" in w and "100" in w
               for w in merged["merged"]["warnings"])
