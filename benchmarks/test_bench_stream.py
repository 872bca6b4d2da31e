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

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from memory_helpers import PEAK_KB, images, measure, peak_mb, rss_growth_mb, write_folder

SMALL, LARGE = 1_000, 50_000
SHAPE = (32, 32, 3)
LIMIT_MB = 200.0
STREAMED = ("npz-stored", "npz-compressed", "npz-mmap", "folder")

_SCRIPT = PEAK_KB + r"""
from tflbench.data import stream, sources

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


@pytest.fixture(scope="module")
def sources_by_size(tmp_path_factory) -> dict[tuple[str, int], Path]:
    pytest.importorskip("PIL")
    out: dict[tuple[str, int], Path] = {}
    for n in (SMALL, LARGE):
        d = tmp_path_factory.mktemp(f"stream{n}")
        x, y = images(n, SHAPE)
        np.savez(d / "stored.npz", x=x, y=y)
        np.savez_compressed(d / "compressed.npz", x=x, y=y)
        del x
        folder = write_folder(d / "images", n, SHAPE, "JPEG", ".jpg", quality=90)
        for variant in (*STREAMED, "npz-load"):
            out[(variant, n)] = (folder if variant == "folder" else
                                 d / ("compressed.npz" if variant == "npz-compressed"
                                      else "stored.npz"))
    return out


def _measure(variant: str, path: Path) -> dict[str, Any]:
    return measure(_SCRIPT, [variant, str(path)], timeout=900)


@pytest.mark.parametrize("variant", [*STREAMED, "npz-load"])
def test_stream_peak_memory(benchmark, sources_by_size, variant):
    small = _measure(variant, sources_by_size[(variant, SMALL)])
    large = benchmark.pedantic(_measure, args=(variant, sources_by_size[(variant, LARGE)]),
                               rounds=1, iterations=1)
    growth_mb = rss_growth_mb(small, large)
    assert small["n"] == SMALL and large["n"] == LARGE
    benchmark.extra_info.update({
        "samples": [SMALL, LARGE],
        "peak_mb": peak_mb(small, large),
        "growth_mb": round(growth_mb, 1),
        "seconds_50k": round(large["seconds"], 2),
    })
    print(f"\n{variant:15s} peak {small['peak_kb'] / 1024:7.1f} MB at {SMALL:,} -> "
          f"{large['peak_kb'] / 1024:7.1f} MB at {LARGE:,}: growth {growth_mb:6.1f} MB, "
          f"{large['seconds']:.2f} s for {LARGE:,}")
    if variant in STREAMED:
        assert growth_mb < LIMIT_MB, f"{variant}: peak RSS grew {growth_mb:.0f} MB"
