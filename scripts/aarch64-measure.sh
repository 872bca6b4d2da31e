#!/usr/bin/env bash
# Measure a tflbench bundle on emulated aarch64 (a Debian arm64 userland run by qemu-user) and on
# this host, merge both and show where the architectures differ (docs/device.md, "Target hardware
# without the hardware").
#
#   scripts/aarch64-measure.sh BUNDLE [--out DIR] [--build] [--gate] [--skip-unavailable] ...
#
# Needs root (or a privileged container), binfmt_misc with Debian's qemu-user-static handler and,
# for the first run, debootstrap (--build or TFLBENCH_AARCH64_BUILD=1). The userland is cached in
# ~/.cache/tflbench-aarch64 (TFLBENCH_AARCH64_CACHE). Exit status: 0 measured (or skipped with
# --skip-unavailable), 1 a device failed the gates (--gate), 2 error or cannot run here.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${TFLBENCH_PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"; else python=python3; fi
fi
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m tflbench.emulate "$@"
