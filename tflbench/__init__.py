"""tflbench: decide whether a TensorFlow Lite (LiteRT) image classifier is fit to ship."""

__version__ = "0.1.0"

__all__ = ["__version__"]
