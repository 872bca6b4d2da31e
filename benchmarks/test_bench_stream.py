"""Peak memory of streaming evaluation data: 1,000 vs 50,000 samples (target: < 200 MB growth).

Each variant runs in a fresh Python process that opens the source, walks every batch of 256
(summing the inputs, as an evaluation loop would touch them) and reports its peak resident set
size (``VmHWM`` from ``/proc/self/status``; ``ru_maxrss`` elsewhere). The figure is the peak
at 50,000 samples minus the peak at 1,000. Samples are 32x32x3 uint8 images (CIFAR-sized;
50,000 of them are 154 MB raw, 614 MB as float32).

    pytest benchmarks/test_bench_stream.py --benchmark-only -s

Variants: ``npz-stored`` (np.savez, rows read in place), ``npz-compressed``
(np.savez_compressed, inflated once to a temporary file), ``npz-mmap`` (stored, memory-mapped:
touched pages count as resident), ``folder`` (50,000 JPEG files decoded batch by batch) and,
for contrast, ``npz-load`` (the whole set loaded with ``load_dataset``, not streamed).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SMALL, LARGE = 1_000, 50_000
SHAPE = (32, 32, 3)
LIMIT_MB = 200.0
STREAMED = ("npz-stored", "npz-compressed", "npz-mmap", "folder")

_SCRIPT = r"""
import json, resource, sys, time
import numpy as np
from tflbench.data import stream, sources


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


variant, path = sys.argv[1], sys.argv[2]
base = peak_kb()
t0 = time.perf_counter()
n, total = 0, 0.0
if variant == "npz-load":
    ds = sources.load_dataset("npz:" + path + "?fractions=0.98/0.01/0.01")
    for split in (ds.train, ds.val, ds.test):
        for x, y in split.batches(256):
            n += len(y); total += float(x.sum())
else:
    access = "mmap" if variant == "npz-mmap" else "read"
    spec = ("folder:" if variant == "folder" else "npz:") + path
    with stream.open_stream(spec, subset="all", access=access) as s:
        for x, y in s.batches(256):
            n += len(y); total += float(x.sum())
print(json.dumps({"n": n, "base_kb": base,
                  "peak_kb": peak_kb(),
                  "seconds": time.perf_counter() - t0}))
"""


def _images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (10, *SHAPE), dtype=np.uint8)
    y = np.arange(n) % 10
    noise = rng.integers(0, 16, (n, *SHAPE), dtype=np.uint8)
    return base[y] // 2 + noise, y


def _write_folder(root: Path, n: int) -> Path:
    """n JPEGs in 10 class folders (a few encoded variants per class, copied as bytes)."""
    from PIL import Image

    x, _ = _images(40, seed=1)
    encoded = []
    for img in x:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=90)
        encoded.append(buf.getvalue())
    for c in range(10):
        (root / f"class{c}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        c = i % 10
        (root / f"class{c}" / f"{i:05d}.jpg").write_bytes(encoded[c + 10 * (i // 10 % 4)])
    return root


@pytest.fixture(scope="module")
def sources_by_size(tmp_path_factory) -> dict[tuple[str, int], Path]:
    pytest.importorskip("PIL")
    out: dict[tuple[str, int], Path] = {}
    for n in (SMALL, LARGE):
        d = tmp_path_factory.mktemp(f"stream{n}")
        x, y = _images(n)
        np.savez(d / "stored.npz", x=x, y=y)
        np.savez_compressed(d / "compressed.npz", x=x, y=y)
        del x
        folder = _write_folder(d / "images", n)
        for variant in (*STREAMED, "npz-load"):
            out[(variant, n)] = (folder if variant == "folder" else
                                 d / ("compressed.npz" if variant == "npz-compressed"
                                      else "stored.npz"))
    return out


def _measure(variant: str, path: Path) -> dict[str, Any]:
    res = subprocess.run([sys.executable, "-c", _SCRIPT, variant, str(path)],
                         capture_output=True, text=True, timeout=900, check=False)
    if res.returncode != 0:
        raise AssertionError(f"{variant} on {path} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("variant", [*STREAMED, "npz-load"])
def test_stream_peak_memory(benchmark, sources_by_size, variant):
    small = _measure(variant, sources_by_size[(variant, SMALL)])
    large = benchmark.pedantic(_measure, args=(variant, sources_by_size[(variant, LARGE)]),
                               rounds=1, iterations=1)
    growth_mb = (large["peak_kb"] - small["peak_kb"]) / 1024.0
    assert small["n"] == SMALL and large["n"] == LARGE
    benchmark.extra_info.update({
        "samples": [SMALL, LARGE],
        "peak_mb": [round(small["peak_kb"] / 1024, 1), round(large["peak_kb"] / 1024, 1)],
        "growth_mb": round(growth_mb, 1),
        "seconds_50k": round(large["seconds"], 2),
    })
    print(f"\n{variant:15s} peak {small['peak_kb'] / 1024:7.1f} MB at {SMALL:,} -> "
          f"{large['peak_kb'] / 1024:7.1f} MB at {LARGE:,}: growth {growth_mb:6.1f} MB, "
          f"{large['seconds']:.2f} s for {LARGE:,}")
    if variant in STREAMED:
        assert growth_mb < LIMIT_MB, f"{variant}: peak RSS grew {growth_mb:.0f} MB"
