"""JSON output: the results document plus recommendation, as a golden file."""

from __future__ import annotations

import json
from pathlib import Path

from sample_results import check_golden, make_v2_document

from tflbench.cli import main
from tflbench.results import validate


def test_json_golden_with_recommendation(tmp_path: Path, capsys) -> None:
    src = tmp_path / "results.json"
    src.write_text(json.dumps(make_v2_document(n_samples=12)), encoding="utf-8")
    out = tmp_path / "out.json"
    rc = main(["report", str(src), "--format", "json", "--output", str(out),
               "--max-size-bytes", "40KB", "--max-accuracy-drop", "3%"])
    assert rc == 0
    text = out.read_text(encoding="utf-8")
    doc = json.loads(text)
    validate(doc)
    rec = doc["recommendation"]
    assert rec["digits-cnn"]["mode"] == "dynamic"
    assert rec["digits-cnn"]["limits"] == {"max_size_bytes": 40000.0, "max_accuracy_drop": 0.03}
    assert rec["digits-mobilenet"]["mode"] is None
    assert rec["digits-mobilenet"]["unmet"]["max_size_bytes"] > 40000
    # the schema-2 figures pass through unchanged
    assert doc["schema_version"] == 2 and doc["warnings"]
    cnn = doc["models"][0]
    assert cnn["dataset"]["n_eval"] == 600 and cnn["dataset"]["calibration"]["disjoint"] is True
    assert cnn["modes"][3]["accuracy"]["delta_ci95"] and cnn["modes"][3]["accuracy"]["mcnemar_p"]
    check_golden("report.json", text)
