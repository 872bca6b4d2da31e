"""pytest plugin: release gates for TFLite classifiers (``pytest11`` entry point ``tflbench``).

The plugin is inert until a test asks for one of its fixtures: it imports only the standard
library and pytest, reads no configuration and never imports TensorFlow in sessions that do not
use it. When a test does use a fixture, the project configuration is read at collection time
(to parametrize), and the pipeline runs once per session, lazily, on first use. Under
pytest-xdist the first worker runs it while the others wait on a file lock and reuse its results
(conversions are cached on disk by content, so a second session reuses them too).

Fixtures (all session-scoped):

``tflbench_project``  the :class:`tflbench.config.ProjectConfig` with command-line overrides
``tflbench_settings`` the :class:`tflbench.pipeline.RunSettings` of the run
``tflbench_results``  the run's results document (``docs/results-schema.md``) with ``gates``
                      and, when a baseline is configured, ``baseline``: both stored by
                      :func:`tflbench.verdict.apply_verdict`, as ``tflbench run`` stores them,
                      and read by the suite's tests and the terminal summary alike
``tflbench_subject``  one :class:`tflbench.pipeline.Subject` per model (parametrized)
``keras_reference``   a :class:`KerasReference` per model (parametrized)
``tflite_model``      a :class:`TfliteModel` per model x mode (parametrized, ids like
                      ``digits-cnn-int8``)
``evaluation``        an :class:`Evaluation` of the same model x mode against its thresholds

Hooks a ``conftest.py`` may rely on: the results document is written to the report directory at
session end, with reports when :mod:`tflbench.reports` is available.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from tflbench.config import ProjectConfig
    from tflbench.gates import CheckResult, Limits
    from tflbench.verdict import Verdict

#: Fixtures that parametrize a test over model x mode.
_MODE_FIXTURES = frozenset({"tflite_model", "evaluation"})
#: Fixtures that parametrize a test over models.
_MODEL_FIXTURES = frozenset({"tflbench_subject", "keras_reference"})


class TflbenchWarning(UserWarning):
    """A result that does not fail a gate but deserves attention (e.g. another machine)."""


# ------------------------------------------------------------------------------- fixture values


@dataclass(frozen=True)
class TfliteModel:
    """One converted model under one mode, as recorded in the results document."""

    model: str
    mode: str
    #: The ModeRecord (``status``, ``file``, ``agreement``, ``accuracy``, ``latency`` ...).
    record: dict[str, Any]
    #: The ModelRecord it belongs to (``dataset``, ``keras`` ...).
    model_record: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.model}-{self.mode}"

    @property
    def ok(self) -> bool:
        return self.record.get("status") == "ok"

    @property
    def path(self) -> Path | None:
        file = self.record.get("file") or {}
        return Path(file["path"]) if file.get("path") else None

    def runner(self, **kwargs: Any) -> Any:
        """A :class:`tflbench.runtime.Runner` on the ``.tflite`` file."""
        from tflbench.runtime import Runner

        if self.path is None:
            pytest.skip(f"{self.model}/{self.mode} has no .tflite file "
                        f"({self.record.get('error') or 'not converted'})")
        kwargs.setdefault("name", f"{self.model}/{self.mode}")
        return Runner(self.path, **kwargs)


@dataclass
class KerasReference:
    """The float Keras reference of one model: its results record and, on demand, the model."""

    name: str
    #: The ``keras`` object of the ModelRecord (accuracy, per-class accuracy, confusion).
    record: dict[str, Any]
    model_record: dict[str, Any]
    subject: Any
    _state: _State = field(repr=False)

    def dataset(self) -> Any:
        """The subject's :class:`~tflbench.data.base.Dataset` (loaded once per session)."""
        return self._state.dataset(self.name)

    def load_model(self) -> Any:
        """The Keras model (imports TensorFlow; trains a recipe only if it is not cached)."""
        from tflbench.cache import Cache

        settings = self._state.settings()
        return self.subject.build_model(self.dataset(), Cache(settings.cache_dir),
                                        lambda model, mode, message: None)


@dataclass(frozen=True)
class Evaluation:
    """The thresholds of one model x mode and the checks against them."""

    model: str
    mode: str
    record: dict[str, Any]
    limits: Limits

    def check(self, name: str) -> CheckResult | None:
        """The check ``name`` (a threshold key); ``None`` when its limit is off."""
        from tflbench import gates

        return gates.check_one(self.model, self.record, self.limits, name)

    def checks(self) -> list[CheckResult]:
        from tflbench import gates

        return gates.check_record(self.model, self.record, self.limits)

    def require(self, name: str) -> CheckResult:
        """Fail the test with the check's line, or skip when the limit is off or unmeasurable."""
        if name != "require_conversion" and self.record.get("status") != "ok":
            pytest.skip(f"{self.model}/{self.mode} did not run: {self.record.get('error')}")
        result = self.check(name)
        if result is None:
            pytest.skip(f"no {name} threshold for {self.model}/{self.mode}")
        if not result:
            pytest.fail(result.line, pytrace=False)
        return result


# ------------------------------------------------------------------------------------- state


class _State:
    """Everything the plugin keeps for one pytest session (in ``config.stash``)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._project: ProjectConfig | None = None
        self._settings: Any = None
        self._subjects: dict[str, Any] | None = None
        self._datasets: dict[str, Any] = {}
        self.doc: dict[str, Any] | None = None
        self.ran_pipeline = False
        #: The verdict of the run (set where the pipeline ran; other xdist workers read the
        #: stored ``gates`` and ``baseline`` of the shared document).
        self.verdict: Verdict | None = None
        self.report_paths: dict[str, str] = {}
        self.report_warnings: list[str] = []
        self.worker_reports: list[dict[str, Any]] = []

    # -- configuration -------------------------------------------------------------------
    def _option(self, name: str) -> Any:
        return self.config.getoption(name, default=None)

    def _invocation_path(self, value: str) -> Path:
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else Path(self.config.invocation_params.dir) / p

    def project(self) -> ProjectConfig:
        if self._project is None:
            from tflbench import config as cfg
            from tflbench.errors import TflbenchError

            error = None
            try:
                self._project = self._load_project(cfg)
            except TflbenchError as exc:
                error = f"tflbench: {exc}"
            if error is not None:  # raised outside the except block: no chained traceback
                pytest.fail(error, pytrace=False)
            assert self._project is not None
        return self._project

    def _load_project(self, cfg: Any) -> ProjectConfig:
        path: Path | None = None
        if self._option("tflbench_config"):
            path = self._invocation_path(self._option("tflbench_config"))
        else:
            ini = self.config.getini("tflbench_config")
            if ini:
                base = self.config.inipath.parent if self.config.inipath else \
                    self.config.rootpath
                path = Path(ini) if Path(ini).is_absolute() else base / ini
        start = Path(self.config.invocation_params.dir)
        project, _ = cfg.discover_project(path, start=start)
        report_dir = self._option("tflbench_report_dir")
        baseline = self._option("tflbench_baseline")
        return project.with_overrides(
            modes=self._option("tflbench_modes"),
            models=self._option("tflbench_models"),
            threads=self._option("tflbench_threads"),
            xnnpack=False if self._option("tflbench_no_xnnpack") else None,
            report_dir=self._invocation_path(report_dir) if report_dir else None,
            baseline=self._invocation_path(baseline) if baseline else None,
        )

    def check_inputs(self) -> None:
        """Before the session: when the command line (or ini file) names a baseline or a
        configuration, check that the baseline and the data files the configuration names can
        be read; raise one :class:`pytest.UsageError` naming the file otherwise."""
        baseline = self._option("tflbench_baseline")
        explicit_config = self._option("tflbench_config") or self.config.getini(
            "tflbench_config")
        if not (baseline or explicit_config):
            return
        from tflbench import config as cfg
        from tflbench.errors import TflbenchError

        problem = None
        if baseline:
            problem = _unreadable_results(self._invocation_path(baseline), "--tflbench-baseline")
        if problem is None and explicit_config:
            try:
                self._project = self._load_project(cfg)
            except TflbenchError:
                pass  # reported where the configuration is first used, as before
            else:
                problem = _missing_input(self._project)
                if problem is None and not baseline and self._project.baseline.path:
                    problem = _unreadable_results(
                        self._project.baseline.path,
                        f"{self._project.source or 'the configuration'}: baseline")
        if problem is not None:
            raise pytest.UsageError(f"tflbench: {problem}")

    def settings(self) -> Any:
        if self._settings is None:
            self._settings = self.project().to_run_settings()
        return self._settings

    def subjects(self) -> dict[str, Any]:
        if self._subjects is None:
            self._subjects = {s.name: s for s in self.project().to_subjects()}
        return self._subjects

    def dataset(self, model: str) -> Any:
        if model not in self._datasets:
            self._datasets[model] = self.subjects()[model].load_dataset()
        return self._datasets[model]

    # -- the run ---------------------------------------------------------------------------
    def _progress(self, model: str, mode: str | None, message: str) -> None:
        if self.config.get_verbosity() < 1 or _is_worker(self.config):
            return
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        if tr is None:
            return
        where = f"{model}/{mode}" if mode else model
        if capman is not None:
            with capman.global_and_fixture_disabled():
                tr.write_line(f"tflbench: {where}: {message}")
        else:  # pragma: no cover
            tr.write_line(f"tflbench: {where}: {message}")

    def results(self) -> dict[str, Any]:
        if self.doc is None:
            from tflbench.errors import TflbenchError

            error = None
            try:
                self.doc = self._run()
            except TflbenchError as exc:
                error = f"tflbench: {exc}"
            if error is not None:
                pytest.fail(error, pytrace=False)
            assert self.doc is not None
        return self.doc

    def _run(self) -> dict[str, Any]:
        from tflbench import pipeline, results
        from tflbench.cache import content_key
        from tflbench.locking import FileLock

        project = self.project()
        settings = self.settings()
        cache_dir = Path(settings.cache_dir)
        run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
        shared: Path | None = None
        if run_id:
            key = content_key("session", run_id, project.describe(), settings.to_dict())
            shared = cache_dir / "sessions" / f"{key}.json"
        with FileLock(cache_dir / "tflbench.lock"):
            if shared is not None and shared.is_file():
                return results.load(shared)
            doc = pipeline.run(list(self.subjects().values()), settings, self._progress)
            self.verdict = self._apply_verdict(doc)
            self.ran_pipeline = True
            if shared is not None:
                _prune(shared.parent)
                results.save(doc, shared)
        return doc

    def _apply_verdict(self, doc: dict[str, Any]) -> Verdict:
        """Gates and baseline, as ``tflbench run`` applies them (a baseline that cannot be read
        fails the session: the plugin is always strict)."""
        from tflbench.baseline import Policy
        from tflbench.verdict import apply_verdict

        project = self.project()
        return apply_verdict(doc, project.thresholds, project.baseline.path,
                             Policy.from_config(project.baseline), strict=True,
                             targets=project.targets)

    def write_reports(self) -> None:
        """Write the results (and the reports) into the report directory.

        A renderer failure must not lose the results: ``results.json`` is written first and a
        report that cannot be rendered becomes a warning in the terminal summary.
        """
        from tflbench import results

        assert self.doc is not None
        report_dir = Path(self.project().report_dir)
        self.report_paths = {"json": str(results.save(self.doc, report_dir / "results.json"))}
        try:
            from tflbench.reports import write_all

            paths = write_all(self.doc, report_dir)
        except Exception as exc:  # noqa: BLE001 - reported, the results are already saved
            self.report_warnings.append(f"reports not written ({type(exc).__name__}: {exc}); "
                                        f"the results are in {self.report_paths['json']}")
            return
        self.report_paths = {k: str(v) for k, v in paths.items()}

    def summary(self) -> dict[str, Any]:
        assert self.doc is not None and self.verdict is not None
        return {"paths": self.report_paths, "failures": list(self.verdict.failures),
                "warnings": list(self.verdict.warnings) + self.report_warnings}


STATE = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State:
    return config.stash[STATE]


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _prune(directory: Path, max_age_s: float = 86400.0) -> None:
    """Remove shared session results older than a day."""
    now = time.time()
    for p in directory.glob("*.json") if directory.is_dir() else ():
        try:
            if now - p.stat().st_mtime > max_age_s:
                p.unlink()
        except OSError:
            pass


# --------------------------------------------------------------------------------------- hooks


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tflbench", "tflbench release gates for TFLite classifiers")
    group.addoption("--tflbench-config", metavar="PATH", default=None,
                    help="tflbench.toml or pyproject.toml with [tool.tflbench] (default: found "
                         "from the current directory; else the embedded digits default)")
    group.addoption("--tflbench-modes", metavar="LIST", default=None,
                    help="comma-separated modes to convert and gate (default: the config's)")
    group.addoption("--tflbench-models", metavar="LIST", default=None,
                    help="comma-separated model names to keep (default: every model)")
    group.addoption("--tflbench-baseline", metavar="PATH", default=None,
                    help="results JSON of the previous release to compare against")
    group.addoption("--tflbench-report-dir", metavar="DIR", default=None,
                    help="where results.json and the reports go (default: reports)")
    group.addoption("--tflbench-threads", metavar="N", type=int, default=None,
                    help="interpreter threads (default: the config's, else 1)")
    group.addoption("--tflbench-no-xnnpack", action="store_true", default=False,
                    help="run the interpreter without the XNNPACK delegate")
    parser.addini("tflbench_config", "path of the tflbench configuration (relative to the ini "
                  "file)", default="")


def _unreadable_results(path: Path, what: str) -> str | None:
    """Why the results file ``path`` cannot serve as a baseline, or None."""
    from tflbench import results
    from tflbench.errors import TflbenchError

    try:
        results.load(path)
    except TflbenchError as exc:
        return f"{what}: {exc}"
    return None


def _missing_input(project: ProjectConfig) -> str | None:
    """The first data file or folder a configured model names that does not exist."""
    from tflbench.data.sources import parse_spec

    for entry in project.models:
        if not entry.data:
            continue
        spec = parse_spec(entry.data)
        if spec.kind in ("npz", "folder") and not Path(spec.target).exists():
            where = project.source or "the configuration"
            return (f"{where}: model {entry.name!r}: data {spec.kind} not found: {spec.target}. "
                    "Check the path (relative paths are relative to the configuration file).")
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tflbench_slow: needs the tflbench pipeline (trains or "
                            "converts models on first use)")
    config.addinivalue_line("markers", "latency: measures invoke() latency")
    state = _State(config)
    config.stash[STATE] = state
    state.check_inputs()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = set(metafunc.fixturenames)
    if "_tflbench_case" not in names:
        return
    state = _state(metafunc.config)
    project = state.project()
    models = project.model_names()
    cases: list[tuple[str, str | None]]
    if names & _MODE_FIXTURES:
        cases = [(m, mode) for m in models for mode in project.mode_names()]
        ids = [f"{m}-{mode}" for m, mode in cases]
    else:
        cases = [(m, None) for m in models]
        ids = list(models)
    metafunc.parametrize("_tflbench_case", cases, ids=ids, indirect=True, scope="session")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None or state.doc is None or not state.ran_pipeline:
        return
    state.write_reports()
    if _is_worker(session.config):
        session.config.workeroutput["tflbench"] = state.summary()  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: collect the summary of the worker that ran the pipeline."""
    out = getattr(node, "workeroutput", {}).get("tflbench")
    if out:
        _state(node.config).worker_reports.append(out)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    summaries = list(state.worker_reports)
    if state.doc is not None and state.ran_pipeline:
        summaries.append(state.summary())
    for s in summaries:
        terminalreporter.section("tflbench")
        for line in s["warnings"]:
            terminalreporter.write_line(f"warning: {line}")
        if s["failures"]:
            terminalreporter.write_line(f"{len(s['failures'])} gate(s) failed:")
            for line in s["failures"]:
                terminalreporter.write_line(f"  - {line}")
        else:
            terminalreporter.write_line("all gates passed")
        for kind, path in s["paths"].items():
            terminalreporter.write_line(f"{kind}: {path}")


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def _tflbench_case(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    param = getattr(request, "param", None)
    if param is None:  # pragma: no cover - parametrized by pytest_generate_tests
        raise pytest.UsageError("tflbench fixtures are parametrized by the plugin; do not "
                                "request _tflbench_case directly")
    return param


@pytest.fixture(scope="session")
def tflbench_project(request: pytest.FixtureRequest) -> ProjectConfig:
    """The project configuration, with the ``--tflbench-*`` overrides applied."""
    return _state(request.config).project()


@pytest.fixture(scope="session")
def tflbench_settings(request: pytest.FixtureRequest) -> Any:
    """The :class:`tflbench.pipeline.RunSettings` of this session's run."""
    return _state(request.config).settings()


@pytest.fixture(scope="session")
def tflbench_results(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The results document of this session (the pipeline runs on first use)."""
    return _state(request.config).results()


@pytest.fixture(scope="session")
def tflbench_subject(request: pytest.FixtureRequest, _tflbench_case: tuple[str, str | None]
                     ) -> Any:
    """One subject (reference model + data) per configured model."""
    return _state(request.config).subjects()[_tflbench_case[0]]


def _model_record(doc: dict[str, Any], name: str) -> dict[str, Any]:
    for m in doc["models"]:
        if m["name"] == name:
            return m
    pytest.fail(f"tflbench: model {name!r} is missing from the results", pytrace=False)


@pytest.fixture(scope="session")
def keras_reference(request: pytest.FixtureRequest, _tflbench_case: tuple[str, str | None],
                    tflbench_results: dict[str, Any]) -> KerasReference:
    """The float Keras reference of one model."""
    state = _state(request.config)
    name = _tflbench_case[0]
    rec = _model_record(tflbench_results, name)
    if rec.get("keras") is None:
        pytest.fail(f"tflbench: reference model {name} could not be built: "
                    f"{rec.get('error') or 'unknown error'}", pytrace=False)
    return KerasReference(name, rec["keras"], rec, state.subjects()[name], state)


@pytest.fixture(scope="session")
def tflite_model(_tflbench_case: tuple[str, str | None],
                 tflbench_results: dict[str, Any]) -> TfliteModel:
    """One model under one mode: its results record and ``.tflite`` path."""
    name, mode = _tflbench_case
    if mode is None:  # pragma: no cover - parametrization always gives a mode here
        raise pytest.UsageError("tflite_model needs a mode")
    rec = _model_record(tflbench_results, name)
    for r in rec["modes"]:
        if r["mode"] == mode:
            return TfliteModel(name, mode, r, rec)
    pytest.fail(f"tflbench: {name}/{mode} is missing from the results", pytrace=False)


@pytest.fixture(scope="session")
def evaluation(tflite_model: TfliteModel, tflbench_project: ProjectConfig) -> Evaluation:
    """The checks of one model x mode against the configured thresholds."""
    limits = tflbench_project.thresholds.limits(tflite_model.model, tflite_model.mode)
    return Evaluation(tflite_model.model, tflite_model.mode, tflite_model.record, limits)


def sample_input(config: pytest.Config, model: str) -> Any:
    """One test input of ``model``'s dataset (as the model expects it), for timing."""
    return _state(config).dataset(model).test.x[0]


def baseline_lines(config: pytest.Config, model: str, mode: str, *,
                   latency: bool | None = None) -> Iterator[str]:
    """Failure lines of the baseline comparison for one model/mode (warnings are emitted).

    ``latency``: None for every metric, False for all but the latency change, True for only the
    latency change (skipped when ``max_latency_increase = false`` turns it off).
    """
    from tflbench import baseline

    state = _state(config)
    doc = state.results()
    project = state.project()
    if project.baseline.path is None:
        pytest.skip("no baseline (give --tflbench-baseline or [tool.tflbench] baseline)")
    if latency and project.baseline.max_latency_increase in (None, False):
        pytest.skip("baseline latency is not gated (max_latency_increase = false)")
    b = doc.get("baseline") or {}
    if b.get("error"):
        from tflbench.verdict import NOT_COMPARED

        pytest.fail(f"{NOT_COMPARED}: {b['error']}", pytrace=False)
    for w in b.get("warnings") or []:
        warnings.warn(TflbenchWarning(w), stacklevel=2)
    only_latency = (baseline.LATENCY_METRIC,)
    yield from baseline.failure_lines(
        b, only=[(model, mode)], metrics=only_latency if latency else None,
        exclude=only_latency if latency is False else ())


__all__ = ["Evaluation", "KerasReference", "STATE", "TfliteModel", "TflbenchWarning",
           "baseline_lines", "sample_input"]
