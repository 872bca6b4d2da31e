"""The project configuration: ``tflbench.toml`` or ``[tool.tflbench]`` in ``pyproject.toml``.

Every key is documented in ``docs/gating.md``. A minimal file::

    [tool.tflbench]
    modes = ["fp32", "int8"]

    [[tool.tflbench.models]]
    path = "models/classifier.keras"
    data = "npz:data/test.npz"

    [tool.tflbench.thresholds.int8]
    min_top1_agreement = 0.97

One module per concern:

* :mod:`~tflbench.config.model`: the records (:class:`ProjectConfig`, :class:`ModelEntry`,
  :class:`BaselineConfig`);
* :mod:`~tflbench.config.parse`: reading TOML and validating it (unknown keys and wrong types
  raise :class:`~tflbench.errors.ConfigError` naming the full key path and what was received;
  relative paths are relative to the configuration file's directory);
* :mod:`~tflbench.config.discover`: :func:`discover_project`, the one rule every command and
  the pytest plugin use to find the configuration (without one: the built-in digits demo);
* :mod:`~tflbench.config.bridge`: the pipeline's run settings and subjects of a configuration.

Reading a configuration never imports TensorFlow.
"""

from tflbench.config.bridge import load_data
from tflbench.config.discover import (
    INI_OPTION,
    default_config,
    demo_notice,
    discover_project,
    find,
    in_ci,
    load,
    load_config,
    load_project,
    pytest_ini,
)
from tflbench.config.model import (
    DEFAULT_CACHE_DIR,
    DEFAULT_REPORT_DIR,
    BaselineConfig,
    ModelEntry,
    ProjectConfig,
)
from tflbench.config.parse import CONFIG_FILE, PYPROJECT, load_file, parse, read_toml

__all__ = [
    "CONFIG_FILE", "DEFAULT_CACHE_DIR", "DEFAULT_REPORT_DIR", "INI_OPTION", "PYPROJECT",
    "BaselineConfig", "ModelEntry", "ProjectConfig", "default_config", "demo_notice",
    "discover_project", "find", "in_ci", "load", "load_config", "load_data", "load_file",
    "load_project", "parse", "pytest_ini", "read_toml",
]
