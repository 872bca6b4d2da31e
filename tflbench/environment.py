"""The machine fingerprint stored with every results document (the ``environment`` object).

Latency figures mean nothing without the machine they were measured on, so every run records the
CPU, the cores this process may use, the frequency governor, the Python/numpy/runtime versions and
the interpreter settings. TensorFlow and Keras versions come from package metadata only: this
module never imports them, so it is safe on devices without TensorFlow.

A run under user-mode emulation (an arm64 userland on an x86 machine through qemu-user, see
``scripts/aarch64-measure.sh``) is recorded as ``emulated: true`` with the ``emulator``: its
agreement and accuracy are exact, its latency is the emulator's and no latency figure.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tflbench.fileio import package_version

#: Where Linux exposes the frequency governor of the first core.
GOVERNOR_PATH = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
CPUINFO_PATH = Path("/proc/cpuinfo")

#: /proc/cpuinfo keys that name the CPU, in order of preference. x86 has "model name"; ARM boards
#: often have "Model" (e.g. "Raspberry Pi 4 Model B Rev 1.4") or "Hardware" (the SoC).
_CPU_KEYS = ("model name", "Model", "Hardware", "cpu model", "Processor")

#: Set by whoever starts tflbench under an emulator (``scripts/aarch64-measure.sh`` sets
#: ``qemu-aarch64``); ``0``, ``no``, ``false`` or ``off`` declares a native run.
EMULATED_ENV = "TFLBENCH_EMULATED"
_NATIVE_VALUES = ("0", "no", "false", "off")
#: ``platform.machine()`` names of ARM machines.
_ARM_MACHINES = ("aarch64", "arm64", "armv7l", "armv8l", "armv6l")
#: /proc/cpuinfo keys only x86 kernels write. qemu-user passes the host's /proc/cpuinfo
#: through for ARM guests, so an ARM process that reads them runs on an x86 host.
_X86_CPU_KEYS = ("vendor_id", "cpu family", "flags")


def cpu_model(cpuinfo: str | None = None) -> str | None:
    """The CPU name from ``/proc/cpuinfo`` (or ``cpuinfo`` text), else ``platform.processor()``."""
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO_PATH.read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    found: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if sep and value and key in _CPU_KEYS and key not in found:
            found[key] = value
    for key in _CPU_KEYS:
        if key in found:
            return found[key]
    return platform.processor() or platform.machine() or None


def governor(path: Path = GOVERNOR_PATH) -> str | None:
    """The scaling governor of cpu0 (e.g. ``performance``), or None where it is not readable."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return value or None


def affinity() -> list[int] | None:
    """The CPUs this process may run on, or None where the OS does not say."""
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return None
    try:
        return sorted(int(c) for c in getter(0))
    except OSError:
        return None


def usable_cores() -> int:
    """How many cores this process may use (affinity first, then the CPU count, at least 1)."""
    aff = affinity()
    if aff:
        return len(aff)
    return max(1, os.cpu_count() or 1)


def emulation(environ: Mapping[str, str] | None = None, cpuinfo: str | None = None,
              machine: str | None = None) -> str | None:
    """The emulator this process runs under (e.g. ``qemu-aarch64``), or None when native.

    ``$TFLBENCH_EMULATED`` decides when set (its value names the emulator; ``0``/``false``
    declares a native run). Otherwise an ARM process (``platform.machine()``) whose
    ``/proc/cpuinfo`` carries x86 keys (``vendor_id``, ``cpu family``, ``flags``: qemu-user
    shows the host's file) is ``qemu-<machine>``.
    """
    env = os.environ if environ is None else environ
    declared = (env.get(EMULATED_ENV) or "").strip()
    if declared:
        return None if declared.lower() in _NATIVE_VALUES else declared
    machine = (machine if machine is not None else platform.machine()).lower()
    if machine not in _ARM_MACHINES:
        return None
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO_PATH.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    keys = {line.partition(":")[0].strip() for line in cpuinfo.splitlines() if ":" in line}
    if any(k in keys for k in _X86_CPU_KEYS):
        return f"qemu-{machine}"
    return None


def _first_version(*dists: str) -> str | None:
    for d in dists:
        v = package_version(d)
        if v:
            return v
    return None


def fingerprint(
    runtime: dict[str, Any] | None = None,
    num_threads: int | None = None,
    xnnpack: bool | None = None,
) -> dict[str, Any]:
    """The ``environment`` object of a results document.

    ``runtime`` is the interpreter backend (``{"name": ..., "version": ...}``, as returned by
    ``tflbench.runtime.backend_info()``); ``num_threads`` and ``xnnpack`` are the interpreter
    settings used for the measurements. ``emulated`` is true under an emulator (see
    :func:`emulation`), whose name is ``emulator``.
    """
    import numpy as np

    uname = platform.uname()
    emulator = emulation()
    return {
        "hostname": socket.gethostname() or uname.node or None,
        "os": f"{uname.system} {uname.release}".strip() or None,
        "platform": platform.platform(),
        "machine": uname.machine or None,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores(),
        "affinity": affinity(),
        "governor": governor(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "tensorflow": _first_version("tensorflow", "tensorflow-cpu", "tf-nightly"),
        "keras": package_version("keras"),
        "runtime": dict(runtime) if runtime else None,
        "num_threads": num_threads,
        "xnnpack": xnnpack,
        "tensorflow_imported": "tensorflow" in sys.modules,
        "emulated": emulator is not None,
        "emulator": emulator,
    }
