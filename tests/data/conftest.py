"""Fixtures for data-source tests: synthetic image folders written with Pillow."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from data_helpers import COLOURS, write_image

MakeFolder = Callable[..., Path]


@pytest.fixture
def make_folder(tmp_path: Path) -> MakeFolder:
    """``make_folder({"cat": 10, "dog": 10}, ext=".png", size=(12, 10))`` -> root folder."""
    counter = {"n": 0}

    def make(classes: Mapping[str, int], *, ext: str = ".png", size: tuple[int, int] = (12, 10),
             root: Path | None = None) -> Path:
        counter["n"] += 1
        base = root or tmp_path / f"images{counter['n']}"
        base.mkdir(parents=True, exist_ok=True)
        for c, (name, n) in enumerate(classes.items()):
            (base / name).mkdir(exist_ok=True)
            for i in range(n):
                write_image(base / name / f"{i:03d}{ext}", COLOURS[c % len(COLOURS)], size,
                            seed=c * 1000 + i)
        return base

    return make
