"""Reproducible training: the same recipe, data and seed give the same weights on the same
machine (and so the same figures as the README shows)."""

from __future__ import annotations


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (``keras.utils.set_random_seed``) and switch on
    TensorFlow's op determinism, so reductions and parallel kernels give bit-identical results
    from run to run on one machine."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
