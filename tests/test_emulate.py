"""Emulated aarch64: what the machine must allow (and the skip when it does not), the
``environment.emulated`` flag and emulated latency records."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tflbench import emulate, environment, gates
from tflbench.measure import measure_bundle
from tflbench.timing import LatencySettings

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "aarch64-measure.sh"
FIXTURE = REPO / "fixtures" / "bundles" / "digits-mini"
FAST = LatencySettings(warmup_runs=1, warmup_seconds=0.0, min_runs=3, min_seconds=0.0,
                       max_runs=5, max_seconds=1.0)
HANDLER = ("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n"
           "offset 0\nmagic 7f454c460201010000000000000000000200b700\n")


def _binfmt(tmp_path: Path, *, status: str = "enabled", handler: str | None = HANDLER) -> Path:
    d = tmp_path / "binfmt_misc"
    d.mkdir()
    (d / "status").write_text(status + "\n")
    if handler is not None:
        (d / "qemu-aarch64").write_text(handler)
    return d


def _ready_layout(tmp_path: Path) -> emulate.Layout:
    layout = emulate.Layout(tmp_path / "cache")
    layout.rootfs.mkdir(parents=True)
    layout.stamp.write_text("{}\n")
    return layout


def _all_tools(name: str) -> str:
    return f"/usr/bin/{name}"


# ----------------------------------------------------------------------------- prerequisites


def test_a_capable_machine_has_no_reason_to_skip(tmp_path: Path) -> None:
    reasons = emulate.unavailable(_ready_layout(tmp_path), build=False,
                                  binfmt_dir=_binfmt(tmp_path), euid=0, system="Linux",
                                  machine="x86_64", which=_all_tools)
    assert reasons == []


def test_every_missing_piece_is_one_reason(tmp_path: Path) -> None:
    layout = emulate.Layout(tmp_path / "empty-cache")
    reasons = emulate.unavailable(layout, build=False, binfmt_dir=tmp_path / "nowhere",
                                  euid=1000, system="Linux", machine="x86_64",
                                  which=_all_tools)
    assert len(reasons) == 3
    assert reasons[0].startswith("needs root")
    assert reasons[1].startswith("binfmt_misc is not mounted at ")
    assert "mount binfmt_misc -t binfmt_misc" in reasons[1]
    assert reasons[2].startswith(f"no cached arm64 userland at {layout.rootfs}")
    assert "--build" in reasons[2] and "TFLBENCH_AARCH64_BUILD=1" in reasons[2]


@pytest.mark.parametrize(("status", "handler", "expected"), [
    ("disabled", HANDLER, "binfmt_misc is disabled"),
    ("enabled", None, "no qemu-aarch64 handler in binfmt_misc (apt-get install "
                      "qemu-user-static"),
    ("enabled", HANDLER.replace("enabled", "disabled", 1),
     "the qemu-aarch64 binfmt handler is disabled"),
])
def test_binfmt_problems_say_what_to_do(tmp_path: Path, status: str, handler: str | None,
                                        expected: str) -> None:
    problem = emulate.binfmt_problem(_binfmt(tmp_path, status=status, handler=handler))
    assert problem is not None and problem.startswith(expected)


def test_binfmt_interpreter_and_flags(tmp_path: Path) -> None:
    assert emulate.binfmt_interpreter(_binfmt(tmp_path)) == (
        "/usr/libexec/qemu-binfmt/aarch64-binfmt-P", "PF")
    assert emulate.binfmt_interpreter(tmp_path / "nowhere") == (None, "")


def test_building_needs_debootstrap(tmp_path: Path) -> None:
    def no_debootstrap(name: str) -> str | None:
        return None if name == "debootstrap" else f"/usr/bin/{name}"

    reasons = emulate.unavailable(emulate.Layout(tmp_path / "c"), build=True,
                                  binfmt_dir=_binfmt(tmp_path), euid=0, system="Linux",
                                  machine="x86_64", which=no_debootstrap)
    assert reasons == ["no cached arm64 userland and 'debootstrap' is not installed "
                       "(apt-get install debootstrap)"]


def test_a_cached_userland_needs_no_debootstrap(tmp_path: Path) -> None:
    reasons = emulate.unavailable(_ready_layout(tmp_path), build=True,
                                  binfmt_dir=_binfmt(tmp_path), euid=0, system="Linux",
                                  machine="x86_64", which=lambda n: None if n == "debootstrap"
                                  else f"/usr/bin/{n}")
    assert reasons == []


@pytest.mark.parametrize(("system", "machine", "expected"), [
    ("Darwin", "arm64", "needs Linux (binfmt_misc, chroot); this is Darwin"),
    ("Linux", "aarch64", "this machine is aarch64 already: run 'tflbench measure' here "
                         "directly"),
])
def test_machines_where_emulation_makes_no_sense(tmp_path: Path, system: str, machine: str,
                                                 expected: str) -> None:
    assert emulate.unavailable(emulate.Layout(tmp_path), build=True, system=system,
                               machine=machine) == [expected]


def test_main_skips_with_the_reasons(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(emulate.BUILD_ENV, raising=False)
    args = [str(FIXTURE), "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    assert emulate.main([*args, "--skip-unavailable"]) == 0
    out = capsys.readouterr().out
    assert "aarch64: skipped: " in out and "no cached arm64 userland" in out
    assert emulate.main(args) == 2  # without --skip-unavailable a skip is an error
    assert not (tmp_path / "out").exists()


def test_the_script_says_plainly_when_it_skips(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != emulate.BUILD_ENV}
    env["TFLBENCH_PYTHON"] = sys.executable
    proc = subprocess.run([str(SCRIPT), str(FIXTURE), "--cache", str(tmp_path / "cache"),
                           "--out", str(tmp_path / "out"), "--skip-unavailable"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("aarch64: skipped: ")
    assert not (tmp_path / "cache" / f"rootfs-{emulate.SUITE}-arm64").exists()


def test_the_script_refuses_without_skip_flag(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != emulate.BUILD_ENV}
    env["TFLBENCH_PYTHON"] = sys.executable
    proc = subprocess.run([str(SCRIPT), str(FIXTURE), "--cache", str(tmp_path / "cache")],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 2
    assert "aarch64: skipped: " in proc.stdout


# ------------------------------------------------------------------------------ the command


def test_userland_command_isolates_mounts_and_environment(tmp_path: Path) -> None:
    layout = emulate.Layout(tmp_path)
    argv = emulate.userland_command(
        layout, ["python3", "-m", "tflbench", "measure", "/mnt/b"],
        [emulate.Bind(Path("/data/my bundle"), "/mnt/b"),
         emulate.Bind(Path("/data/out"), "/mnt/out", readonly=False)],
        env={"TFLBENCH_EMULATED": "qemu-aarch64"})
    assert argv[:5] == ["unshare", "--mount", "--propagation", "private", "--"]
    script = argv[-1]
    root = str(layout.rootfs)
    assert f"mount -t proc proc {root}/proc" in script
    assert f"mount --bind '/data/my bundle' {root}/mnt/b; mount -o remount,bind,ro {root}/mnt/b" \
        in script
    assert f"mount --bind /data/out {root}/mnt/out;" in script
    assert f"remount,bind,ro {root}/mnt/out" not in script
    assert f"exec chroot {root} /usr/bin/env -i " in script
    assert "TFLBENCH_EMULATED=qemu-aarch64 python3 -m tflbench measure /mnt/b" in script


def test_wheel_platforms_cover_the_userland_glibc() -> None:
    assert "manylinux_2_27_aarch64" in emulate.PLATFORMS  # ai-edge-litert 2.3.0's tag
    assert "manylinux_2_36_aarch64" in emulate.PLATFORMS  # bookworm's glibc
    assert "manylinux_2_37_aarch64" not in emulate.PLATFORMS


# ------------------------------------------------------------------------- emulated flag


@pytest.mark.parametrize(("env", "expected"), [
    ({"TFLBENCH_EMULATED": "qemu-aarch64"}, "qemu-aarch64"),
    ({"TFLBENCH_EMULATED": "0"}, None),
    ({"TFLBENCH_EMULATED": "false"}, None),
])
def test_the_environment_variable_decides(env: dict[str, str], expected: str | None) -> None:
    x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2\n"
    assert environment.emulation(env, cpuinfo=x86, machine="aarch64") == expected


def test_arm_process_reading_x86_cpuinfo_is_emulated() -> None:
    x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nflags\t\t: fpu sse2\n"
    assert environment.emulation({}, cpuinfo=x86, machine="aarch64") == "qemu-aarch64"


def test_real_arm_and_x86_are_native() -> None:
    arm = ("processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
           "CPU implementer\t: 0x41\nCPU part\t: 0xd08\n")
    x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2\n"
    assert environment.emulation({}, cpuinfo=arm, machine="aarch64") is None
    assert environment.emulation({}, cpuinfo=x86, machine="x86_64") is None


def test_fingerprint_records_emulation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFLBENCH_EMULATED", "qemu-aarch64")
    fp = environment.fingerprint()
    assert fp["emulated"] is True and fp["emulator"] == "qemu-aarch64"
    monkeypatch.setenv("TFLBENCH_EMULATED", "0")
    fp = environment.fingerprint()
    assert fp["emulated"] is False and fp["emulator"] is None


def test_measure_under_emulation_marks_latency_and_gates_skip_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFLBENCH_EMULATED", "qemu-aarch64")
    doc = measure_bundle(FIXTURE, latency=FAST, threads_sweep=[1], device="aarch64-qemu")
    assert doc["environment"]["emulated"] is True
    records = [r for m in doc["models"] for r in m["modes"]]
    assert records and all(r["status"] == "ok" for r in records)
    for r in records:
        assert r["latency"]["emulated"] is True
        assert r["latency_e2e"]["emulated"] is True
        assert all(e["emulated"] is True for e in r["latency_sweep"])
    limits = gates.Thresholds(all_modes={"max_latency_p90_us": 0.001}, use_defaults=False)
    assert [r for r in gates.evaluate(doc, limits) if r.name == "max_latency_p90_us"] == []


def test_a_step_over_its_time_limit_is_one_error_and_is_ended() -> None:
    lines: list[str] = []
    with pytest.raises(emulate.EmulationError, match=r"^sleeper did not finish within 0.5 s: "):
        emulate._run(["sh", "-c", "sleep 30 & wait"], timeout=0.5, what="sleeper",
                     log=lines.append)
    assert lines == ["sleeper"]


def test_a_failing_step_shows_its_command_and_last_output() -> None:
    with pytest.raises(emulate.EmulationError) as info:
        emulate._run(["sh", "-c", "echo first; echo last; exit 3"], timeout=60, what="step",
                     log=lambda _m: None)
    assert str(info.value).startswith("step failed (exit 3): sh -c 'echo first; echo last; "
                                      "exit 3'\nfirst\nlast")
