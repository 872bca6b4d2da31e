"""Ready-made release-gate suites, importable so ``pytest --pyargs tflbench.suites`` and
``tflbench test`` run them against a project's configuration."""

from pathlib import Path

#: Directory holding the suite modules.
SUITES_DIR = Path(__file__).resolve().parent
