"""Data sources. Each source is a module returning a :class:`~tflbench.data.base.Dataset`."""

from tflbench.data.base import Dataset, Split, stratified_split

__all__ = ["Dataset", "Split", "stratified_split"]
