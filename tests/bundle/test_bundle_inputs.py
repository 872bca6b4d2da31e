"""Bundle inputs: 8-bit pixels plus the recorded preprocessing when that is exact, float32
otherwise; read back batch by batch, bit for bit what the host evaluated."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bundle_helpers import FAST, FIXTURE, doc_from_bundle, load_manifest, save_manifest

from tflbench.bundle import read_bundle, write_bundle
from tflbench.bundle.inputs import BundleInputs, open_inputs, write_inputs
from tflbench.data.preprocess import apply_preprocessing
from tflbench.errors import BundleError


def _pixels(n: int = 150, shape: tuple[int, ...] = (6, 5, 3), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def _round_trip(tmp_path: Path, x: Any, pre: Any) -> tuple[dict[str, Any], BundleInputs]:
    path = tmp_path / "inputs.npy"
    encoding = write_inputs(path, x, pre)
    return encoding, open_inputs(path, "m/inputs.npy", {"inputs_encoding": encoding})


@pytest.mark.parametrize("pre", [
    {"scale": 1.0 / 255.0, "offset": 0.0},
    "mobilenet_v2",  # x / 127.5 - 1
    "caffe",  # BGR, minus the ImageNet mean
    "torch",  # / 255, mean, std
    "raw",
    {"named": "mobilenet_v2", "resize": [6, 5], "color": "rgb"},  # only the numbers are kept
])
def test_pixels_under_the_recorded_preprocessing_are_stored_as_uint8(tmp_path: Path,
                                                                     pre: Any) -> None:
    x = apply_preprocessing(_pixels(), pre)
    encoding, stored = _round_trip(tmp_path, x, pre)
    assert encoding["dtype"] == "uint8"
    assert set(encoding["preprocessing"]) <= {"scale", "offset", "mean", "std",
                                              "channel_order"}
    assert stored.dtype == np.float32 and stored.shape == x.shape
    np.testing.assert_array_equal(np.asarray(stored), x)  # bit for bit
    header = 128  # a version-1.0 .npy header
    assert (tmp_path / "inputs.npy").stat().st_size == header + x.size


def test_digits_scaling_is_exact(tmp_path: Path) -> None:
    raw = np.random.default_rng(1).integers(0, 17, size=(70, 8, 8)).astype(np.float32)
    x = (raw / 16.0)[..., None]  # what tflbench.data.digits does
    encoding, stored = _round_trip(tmp_path, x, {"scale": 1.0 / 16.0, "offset": 0.0,
                                                 "input_shape": [8, 8, 1]})
    assert encoding == {"dtype": "uint8", "preprocessing": {"scale": 0.0625, "offset": 0.0}}
    np.testing.assert_array_equal(stored[:], x)


@pytest.mark.parametrize("make", [
    lambda: np.random.default_rng(2).normal(size=(80, 4, 4, 3)).astype(np.float32),
    lambda: np.random.default_rng(3).random((80, 12)).astype(np.float32),  # not images
    lambda: apply_preprocessing(_pixels(80), "unit") + np.float32(1e-3),  # not pixel values
], ids=["normal", "features", "shifted"])
def test_other_data_stays_float32(tmp_path: Path, make: Any) -> None:
    x = make()
    encoding, stored = _round_trip(tmp_path, x, "unit")
    assert encoding == {"dtype": "float32"}
    np.testing.assert_array_equal(np.asarray(stored), x)


def test_a_late_batch_that_is_not_exact_falls_back_for_the_whole_file(tmp_path: Path) -> None:
    x = apply_preprocessing(_pixels(200), "unit")
    x[150, 0, 0, 0] = 0.5001  # one value no 8-bit pixel gives
    encoding, stored = _round_trip(tmp_path, x, "unit")
    assert encoding == {"dtype": "float32"}
    np.testing.assert_array_equal(np.asarray(stored), x)


def test_rows_are_read_only_when_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    x = apply_preprocessing(_pixels(300), "unit")
    _, stored = _round_trip(tmp_path, x, "unit")
    reads: list[int] = []
    real = BundleInputs._read

    def spy(self: BundleInputs, rows: np.ndarray) -> np.ndarray:
        reads.append(len(rows))
        return real(self, rows)

    monkeypatch.setattr(BundleInputs, "_read", spy)
    np.testing.assert_array_equal(stored[64:128], x[64:128])
    np.testing.assert_array_equal(stored[5], x[5])
    idx = np.array([299, 3, 4, 5, 100])
    np.testing.assert_array_equal(stored[idx], x[idx])
    assert reads == [64, 1, 5]
    assert stored.stored_bytes == x.size  # one byte a value


def test_inputs_pickle_without_their_data(tmp_path: Path) -> None:
    x = apply_preprocessing(_pixels(50), "unit")
    _, stored = _round_trip(tmp_path, x, "unit")
    blob = pickle.dumps(stored)
    assert len(blob) < 2000
    np.testing.assert_array_equal(pickle.loads(blob)[10:20], x[10:20])


def test_written_bundle_is_version_2_with_uint8_inputs_and_measures_the_same(
        bundle_copy: Path, tmp_path: Path) -> None:
    from tflbench.measure import measure_bundle

    doc, arrays = doc_from_bundle(bundle_copy)
    out = write_bundle(doc, arrays, tmp_path / "out", modes=["fp32", "int8"])
    manifest = load_manifest(out)
    assert manifest["schema_version"] == 2
    entry = manifest["models"][0]
    assert entry["inputs_encoding"] == {"dtype": "uint8",
                                        "preprocessing": {"scale": 0.0625, "offset": 0.0}}
    old, new = FIXTURE / entry["inputs"], out / entry["inputs"]
    assert new.stat().st_size < old.stat().st_size / 3
    with read_bundle(out, strict=True) as b:
        assert isinstance(b.models[0].x, BundleInputs)
        np.testing.assert_array_equal(np.asarray(b.models[0].x), np.load(old))
    kw: dict[str, Any] = {"latency": FAST, "sweep": False, "e2e": False, "isolate": False}
    v1 = measure_bundle(FIXTURE, modes=["fp32", "int8"], **kw)
    v2 = measure_bundle(out, **kw)
    for a, b in zip(v1["models"][0]["modes"], v2["models"][0]["modes"], strict=True):
        assert a["mode"] == b["mode"] and a["status"] == b["status"] == "ok"
        assert a["agreement"] == b["agreement"] and a["accuracy"] == b["accuracy"]


def test_version_1_fixture_reads_lazily_as_float32() -> None:
    with read_bundle(FIXTURE, strict=True) as b:
        x = b.models[0].x
        assert isinstance(x, BundleInputs) and x.encoding == {"dtype": "float32"}
        np.testing.assert_array_equal(x[:7], np.load(FIXTURE / "digits-mini" / "inputs.npy")[:7])


@pytest.mark.parametrize(("encoding", "match"), [
    ({"dtype": "float16"}, "unknown inputs_encoding"),
    ({"dtype": "uint8"}, "inputs_encoding.preprocessing must be an object"),
    ({"dtype": "uint8", "preprocessing": {"resize": [8, 8]}}, "only scale, offset"),
    ({"dtype": "uint8", "preprocessing": {"scale": 0}}, "not usable"),
])
def test_a_bad_encoding_fails_the_model_naming_the_file(bundle_copy: Path, encoding: Any,
                                                        match: str) -> None:
    manifest = load_manifest(bundle_copy)
    manifest["models"][0]["inputs_encoding"] = encoding
    save_manifest(bundle_copy, manifest)
    with pytest.raises(BundleError, match=match):
        read_bundle(bundle_copy, strict=True)


def test_uint8_encoding_over_a_float_file_is_refused(bundle_copy: Path) -> None:
    manifest = load_manifest(bundle_copy)
    manifest["models"][0]["inputs_encoding"] = {"dtype": "uint8",
                                                "preprocessing": {"scale": 1.0}}
    save_manifest(bundle_copy, manifest)
    with pytest.raises(BundleError, match="inputs_encoding says uint8 but the file holds"):
        read_bundle(bundle_copy, strict=True)


def test_truncated_inputs_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "inputs.npy"
    write_inputs(path, apply_preprocessing(_pixels(20), "unit"), "unit")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(BundleError, match="file size"):
        open_inputs(path, "m/inputs.npy", {"inputs_encoding": {
            "dtype": "uint8", "preprocessing": {"scale": 1 / 255}}})


def test_manifest_records_the_encoding_as_json(bundle_copy: Path, tmp_path: Path) -> None:
    doc, arrays = doc_from_bundle(bundle_copy)
    out = write_bundle(doc, arrays, tmp_path / "out.zip", zip=True)
    with read_bundle(out) as b:
        assert json.dumps(b.manifest["models"][0]["inputs_encoding"])
