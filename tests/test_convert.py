import numpy as np
import pytest

from tflbench.convert import convert
from tflbench.errors import ConversionError
from tflbench.modes import MODES, Mode
from tflbench.runtime import Runner


def test_each_mode_gives_the_expected_io_types(tflite_by_mode):
    for name, data in tflite_by_mode.items():
        io = Runner(data).io_record()
        want = MODES[name].inference_input_type or "float32"
        assert io["input_dtype"] == want, name
        assert io["output_dtype"] == (MODES[name].inference_output_type or "float32"), name


def test_quantized_modes_are_smaller_than_fp32(tflite_by_mode):
    fp32 = len(tflite_by_mode["fp32"])
    assert len(tflite_by_mode["dynamic"]) < fp32
    assert len(tflite_by_mode["fp16"]) < fp32


def test_outcome_records_path_and_time(tiny_model, digits):
    out = convert(tiny_model, MODES["dynamic"], None, name="tiny")
    rec = out.record()
    assert rec["path"] in ("from_keras_model", "saved_model")
    assert rec["seconds"] > 0 and rec["cached"] is False
    assert isinstance(rec["warnings"], list)


def test_full_integer_mode_without_representative_data_is_refused(tiny_model):
    with pytest.raises(ConversionError, match="needs a representative dataset"):
        convert(tiny_model, MODES["int8"], None)


def test_unsupported_op_fails_one_mode_with_the_converter_message(cumsum_model):
    model = cumsum_model
    rep = np.random.default_rng(0).random((10, 8, 8, 1), dtype=np.float32)
    assert convert(model, MODES["fp32"], rep).tflite  # fine in float
    with pytest.raises(ConversionError, match=r"'int16x8' failed.*CUMSUM"):
        convert(model, MODES["int16x8"], rep, name="cumsum-net")


def test_a_new_mode_is_one_record(tiny_model, digits):
    mode = Mode(name="int8-weights-only-fp16", description="test", optimizations=("DEFAULT",),
                supported_types=("float16",))
    runner = Runner(convert(tiny_model, mode, None).tflite)
    assert runner.predict(digits.test.x[:4]).shape == (4, 10)
