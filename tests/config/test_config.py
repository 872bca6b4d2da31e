"""Project configuration: tflbench.toml / [tool.tflbench], validation, discovery, bridges."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tflbench import config
from tflbench.errors import ConfigError, DataError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_no_file_gives_the_embedded_default(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # project root: the search stops here
    cfg = config.load_project(start=tmp_path)
    assert cfg.source is None and cfg.models == ()
    assert cfg.model_names() == ["digits-cnn", "digits-mobilenet"]
    assert cfg.report_dir == tmp_path.resolve() / "reports"
    assert [s.name for s in cfg.to_subjects()] == ["digits-cnn", "digits-mobilenet"]


def test_pyproject_section_with_every_key(tmp_path: Path) -> None:
    (tmp_path / "model.keras").write_bytes(b"placeholder")
    p = write(tmp_path / "pyproject.toml", """
        [project]
        name = "demo"

        [tool.tflbench]
        modes = ["fp32", "full-int8"]
        report_dir = "out/report"
        cache_dir = "cache"
        baseline = {path = "release/results.json", max_latency_increase = 0.2, alpha = 0.01}
        representative_samples = 50
        top_k = 3
        device = "pixel-7"
        max_eval_samples = 100

        [tool.tflbench.runtime]
        threads = 2
        xnnpack = false

        [tool.tflbench.latency]
        warmup_runs = 1
        min_runs = 5
        min_seconds = 0.01

        [tool.tflbench.thresholds]
        max_size_bytes = 1_000_000

        [tool.tflbench.thresholds.int8]
        min_top1_agreement = 0.97
        min_sqnr_db = false

        [[tool.tflbench.models]]
        recipe = "digits-cnn"
        params = {epochs = 2}

        [[tool.tflbench.models]]
        name = "mine"
        path = "model.keras"
        data = "npz:data/test.npz?size=32"
        preprocessing = "unit"
        class_names = ["a", "b"]
        safe_mode = false

        [tool.tflbench.models.thresholds.int8]
        min_top1_agreement = 0.9
    """)
    cfg = config.load_project(start=tmp_path)
    root = tmp_path.resolve()
    assert cfg.source == p.resolve()
    assert cfg.mode_names() == ["fp32", "int8"]
    assert cfg.report_dir == root / "out" / "report"
    assert cfg.resolved_cache_dir() == root / "cache"
    assert cfg.baseline.path == root / "release" / "results.json"
    assert (cfg.baseline.max_latency_increase, cfg.baseline.alpha) == (0.2, 0.01)
    assert (cfg.threads, cfg.xnnpack, cfg.top_k, cfg.device) == (2, False, 3, "pixel-7")
    cnn, mine = cfg.models
    assert cnn.name == "digits-cnn" and cnn.params == {"epochs": 2}
    assert mine.path == root / "model.keras" and not mine.safe_mode
    assert mine.data == f"npz:{root / 'data' / 'test.npz'}?size=32"
    assert mine.class_names == ("a", "b") and mine.preprocessing == "unit"
    t = cfg.thresholds
    assert t.limits("digits-cnn", "int8").min_top1_agreement == 0.97
    assert t.limits("mine", "int8").min_top1_agreement == 0.9
    assert t.limits("mine", "int8").min_sqnr_db is None
    assert t.limits("mine", "fp32").max_size_bytes == 1_000_000

    settings = cfg.to_run_settings()
    assert [m.name for m in settings.modes] == ["fp32", "int8"]
    assert (settings.num_threads, settings.xnnpack, settings.top_k) == (2, False, 3)
    assert settings.representative_samples == 50 and settings.max_eval_samples == 100
    assert settings.latency.min_runs == 5 and settings.latency.warmup_runs == 1
    assert settings.cache_dir == root / "cache"


@pytest.mark.parametrize(("body", "message"), [
    ("[thresholds.int8]\nmax_accuracy_drp = 0.1\n",
     "[tool.tflbench.thresholds.int8] max_accuracy_drp: unknown key; expected one of: "
     "require_conversion, min_top1_agreement, max_accuracy_drop"),
    ("colour = 'red'\n", "[tool.tflbench] colour: unknown key; expected one of: models"),
    ("[thresholds]\nmin_top1_agreement = 'high'\n",
     "[tool.tflbench.thresholds] min_top1_agreement: expected a number (or false to disable). "
     "Received: 'high'"),
    ("[thresholds.int8]\nmin_top1_agreement = 1.2\n",
     "[tool.tflbench.thresholds.int8] min_top1_agreement: expected a fraction between 0 and 1"),
    ("[thresholds]\nint9 = {min_top1_agreement = 0.9}\n",
     "[tool.tflbench.thresholds] int9: unknown key; expected a threshold"),
    ("[runtime]\nthreads = 0\n",
     "[tool.tflbench.runtime] threads: expected an integer >= 1. Received: 0 (int)"),
    ("[runtime]\nxnnpack = 'yes'\n",
     "[tool.tflbench.runtime] xnnpack: expected true or false. Received: 'yes' (str)"),
    ("[latency]\nmin_runs = 1.5\n", "[tool.tflbench.latency] min_runs: expected an integer"),
    ("[latency]\nwarmup = 3\n", "[tool.tflbench.latency] warmup: unknown key"),
    ("modes = ['fp32', 'int9']\n", "modes: Unknown optimization mode. Received: 'int9'"),
    ("modes = 3\n", "modes: expected a list of mode names or 'all'. Received: 3 (int)"),
    ("[[models]]\nrecipe = 'nope'\n",
     "[[tool.tflbench.models]] entry 1 recipe: unknown recipe 'nope'"),
    ("[[models]]\nname = 'x'\n", "recipe/path: give exactly one of 'recipe'"),
    ("[[models]]\nrecipe = 'digits-cnn'\nparams = {epoch = 3}\n",
     "[[tool.tflbench.models]] entry 1 params: Unknown parameter(s) for recipe 'digits-cnn': "
     "epoch"),
    ("[[models]]\npath = 'missing.keras'\ndata = 'npz:x.npz'\n", "path: model not found: "),
    ("[[models]]\nrecipe = 'digits-cnn'\n[[models]]\nrecipe = 'digits-cnn'\n",
     "entry 2 name: duplicate model name 'digits-cnn'"),
    ("[[models]]\nrecipe = 'digits-cnn'\nclass_names = ['a']\n",
     "class_names: applies to model files ('path') only"),
    ("[[models]]\nrecipe = 'digits-cnn'\n[models.thresholds.int8]\nmin_sqnr = 3\n",
     "[tool.tflbench.models.digits-cnn.thresholds.int8] min_sqnr: unknown key"),
    ("baseline = {path = 'b.json', alpha = 1.0}\n",
     "[tool.tflbench.baseline] alpha: expected a number strictly between 0 and 1"),
    ("report_dir = ''\n", "[tool.tflbench] report_dir: expected a non-empty string"),
])
def test_bad_keys_and_types_name_the_full_key_path(tmp_path: Path, body: str,
                                                     message: str) -> None:
    body = re.sub(r"^(\[+)", r"\1tool.tflbench.", body, flags=re.M)
    p = write(tmp_path / "pyproject.toml", "[tool.tflbench]\n" + body)
    with pytest.raises(ConfigError) as info:
        config.load(p)
    assert message in str(info.value)
    assert str(p.resolve()) in str(info.value)


def test_tflbench_toml_uses_top_level_keys(tmp_path: Path) -> None:
    p = write(tmp_path / "tflbench.toml", "[thresholds.fp16]\nmax_size_ratio = 2\n")
    with pytest.raises(ConfigError, match=r"\[thresholds.fp16\] max_size_ratio: .*'big'"):
        write(p, "[thresholds.fp16]\nmax_size_ratio = 'big'\n")
        config.load(p)
    write(p, "modes = 'fp32,int8'\n[thresholds.fp16]\nmax_size_ratio = 0.6\n")
    cfg = config.load(p)
    assert cfg.mode_names() == ["fp32", "int8"]
    with pytest.raises(ConfigError, match=r"\[top level\] colour: unknown key"):
        write(p, "colour = 1\n")
        config.load(p)


def test_invalid_toml_and_missing_section(tmp_path: Path) -> None:
    bad = write(tmp_path / "tflbench.toml", "modes = [\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        config.load(bad)
    py = write(tmp_path / "sub" / "pyproject.toml", "[project]\nname = 'x'\n")
    with pytest.raises(ConfigError, match=r"has no \[tool.tflbench\] table"):
        config.load(py)
    with pytest.raises(ConfigError, match="Configuration file not found"):
        config.load(tmp_path / "nope.toml")


def test_discovery_walks_up_to_the_project_root(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.tflbench]\nmodes = ['fp32']\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert config.find(deep) == (tmp_path / "pyproject.toml").resolve()
    write(tmp_path / "a" / "tflbench.toml", "modes = ['int8']\n")
    assert config.find(deep) == (tmp_path / "a" / "tflbench.toml").resolve()
    assert config.load_project(start=deep).mode_names() == ["int8"]


def test_discovery_stops_at_a_pyproject_without_a_section(tmp_path: Path) -> None:
    write(tmp_path / "tflbench.toml", "modes = ['fp32']\n")
    write(tmp_path / "inner" / "pyproject.toml", "[project]\nname = 'x'\n")
    assert config.find(tmp_path / "inner") is None


def test_overrides_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    cfg = config.load_project(start=tmp_path).with_overrides(
        modes="int8,fp32", models="digits-cnn", threads=4, xnnpack=False,
        report_dir=tmp_path / "r", baseline=tmp_path / "b.json")
    assert cfg.mode_names() == ["int8", "fp32"]
    assert cfg.model_names() == ["digits-cnn"]
    assert (cfg.threads, cfg.xnnpack) == (4, False)
    assert cfg.baseline.path == (tmp_path / "b.json").resolve()
    with pytest.raises(ConfigError, match="Unknown model.*'nope'.*Expected some of: digits-cnn"):
        cfg.with_overrides(models="nope")
    with pytest.raises(ConfigError, match="--tflbench-modes"):
        cfg.with_overrides(modes="int9")


def test_npz_model_entry_loads_data_with_class_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (60, 8, 8, 1), dtype=np.uint8)
    y = np.repeat(np.arange(3), 20)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    (tmp_path / "m.keras").write_bytes(b"not loaded here")
    write(tmp_path / "tflbench.toml", """
        [[models]]
        path = "m.keras"
        data = "npz:data.npz"
        class_names = ["cat", "dog", "owl"]
    """)
    cfg = config.load_project(start=tmp_path)
    (subject,) = cfg.to_subjects()
    assert subject.name == "m"
    ds = subject.load_dataset()
    assert ds.class_names == ("cat", "dog", "owl") and ds.input_shape == (8, 8, 1)
    with pytest.raises(DataError, match="class_names has 2 names but the data"):
        config.load_data(f"npz:{tmp_path / 'data.npz'}", class_names=["a", "b"])


def test_describe_is_json_and_changes_with_settings(tmp_path: Path) -> None:
    import json

    (tmp_path / ".git").mkdir()
    a = config.load_project(start=tmp_path)
    b = a.with_overrides(threads=2)
    assert json.dumps(a.describe()) != json.dumps(b.describe())


def test_load_config_alias(tmp_path: Path) -> None:
    p = write(tmp_path / "tflbench.toml", "modes = ['fp16']\n")
    assert config.load_config(p).mode_names() == ["fp16"]
