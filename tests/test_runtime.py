from pathlib import Path

import numpy as np
import pytest

from tflbench.errors import ModelFileError, RuntimeBackendError
from tflbench.runtime import Runner, backend_info, dequantize, quantize


def test_quantize_hand_computed():
    x = np.array([0.0, 10.0, 63.75, 127.5, -1.0, 200.0], np.float32)
    q = quantize(x, scale=0.5, zero_point=-128, dtype=np.int8)
    # x/0.5 - 128: 0 -> -128, 10 -> -108, 63.75 -> round(127.5)=128 -> 0, 127.5 -> 127,
    # -1 -> -130 clipped to -128, 200 -> 272 clipped to 127
    assert q.tolist() == [-128, -108, 0, 127, -128, 127]
    assert q.dtype == np.int8


def test_quantize_int16_symmetric():
    q = quantize(np.array([0.25, -0.25]), scale=0.5 / 32767, zero_point=0, dtype=np.int16)
    assert q.tolist() == [16384, -16384]  # round(16383.5) rounds half to even


def test_dequantize_hand_computed():
    q = np.array([-128, 0, 127], np.int8)
    np.testing.assert_allclose(dequantize(q, 0.5, -128), [0.0, 64.0, 127.5])


def test_round_trip_error_within_half_a_step():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 1000).astype(np.float32)
    scale, zp = 1 / 255, -128
    back = dequantize(quantize(x, scale, zp, np.int8), scale, zp)
    assert np.abs(back - x).max() <= scale / 2 + 1e-7


def test_float_tensors_pass_through():
    x = np.array([1.5, -2.0], np.float32)
    assert quantize(x, 0.0, 0, np.float32).tolist() == [1.5, -2.0]
    assert dequantize(x, 0.0, 0).tolist() == [1.5, -2.0]


def test_backend_is_the_lightweight_runtime():
    assert backend_info()["name"] in ("ai_edge_litert", "tflite_runtime")


@pytest.mark.parametrize("mode", ["fp32", "dynamic", "fp16", "int8", "int8-float-io", "int16x8"])
def test_every_mode_runs_batched_like_per_sample(tflite_by_mode, tiny_model, digits, mode):
    r = Runner(tflite_by_mode[mode])
    x = digits.test.x[:40]
    batched = r.predict(x, batch_size=16)
    single = r.predict_per_sample(x)
    assert batched.shape == (40, 10) and batched.dtype == np.float32
    np.testing.assert_allclose(batched, single, atol=1e-6)
    ref = tiny_model.predict(x, verbose=0)
    # quantized modes stay close to Keras; fp32 is near exact
    tol = 1e-5 if mode == "fp32" else 0.1
    assert np.abs(batched - ref).max() < tol
    assert (batched.argmax(1) == ref.argmax(1)).mean() >= 0.9


def test_int8_io_record(tflite_by_mode):
    io = Runner(tflite_by_mode["int8"]).io_record()
    assert io["input_dtype"] == "int8" and io["output_dtype"] == "int8"
    assert io["input_scale"] > 0 and io["input_shape"][1:] == [8, 8, 1]


def test_single_input_invoke_matches_predict(tflite_by_mode, digits):
    r = Runner(tflite_by_mode["int8"], num_threads=2)
    r.set_single_input(digits.test.x[3])
    r.invoke()
    np.testing.assert_allclose(r.get_output()[0], r.predict(digits.test.x[3:4])[0], atol=1e-6)


def test_xnnpack_off_gives_same_fp32_outputs(tflite_by_mode, digits):
    on = Runner(tflite_by_mode["fp32"], xnnpack=True).predict(digits.test.x[:20])
    off = Runner(tflite_by_mode["fp32"], xnnpack=False).predict(digits.test.x[:20])
    np.testing.assert_allclose(on, off, atol=1e-5)


def test_wrong_input_shape_names_both_shapes(tflite_by_mode):
    r = Runner(tflite_by_mode["fp32"])
    with pytest.raises(RuntimeBackendError, match=r"\(16, 16, 1\).*\(8, 8, 1\)"):
        r.predict(np.zeros((2, 16, 16, 1), np.float32))


def test_truncated_model_is_a_clear_error(tflite_by_mode, tmp_path: Path):
    p = tmp_path / "cut.tflite"
    p.write_bytes(tflite_by_mode["fp32"][: len(tflite_by_mode["fp32"]) // 3])
    with pytest.raises(ModelFileError, match="cut.tflite"):
        Runner(p)


def test_not_a_flatbuffer(tmp_path: Path):
    p = tmp_path / "model.tflite"
    p.write_bytes(b"this is not a model at all")
    with pytest.raises(ModelFileError, match=r"model.tflite is not a TFLite flatbuffer"):
        Runner(p)


def test_corrupt_body_with_valid_identifier(tflite_by_mode, tmp_path: Path):
    data = bytearray(tflite_by_mode["fp32"])
    data[8:200] = b"\xff" * 192
    p = tmp_path / "corrupt.tflite"
    p.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupt.tflite"):
        Runner(p)


def test_missing_file(tmp_path: Path):
    with pytest.raises(ModelFileError, match="not found"):
        Runner(tmp_path / "nope.tflite")


def test_quantize_rounds_half_away_from_zero_like_tflite():
    q = quantize(np.array([2.5, -2.5, 0.5, -0.5, 1.49]), scale=1.0, zero_point=0, dtype=np.int8)
    assert q.tolist() == [3, -3, 1, -1, 1]
