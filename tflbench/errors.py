"""Exceptions.

Every error a user can fix derives from :class:`TflbenchError` and says what was received and
what to do. Bugs in tflbench itself raise :class:`InternalError`, so the two never mix. Only the
CLI turns these into exit codes.
"""

from __future__ import annotations


class TflbenchError(Exception):
    """A problem with the user's input, environment or thresholds."""


class ConfigError(TflbenchError):
    """A configuration file or option is wrong."""


class DataError(TflbenchError):
    """A dataset cannot be loaded or is unusable."""


class ModelLoadError(TflbenchError):
    """A Keras model file cannot be loaded."""


class ConversionError(TflbenchError):
    """A Keras -> TFLite conversion failed for one mode."""


class RuntimeBackendError(TflbenchError):
    """No TFLite interpreter is available, or the interpreter rejected a model or input."""


class ModelFileError(RuntimeBackendError):
    """A ``.tflite`` file is missing, truncated or corrupt."""


class BundleError(TflbenchError):
    """A bundle is malformed, tampered with or from an unsupported schema."""


class ResultsError(TflbenchError):
    """A results JSON file is malformed or from an unsupported schema."""


class GateError(TflbenchError):
    """One or more release gates failed. ``lines`` holds one readable line per failure."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)
        super().__init__(
            f"{len(self.lines)} gate(s) failed:\n" + "\n".join(f"  - {line}" for line in self.lines)
        )


class InternalError(Exception):
    """A bug in tflbench. Please report it with the traceback."""
