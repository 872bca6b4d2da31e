import pytest

from tflbench.errors import ConfigError
from tflbench.modes import ALIASES, MODES, get_mode, resolve_modes


def test_registry_has_the_six_modes():
    assert list(MODES) == ["fp32", "dynamic", "fp16", "int8", "int8-float-io", "int16x8"]


def test_full_integer_modes_need_representative_data():
    needs = {m.name for m in MODES.values() if m.needs_representative_data}
    assert needs == {"int8", "int8-float-io", "int16x8"}


@pytest.mark.parametrize("alias",
                         ["OPTIMIZE_FOR_SIZE", "OPTIMIZE_FOR_LATENCY", "optimize_for_size"])
def test_legacy_aliases_run_as_dynamic(alias):
    assert get_mode(alias).name == "dynamic"


def test_every_alias_targets_a_mode():
    assert set(ALIASES.values()) <= set(MODES)


def test_resolve_deduplicates_and_keeps_order():
    names = [m.name for m in resolve_modes("int8, fp32,OPTIMIZE_FOR_SIZE,dynamic")]
    assert names == ["int8", "fp32", "dynamic"]


def test_resolve_all():
    assert len(resolve_modes("all")) == len(MODES) == len(resolve_modes(None))


def test_unknown_mode_names_what_was_received():
    with pytest.raises(ConfigError, match=r"Received: 'int4'.*fp32"):
        get_mode("int4")
