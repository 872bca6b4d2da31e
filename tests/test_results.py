import json

import numpy as np
import pytest

from tflbench.errors import ResultsError
from tflbench.results import SCHEMA_VERSION, load, new_document, save, to_json, validate


def _doc():
    doc = new_document({"hostname": "h"}, {"num_threads": 1})
    doc["models"].append({"name": "m", "modes": [
        {"mode": "fp32", "status": "ok", "agreement": {"sqnr_db": float("inf"),
                                                       "top1": np.float32(1.0)}},
        {"mode": "int8", "status": "failed", "error": "boom"},
    ]})
    return doc


def test_save_and_load_round_trip_with_non_finite_as_null(tmp_path):
    p = save(_doc(), tmp_path / "r" / "results.json")
    doc = load(p)
    assert doc["models"][0]["modes"][0]["agreement"] == {"sqnr_db": None, "top1": 1.0}
    assert doc["device"] == "h" and doc["schema_version"] == SCHEMA_VERSION


def test_strict_json():
    json.loads(to_json(_doc()))  # no NaN/Infinity tokens
    assert "Infinity" not in to_json(_doc())


def test_newer_schema_is_refused_with_upgrade_hint(tmp_path):
    doc = _doc()
    doc["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ResultsError, match="newer tflbench"):
        validate(doc)


@pytest.mark.parametrize("breakage, match", [
    (lambda d: d.update(schema="other"), "not a tflbench results file"),
    (lambda d: d.update(models={}), r"\.models: expected a list"),
    (lambda d: d["models"][0]["modes"][0].update(status="meh"),
     r"models\[0\]\.modes\[0\]\.status: expected 'ok' or 'failed'"),
])
def test_malformed_documents_name_the_key(breakage, match):
    doc = _doc()
    breakage(doc)
    with pytest.raises(ResultsError, match=match):
        validate(doc)


def test_not_json(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{nope")
    with pytest.raises(ResultsError, match="x.json is not valid JSON"):
        load(p)
