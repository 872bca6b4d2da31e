"""Helpers for data-source tests: synthetic images written with Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: A distinct base colour per class so the classes are separable.
COLOURS = [(220, 40, 40), (40, 200, 60), (50, 60, 230), (230, 220, 40), (160, 40, 200)]


def write_image(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (12, 10),
                seed: int = 0, mode: str = "RGB") -> Path:
    """Write a noisy image of ``rgb`` at ``size`` (width, height) in the format of the suffix."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    arr = np.clip(np.array(rgb)[None, None, :] + rng.integers(-20, 21, (h, w, 3)), 0, 255)
    img = Image.fromarray(arr.astype(np.uint8))
    if mode != "RGB":
        img = img.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path
