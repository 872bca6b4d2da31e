import pytest

from tflbench.errors import ConfigError
from tflbench.modes import (
    ALIASES,
    COUNTERPARTS,
    MODES,
    Mode,
    get_mode,
    modes_by_tool,
    resolve_modes,
)

CONVERTER = ["fp32", "dynamic", "fp16", "int8", "int8-float-io", "int16x8"]
QUANTIZER = ["lq-weight-int8", "lq-weight-int4", "lq-dynamic-int8", "lq-dynamic-int4",
             "lq-static-int8", "lq-static-int16x8"]


def test_registry_has_the_converter_and_quantizer_modes():
    assert list(MODES) == CONVERTER + QUANTIZER
    assert [m.name for m in modes_by_tool("converter")] == CONVERTER
    assert [m.name for m in modes_by_tool("quantizer")] == QUANTIZER
    assert all(MODES[m].recipe for m in QUANTIZER)
    assert set(COUNTERPARTS) == set(QUANTIZER) and set(COUNTERPARTS.values()) <= set(CONVERTER)


def test_full_integer_modes_need_representative_data():
    needs = {m.name for m in MODES.values() if m.needs_representative_data}
    assert needs == {"int8", "int8-float-io", "int16x8", "lq-static-int8", "lq-static-int16x8"}


def test_a_mode_record_is_consistent_about_its_tool():
    with pytest.raises(ConfigError, match=r"Received: tool='quantizer', recipe=None"):
        Mode(name="x", description="", tool="quantizer")
    with pytest.raises(ConfigError, match=r"Received: tool='optimizer'"):
        Mode(name="x", description="", tool="optimizer")


@pytest.mark.parametrize("alias",
                         ["OPTIMIZE_FOR_SIZE", "OPTIMIZE_FOR_LATENCY", "optimize_for_size"])
def test_legacy_aliases_run_as_dynamic(alias):
    assert get_mode(alias).name == "dynamic"


def test_every_alias_targets_a_mode():
    assert set(ALIASES.values()) <= set(MODES)


def test_resolve_deduplicates_and_keeps_order():
    names = [m.name for m in resolve_modes("int8, fp32,OPTIMIZE_FOR_SIZE,dynamic")]
    assert names == ["int8", "fp32", "dynamic"]


def test_resolve_all_and_the_default():
    assert len(resolve_modes("all")) == len(MODES)
    default = resolve_modes(None)
    assert default == resolve_modes([]) and {m.tool for m in default} == {"converter"}
    assert [m.name for m in default] == ["fp32", "dynamic", "fp16", "int8", "int8-float-io",
                                         "int16x8"]


def test_unknown_mode_names_what_was_received():
    with pytest.raises(ConfigError, match=r"Received: 'int4'.*fp32"):
        get_mode("int4")
