"""``tflbench measure`` on emulated aarch64: a Debian arm64 userland run by qemu-user.

What it does (``scripts/aarch64-measure.sh BUNDLE``, documented in ``docs/device.md``):

1. checks what the machine allows (:func:`unavailable`): Linux on x86-64, root (``chroot``,
   ``mount`` and ``unshare`` need it), ``binfmt_misc`` with a ``qemu-aarch64`` handler (Debian's
   ``qemu-user-static``), and either a cached userland or ``debootstrap`` plus a request to build
   one (``--build`` or ``TFLBENCH_AARCH64_BUILD=1``). Anything missing is one line saying what to
   install or set; the caller skips with those lines;
2. builds once, or reuses, a Debian ``bookworm`` arm64 userland (``debootstrap --variant=minbase``
   with ``python3``: Python 3.11) in ``~/.cache/tflbench-aarch64`` (``TFLBENCH_AARCH64_CACHE``);
   aarch64 wheels of the host's numpy and ai-edge-litert versions are downloaded on the host
   (``pip download --platform``) and unpacked with a wheel of this tflbench into the userland's
   ``/opt/tflbench`` by the host's pip (``--target``): nothing is downloaded or installed under
   emulation;
3. measures the bundle there with ``TFLBENCH_EMULATED=qemu-aarch64`` (so
   ``environment.emulated`` is true and every latency record is ``emulated: true``), and on the
   host with the same settings, unless host results are given;
4. merges the two (:func:`tflbench.reports.merge.merge`), gates each device's records with the
   bundle's thresholds and writes ``merged.json``, ``crossarch.md`` and ``crossarch.html``
   (:mod:`tflbench.reports.crossarch`).

Every step runs with a timeout. Commands inside the userland run in a private mount namespace
(``unshare --mount``): ``/proc`` and the bind mounts of the bundle, wheels and output folder
disappear with the process, whatever happens to it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tflbench.errors import TflbenchError

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
#: bookworm's python3 is 3.11: the aarch64 wheels downloaded on the host are cp311.
PYTHON_VERSION = "3.11"
PACKAGES = ("python3",)
EMULATOR = "qemu-aarch64"
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
CACHE_ENV = "TFLBENCH_AARCH64_CACHE"
BUILD_ENV = "TFLBENCH_AARCH64_BUILD"
#: Where tflbench and its dependencies live inside the userland (``tflbench`` and ``deps``
#: are on PYTHONPATH).
VENV = "/opt/tflbench"
#: manylinux tags the userland's glibc (2.36) runs.
PLATFORMS = ("manylinux2014_aarch64",
             *(f"manylinux_2_{minor}_aarch64" for minor in range(17, 37)))
#: ``tflbench measure`` options of both sides: latency under emulation is no figure, so the
#: timing loops are kept short; agreement and accuracy use every bundled sample.
MEASURE_ARGS = ("--threads", "none", "--no-e2e", "--warmup-runs", "1", "--min-runs", "3",
                "--min-seconds", "0", "--max-seconds", "1")
#: Default time limits in seconds.
BUILD_TIMEOUT = 1800.0
INSTALL_TIMEOUT = 900.0
MEASURE_TIMEOUT = 3600.0

Log = Callable[[str], None]


class EmulationError(TflbenchError):
    """The emulated measurement could not run (a step failed or timed out)."""


def default_cache() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "tflbench-aarch64")


@dataclass(frozen=True)
class Layout:
    """Where the cached userland, wheels and stamps live."""

    cache: Path

    @property
    def rootfs(self) -> Path:
        return self.cache / f"rootfs-{SUITE}-arm64"

    @property
    def stamp(self) -> Path:
        """Written last by :func:`build_userland`: a userland without it is incomplete."""
        return self.rootfs / ".tflbench-userland.json"

    @property
    def wheels(self) -> Path:
        return self.cache / "wheels"

    @property
    def lock(self) -> Path:
        return self.cache / ".lock"

    @property
    def ready(self) -> bool:
        return self.stamp.is_file()


# ------------------------------------------------------------------------------ prerequisites


def binfmt_problem(binfmt_dir: Path = BINFMT_DIR) -> str | None:
    """Why ``binfmt_misc`` cannot run aarch64 programs here, or None when it can."""
    if not (binfmt_dir / "status").exists():
        return (f"binfmt_misc is not mounted at {binfmt_dir} (as root: mount binfmt_misc -t "
                f"binfmt_misc {binfmt_dir}; in a container, start it --privileged or register "
                "qemu-aarch64 on the host)")
    try:
        status = (binfmt_dir / "status").read_text().strip()
    except OSError as exc:
        return f"binfmt_misc status is not readable: {exc.strerror or exc}"
    if status != "enabled":
        return f"binfmt_misc is {status or 'in an unknown state'} (echo 1 > {binfmt_dir}/status)"
    entry = binfmt_dir / EMULATOR
    if not entry.exists():
        return (f"no {EMULATOR} handler in binfmt_misc (apt-get install qemu-user-static "
                "binfmt-support; then update-binfmts --enable qemu-aarch64)")
    try:
        text = entry.read_text()
    except OSError as exc:
        return f"{entry} is not readable: {exc.strerror or exc}"
    if not text.splitlines() or text.splitlines()[0].strip() != "enabled":
        return f"the {EMULATOR} binfmt handler is disabled (update-binfmts --enable {EMULATOR})"
    return None


def binfmt_interpreter(binfmt_dir: Path = BINFMT_DIR) -> tuple[str | None, str]:
    """The ``qemu-aarch64`` handler's interpreter path and flags (``F``: opened at registration,
    so the userland needs no copy of it)."""
    interpreter, flags = None, ""
    try:
        for line in (binfmt_dir / EMULATOR).read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "interpreter":
                interpreter = value.strip()
            elif key == "flags:":
                flags = value.strip()
    except OSError:
        pass
    return interpreter, flags


def unavailable(layout: Layout, *, build: bool, binfmt_dir: Path = BINFMT_DIR,
                euid: int | None = None, system: str | None = None,
                machine: str | None = None,
                which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """Every reason this machine cannot measure under emulated aarch64 now (empty: it can)."""
    system = system if system is not None else platform.system()
    machine = (machine if machine is not None else platform.machine()).lower()
    if system != "Linux":
        return [f"needs Linux (binfmt_misc, chroot); this is {system}"]
    if machine in ("aarch64", "arm64"):
        return ["this machine is aarch64 already: run 'tflbench measure' here directly"]
    reasons = []
    euid = euid if euid is not None else os.geteuid()
    if euid != 0:
        reasons.append("needs root (chroot, mount and unshare), e.g. sudo, or a privileged "
                       "container")
    problem = binfmt_problem(binfmt_dir)
    if problem:
        reasons.append(problem)
    for tool in ("chroot", "unshare", "mount"):
        if which(tool) is None:
            reasons.append(f"'{tool}' is not installed (apt-get install util-linux coreutils)")
    if not layout.ready:
        if not build:
            reasons.append(f"no cached arm64 userland at {layout.rootfs} and building one was "
                           f"not asked for (a cold build takes minutes): pass --build or set "
                           f"{BUILD_ENV}=1")
        elif which("debootstrap") is None:
            reasons.append("no cached arm64 userland and 'debootstrap' is not installed "
                           "(apt-get install debootstrap)")
    return reasons


# ----------------------------------------------------------------------------------- running


def _run(argv: Sequence[str], *, timeout: float, what: str, log: Log,
         env: Mapping[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run ``argv``; return its output. A failure or timeout is one :class:`EmulationError`
    naming the step and the last lines of its output."""
    log(what)
    command = " ".join(shlex.quote(a) for a in argv)
    try:
        # A session of its own: a timeout or Ctrl-C ends every process the step started
        # (debootstrap's children, the emulated measure's per-mode workers), not just the first.
        proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=dict(env) if env else None, cwd=cwd,
                                start_new_session=True)
    except OSError as exc:
        raise EmulationError(f"{what} could not start: {exc}") from None
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise EmulationError(f"{what} did not finish within {timeout:g} s: {command}") from None
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        tail = "\n".join(output.splitlines()[-25:])
        raise EmulationError(f"{what} failed (exit {proc.returncode}): {command}\n{tail}")
    return output


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.communicate()


@dataclass(frozen=True)
class Bind:
    """A host path made visible inside the userland for one command."""

    source: Path
    target: str  # absolute, inside the userland
    readonly: bool = True


def userland_command(layout: Layout, argv: Sequence[str], binds: Sequence[Bind] = (),
                     env: Mapping[str, str] | None = None) -> list[str]:
    """The host command that runs ``argv`` inside the userland: a private mount namespace
    with ``/proc`` and ``binds`` mounted, then ``chroot`` with a clean environment."""
    root = layout.rootfs
    steps = [f"mount -t proc proc {shlex.quote(str(root / 'proc'))}"]
    for b in binds:
        target = root / b.target.lstrip("/")
        steps.append(f"mount --bind {shlex.quote(str(b.source))} {shlex.quote(str(target))}")
        if b.readonly:
            steps.append(f"mount -o remount,bind,ro {shlex.quote(str(target))}")
    variables = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
                 "PYTHONDONTWRITEBYTECODE": "1",
                 **(env or {})}
    inner = ["chroot", str(root), "/usr/bin/env", "-i",
             *(f"{k}={v}" for k, v in variables.items()), *argv]
    steps.append("exec " + " ".join(shlex.quote(a) for a in inner))
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-ec",
            "; ".join(steps)]


def _mountpoint(layout: Layout, bind: Bind) -> None:
    target = layout.rootfs / bind.target.lstrip("/")
    if bind.source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(exist_ok=True)


def in_userland(layout: Layout, argv: Sequence[str], *, what: str, timeout: float, log: Log,
                binds: Sequence[Bind] = (), env: Mapping[str, str] | None = None) -> str:
    for b in binds:
        _mountpoint(layout, b)
    return _run(userland_command(layout, argv, binds, env), timeout=timeout, what=what, log=log)


# ---------------------------------------------------------------------------------- building


def build_userland(layout: Layout, *, timeout: float = BUILD_TIMEOUT, log: Log = print,
                   mirror: str = MIRROR) -> None:
    """``debootstrap`` a minimal arm64 ``bookworm`` with Python into ``layout.rootfs`` (in a
    temporary folder renamed when complete, so an interrupted build is never reused)."""
    layout.cache.mkdir(parents=True, exist_ok=True)
    tmp = layout.cache / f"{layout.rootfs.name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    started = time.monotonic()
    _run(["debootstrap", "--arch=arm64", "--variant=minbase",
          f"--include={','.join(PACKAGES)}", SUITE, str(tmp), mirror],
         timeout=timeout, what="debootstrap (arm64, under qemu)", log=log)
    interpreter, flags = binfmt_interpreter()
    if interpreter and "F" not in flags:  # the kernel looks the interpreter up in the chroot
        dest = tmp / interpreter.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(interpreter, dest)
    if layout.rootfs.exists():
        shutil.rmtree(layout.rootfs)
    tmp.rename(layout.rootfs)
    layout.stamp.write_text(json.dumps({
        "suite": SUITE, "packages": list(PACKAGES), "mirror": mirror,
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.monotonic() - started, 1)}, indent=2) + "\n")


def runtime_versions() -> dict[str, str]:
    """The host's numpy and ai-edge-litert versions: the userland gets the same ones."""
    from tflbench.fileio import package_version

    out = {}
    for dist in ("numpy", "ai-edge-litert"):
        version = package_version(dist)
        if not version:
            raise EmulationError(f"{dist} is not installed on the host, so its version for the "
                                 f"aarch64 userland is unknown. Install it, or pass --{dist}.")
        out[dist] = version
    return out


def download_wheels(layout: Layout, versions: Mapping[str, str], *, timeout: float,
                    log: Log) -> Path:
    """aarch64 cp311 wheels of numpy, ai-edge-litert and rich with their dependencies, from the
    package index through the host's pip (cached per version set)."""
    key = "-".join(f"{k}{v}" for k, v in sorted(versions.items()))
    dest = layout.wheels / key
    done = dest / ".complete"
    if done.is_file():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(dest),
            "--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation",
            "cp"]
    for tag in PLATFORMS:
        argv += ["--platform", tag]
    argv += [f"{k}=={v}" for k, v in sorted(versions.items())] + ["rich>=13"]
    _run(argv, timeout=timeout, what="pip download (aarch64 wheels)", log=log)
    done.write_text(json.dumps(dict(versions)) + "\n")
    return dest


def source_root() -> Path | None:
    """The source tree of this tflbench (a checkout with ``pyproject.toml``), or None."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def source_key(root: Path) -> str:
    """A digest of the files a tflbench wheel is built from."""
    h = hashlib.sha256()
    files = [root / "pyproject.toml", *sorted((root / "tflbench").rglob("*"))]
    for f in files:
        if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def tflbench_wheel(layout: Layout, *, wheel: Path | None, timeout: float, log: Log) -> Path:
    """``wheel`` when given, else a wheel of this source tree (built once per source digest)."""
    if wheel is not None:
        if not wheel.is_file():
            raise EmulationError(f"--tflbench-wheel {wheel}: no such file.")
        return wheel
    root = source_root()
    if root is None:
        raise EmulationError("tflbench is not installed from a source tree, so no wheel can be "
                             "built for the userland. Pass --tflbench-wheel PATH "
                             "(pip wheel --no-deps tflbench).")
    dest = layout.cache / "tflbench-wheel" / source_key(root)
    found = sorted(dest.glob("tflbench-*.whl"))
    if found:
        return found[-1]
    tmp = Path(tempfile.mkdtemp(prefix="tflbench-wheel-", dir=layout.cache))
    try:
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
              str(tmp), str(root)], timeout=timeout, what="pip wheel (tflbench)", log=log)
        built = sorted(tmp.glob("tflbench-*.whl"))
        if not built:
            raise EmulationError(f"pip wheel wrote no tflbench wheel into {tmp}.")
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        return Path(shutil.move(str(built[-1]), dest / built[-1].name))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pip_target(wheels: Path, target: Path, requirements: Sequence[str], *, timeout: float,
                what: str, log: Log) -> None:
    """Unpack ``requirements`` (aarch64 wheels from ``wheels``) into ``target`` with the
    host's pip, through a temporary folder renamed when complete."""
    tmp = target.with_name(target.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    target.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
            "--find-links", str(wheels), "--target", str(tmp), "--only-binary=:all:",
            "--python-version", PYTHON_VERSION, "--implementation", "cp"]
    for tag in PLATFORMS:
        argv += ["--platform", tag]
    _run([*argv, *requirements], timeout=timeout, what=what, log=log)
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)


def install(layout: Layout, wheels: Path, versions: Mapping[str, str], wheel: Path, *,
            timeout: float, log: Log) -> None:
    """Unpack the aarch64 wheels into ``/opt/tflbench/deps`` and tflbench into
    ``/opt/tflbench/tflbench`` of the userland with the host's pip (``--target`` with
    ``--platform``: nothing runs under emulation, and the host's Python 3.11 byte-compiles for
    the userland's 3.11). Each is redone only when its versions or wheel changed (stamps say
    what is installed), so a new tflbench costs one small wheel."""
    base = layout.rootfs / VENV.lstrip("/")
    deps_stamp, tfl_stamp = base / ".deps.json", base / ".tflbench.json"
    deps = json.dumps(dict(sorted(versions.items())), sort_keys=True)
    if not (base / "deps").is_dir() or not deps_stamp.is_file() \
            or deps_stamp.read_text() != deps:
        deps_stamp.unlink(missing_ok=True)
        names = sorted(p.name for p in wheels.glob("*.whl") if not p.name.startswith("tflbench-"))
        _pip_target(wheels, base / "deps", [str(wheels / n) for n in names], timeout=timeout,
                    what="pip install --target (aarch64 numpy, ai-edge-litert, rich)", log=log)
        deps_stamp.write_text(deps)
    want = json.dumps({"wheel": wheel.name, "sha256": _file_digest(wheel)}, sort_keys=True)
    if not (base / "tflbench").is_dir() or not tfl_stamp.is_file() \
            or tfl_stamp.read_text() != want:
        tfl_stamp.unlink(missing_ok=True)
        _pip_target(wheel.parent, base / "tflbench", [str(wheel)], timeout=timeout,
                    what="pip install --target (tflbench)", log=log)
        tfl_stamp.write_text(want)


# --------------------------------------------------------------------------------- measuring


def measure_emulated(layout: Layout, bundle: Path, out: Path, *, label: str,
                     extra: Sequence[str] = (), cpu: str | None = None, timeout: float,
                     log: Log) -> Path:
    """``tflbench measure`` of ``bundle`` inside the userland; the results land in ``out``.

    ``cpu`` is the CPU model qemu emulates (``QEMU_CPU``, e.g. ``cortex-a72``: no dot-product
    or i8mm instructions, so the runtime picks the kernels a Raspberry Pi 4 runs); qemu's
    default, ``max``, offers every extension it knows."""
    out.mkdir(parents=True, exist_ok=True)
    target = "/mnt/tflbench-bundle" + (".zip" if bundle.is_file() else "")
    binds = [Bind(bundle.resolve(), target), Bind(out.resolve(), "/mnt/tflbench-out",
                                                  readonly=False)]
    name = f"results-{label}.json"
    in_userland(layout, ["python3", "-m", "tflbench", "measure", target, "--out",
                         f"/mnt/tflbench-out/{name}", "--device", label, "--quiet",
                         *MEASURE_ARGS, *extra],
                what=f"tflbench measure under {EMULATOR}", timeout=timeout, log=log,
                binds=binds, env={"TFLBENCH_EMULATED": emulator_name(cpu),
                                  "PYTHONPATH": f"{VENV}/tflbench:{VENV}/deps",
                                  **({"QEMU_CPU": cpu} if cpu else {})})
    return out / name


def emulator_name(cpu: str | None = None) -> str:
    """What ``environment.emulator`` records: ``qemu-aarch64``, or ``qemu-aarch64 -cpu NAME``."""
    return f"{EMULATOR} -cpu {cpu}" if cpu else EMULATOR


def measure_host(bundle: Path, out: Path, *, label: str, extra: Sequence[str] = (),
                 timeout: float, log: Log) -> Path:
    """``tflbench measure`` of ``bundle`` on this machine with the same settings."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"results-{label}.json"
    env = {k: v for k, v in os.environ.items() if k != "TFLBENCH_EMULATED"}
    _run([sys.executable, "-m", "tflbench", "measure", str(bundle), "--out", str(path),
          "--device", label, "--quiet", *MEASURE_ARGS, *extra],
         timeout=timeout, what="tflbench measure on the host", log=log, env=env)
    return path


def bundle_thresholds(bundle: Path) -> Any:
    """The release-gate limits stored in the bundle (``manifest.thresholds``) as
    :class:`tflbench.gates.Thresholds`, or None when it stores none."""
    from tflbench import gates
    from tflbench.bundle import read_bundle

    with read_bundle(bundle) as b:
        stored = b.manifest.get("thresholds") or {}
    if not stored:
        return None
    per_model_mode = {(model, mode): limits for model, by_mode in stored.items()
                      for mode, limits in (by_mode or {}).items()}
    return gates.Thresholds(per_model_mode=per_model_mode, use_defaults=False)


def merge_results(paths: Sequence[Path], bundle: Path, out: Path) -> tuple[dict[str, Any], Any]:
    """Merge the results files, gate every device with the bundle's limits and write
    ``merged.json``, ``crossarch.md`` and ``crossarch.html`` into ``out``."""
    from tflbench import results
    from tflbench.reports import crossarch, write_text
    from tflbench.reports.merge import merge

    docs = [results.load(p) for p in paths]
    merged = merge(docs, sources=[str(p) for p in paths])
    merged["gates"] = crossarch.gate_devices(merged, bundle_thresholds(bundle))
    cross = crossarch.compare(merged)
    merged["crossarch"] = cross.to_dict()
    results.save(merged, out / "merged.json")
    write_text(out / "crossarch.md", crossarch.markdown(cross))
    write_text(out / "crossarch.html", crossarch.html(cross))
    return merged, cross


# -------------------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scripts/aarch64-measure.sh",
        description="Measure a tflbench bundle on emulated aarch64 (Debian arm64 userland under "
                    "qemu-user) and on this host, then show where the architectures differ.")
    p.add_argument("bundle", type=Path, help="bundle directory or .zip ('tflbench bundle')")
    p.add_argument("--out", type=Path, default=Path("aarch64-results"),
                   help="folder for the results, merged.json and crossarch.md/.html "
                        "(default: ./aarch64-results)")
    p.add_argument("--cache", type=Path, default=None,
                   help=f"userland and wheel cache (default: ${CACHE_ENV} or "
                        "~/.cache/tflbench-aarch64)")
    p.add_argument("--build", action="store_true", default=None,
                   help=f"build the userland when none is cached (also {BUILD_ENV}=1)")
    p.add_argument("--host-results", type=Path, default=None,
                   help="host results of the same bundle ('tflbench measure' here) instead of "
                        "measuring the host again")
    p.add_argument("--modes", default=None, help="measure only these bundled modes")
    p.add_argument("--host-label", default=None,
                   help="device label of the host (default: its machine, e.g. x86_64)")
    p.add_argument("--label", default=None,
                   help="device label of the emulated run (default: aarch64-qemu, or "
                        "aarch64-qemu-NAME with --cpu NAME)")
    p.add_argument("--cpu", default=None, metavar="NAME",
                   help="CPU model qemu emulates, e.g. cortex-a72 (Raspberry Pi 4) or "
                        "cortex-a76 (Pi 5); default: qemu's 'max', every extension")
    p.add_argument("--tflbench-wheel", type=Path, default=None,
                   help="install this tflbench wheel (default: build one from this checkout)")
    p.add_argument("--timeout", type=float, default=MEASURE_TIMEOUT,
                   help=f"seconds for the emulated measurement (default {MEASURE_TIMEOUT:g}); "
                        f"the build has {BUILD_TIMEOUT:g}, each install step {INSTALL_TIMEOUT:g}")
    p.add_argument("--gate", action="store_true",
                   help="exit 1 when a device fails the bundle's thresholds")
    p.add_argument("--skip-unavailable", action="store_true",
                   help="when the machine cannot run it, print why and exit 0 (CI)")
    return p


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "yes", "true", "on")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    def log(msg: str) -> None:
        print(f"aarch64: {msg}", file=sys.stderr, flush=True)

    def terminated(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through _run, which ends the step's processes

    signal.signal(signal.SIGTERM, terminated)
    layout = Layout((args.cache or default_cache()).expanduser().resolve())
    build = bool(args.build) or _truthy(os.environ.get(BUILD_ENV))
    reasons = unavailable(layout, build=build)
    if reasons:
        for r in reasons:
            print(f"aarch64: skipped: {r}", flush=True)
        return 0 if args.skip_unavailable else 2
    bundle = args.bundle.resolve()
    if not bundle.exists():
        print(f"aarch64: error: bundle {args.bundle} does not exist.", file=sys.stderr)
        return 2
    extra = ["--modes", args.modes] if args.modes else []
    host_label = args.host_label or platform.machine() or "host"
    label = args.label or ("aarch64-qemu" + (f"-{args.cpu}" if args.cpu else ""))
    out: Path = args.out.resolve()
    timings: dict[str, float] = {}
    try:
        from tflbench.locking import FileLock

        with FileLock(layout.lock, timeout=BUILD_TIMEOUT):
            t0 = time.monotonic()
            if not layout.ready:
                log(f"building the arm64 userland in {layout.rootfs} (once)")
                build_userland(layout, log=log)
                timings["userland build"] = time.monotonic() - t0
                t0 = time.monotonic()
            versions = runtime_versions()
            wheels = download_wheels(layout, versions, timeout=INSTALL_TIMEOUT, log=log)
            wheel = tflbench_wheel(layout, wheel=args.tflbench_wheel, timeout=INSTALL_TIMEOUT,
                                   log=log)
            install(layout, wheels, versions, wheel, timeout=INSTALL_TIMEOUT, log=log)
            timings["wheels and install"] = time.monotonic() - t0
            t0 = time.monotonic()
            device = measure_emulated(layout, bundle, out, label=label, extra=extra,
                                      cpu=args.cpu, timeout=args.timeout, log=log)
            timings["emulated measure"] = time.monotonic() - t0
        host = args.host_results
        if host is None:
            t0 = time.monotonic()
            host = measure_host(bundle, out, label=host_label, extra=extra,
                                timeout=args.timeout, log=log)
            timings["host measure"] = time.monotonic() - t0
        _merged, cross = merge_results([Path(host), device], bundle, out)
    except TflbenchError as exc:
        print(f"aarch64: error: {exc}", file=sys.stderr)
        return 2
    from tflbench.reports.crossarch import text_lines

    for line in text_lines(cross):
        print(line)
    print("timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    print(f"written: {out / 'merged.json'}, {out / 'crossarch.md'}, {out / 'crossarch.html'}")
    failed = [v.device for v in cross.verdicts if not v.passed]
    if failed and args.gate:
        print(f"aarch64: gates failed on: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
