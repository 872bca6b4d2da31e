"""Fixtures of the bundle and measure tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from bundle_helpers import copy_fixture


@pytest.fixture
def bundle_copy(tmp_path: Path) -> Path:
    """A writable copy of the committed digits-mini bundle."""
    return copy_fixture(tmp_path)
