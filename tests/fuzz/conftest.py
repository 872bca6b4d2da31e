"""The fuzz tests (docs/fuzzing.md); profiles and strategies live in ``fuzz_helpers``."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Registered by pytest-xdist when it is active; also here so that --strict-markers accepts
    # it in runs without xdist (-p no:xdist).
    config.addinivalue_line("markers", "xdist_group(name): run the group on one xdist worker")
