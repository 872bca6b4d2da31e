"""Helpers for the peak-memory benchmarks: synthetic images and a fresh process per measure.

A measuring script is :data:`PEAK_KB` followed by the work to measure; it prints one JSON line
last (with at least ``peak_kb``), which :func:`measure` returns as a dict.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

#: The opening of a measuring script: its imports and ``peak_kb()``, the process's peak
#: resident set size in KiB (``VmHWM`` from ``/proc/self/status``; ``ru_maxrss`` elsewhere).
PEAK_KB = r"""
import json, resource, sys, time


def peak_kb():
    # VmHWM is this process image's own peak; ru_maxrss would carry the parent's over exec.
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

"""


def images(n: int, shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 images of 10 classes (a class pattern plus noise) and their labels."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (10, *shape), dtype=np.uint8)
    y = np.arange(n) % 10
    noise = rng.integers(0, 16, (n, *shape), dtype=np.uint8)
    return base[y] // 2 + noise, y


def write_folder(root: Path, n: int, shape: tuple[int, ...], fmt: str, suffix: str,
                 **save_options: Any) -> Path:
    """``n`` image files in 10 class folders (a few encoded variants per class, copied as
    bytes), encoded by Pillow as ``fmt`` with ``save_options``."""
    from PIL import Image

    x, _ = images(40, shape, seed=1)
    encoded = []
    for img in x:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format=fmt, **save_options)
        encoded.append(buf.getvalue())
    for c in range(10):
        (root / f"class{c}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        c = i % 10
        (root / f"class{c}" / f"{i:05d}{suffix}").write_bytes(encoded[c + 10 * (i // 10 % 4)])
    return root


def measure(script: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``script`` with ``args`` in a fresh Python process; its last output line as JSON."""
    res = subprocess.run([sys.executable, "-c", script, *args],
                         capture_output=True, text=True, timeout=timeout, check=False)
    if res.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def rss_growth_mb(small: dict[str, Any], large: dict[str, Any]) -> float:
    """Peak RSS of the large run minus that of the small one, in MiB."""
    return (large["peak_kb"] - small["peak_kb"]) / 1024.0


def peak_mb(small: dict[str, Any], large: dict[str, Any]) -> list[float]:
    """Both peaks in MiB, rounded to 0.1, for ``benchmark.extra_info``."""
    return [round(small["peak_kb"] / 1024, 1), round(large["peak_kb"] / 1024, 1)]
