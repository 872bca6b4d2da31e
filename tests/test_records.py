"""The typed results record: strict reading with JSON paths, round trips, and the shipped JSON
Schema generated from the records."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tflbench.cli import main as cli_main
from tflbench.commands.schema import load_schema
from tflbench.errors import ResultsError
from tflbench.records import SCHEMA_VERSION, ModeRecord, ResultsDocument, json_schema
from tflbench.results import _clean

REPO = Path(__file__).resolve().parents[1]
FIXTURES = [REPO / "fixtures" / "results" / "sample-host.json",
            REPO / "fixtures" / "results" / "sample-rpi4.json",
            REPO / "fixtures" / "bundles" / "digits-mini" / "host-results.json"]


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_shipped_schema_is_the_generated_one() -> None:
    # Regenerate with: python -c "import json; from tflbench.records import json_schema; ..."
    # (see docs/results-schema.md); this test fails when a record changes without it.
    assert load_schema("results") == json_schema()


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixtures_validate_and_round_trip(path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    doc = _load(path)
    jsonschema.Draft202012Validator(load_schema("results")).validate(doc)
    typed = ResultsDocument.from_dict(doc)
    again = _clean(typed.to_dict())
    # Only keys a version-1 writer left out come back, as nulls; every value is kept.
    for model_a, model_b in zip(_clean(doc)["models"], again["models"], strict=True):
        for ra, rb in zip(model_a["modes"], model_b["modes"], strict=True):
            for key, value in ra.items():
                if isinstance(value, dict):
                    for k, v in value.items():
                        assert rb[key][k] == v, (key, k)
                else:
                    assert rb[key] == value, key


def test_wrong_type_in_a_mode_record_names_the_json_path() -> None:
    doc = _load(FIXTURES[0])
    bad = copy.deepcopy(doc)
    bad["models"][0]["modes"][2]["agreement"]["top1"] = "high"
    with pytest.raises(ResultsError, match=r"models\[0\]\.modes\[2\]\.agreement\.top1: "
                                           r"expected a number\. Received: 'high'"):
        ResultsDocument.from_dict(bad)
    jsonschema = pytest.importorskip("jsonschema")
    errors = jsonschema.Draft202012Validator(load_schema("results")).iter_errors(bad)
    best = jsonschema.exceptions.best_match(errors)
    assert best is not None and best.json_path == "$.models[0].modes[2].agreement.top1"


def test_status_and_missing_required_keys_are_refused() -> None:
    with pytest.raises(ResultsError, match=r"\.status: expected 'ok' or 'failed'"):
        ModeRecord.from_dict({"mode": "int8", "status": "maybe"})
    with pytest.raises(ResultsError, match="missing 'mode'"):
        ModeRecord.from_dict({"status": "ok"})


def test_unknown_keys_are_kept() -> None:
    rec = ModeRecord.from_dict({"mode": "int8", "status": "ok", "note": {"by": "release"}})
    assert rec.extra == {"note": {"by": "release"}}
    assert rec.to_dict()["note"] == {"by": "release"}


def test_version_1_reads_and_newer_versions_fail_with_one_line() -> None:
    doc = _load(FIXTURES[0])
    assert doc["schema_version"] == 1
    ResultsDocument.from_dict(doc)
    doc["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ResultsError, match="written by a newer tflbench"):
        ResultsDocument.from_dict(doc)


def test_schema_command_prints_both_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["schema", "results"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"] == "tflbench results document"
    assert "ModeRecord" in printed["$defs"]
    assert cli_main(["schema", "manifest"]) == 0
    assert json.loads(capsys.readouterr().out)["type"] == "object"
