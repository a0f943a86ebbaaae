"""Seeding and distribution-strategy helpers."""

import keras
import tensorflow as tf


def set_seed(seed, deterministic=True):
    """Seeds Python, NumPy and TensorFlow; optionally makes TF ops deterministic.

    With `deterministic=True` TensorFlow's op determinism is enabled for the
    rest of the process: runs on CPU repeat bit for bit, but XLA
    (`jit_compile`) is then disabled by TensorFlow.

    Args:
        seed: int, or None to do nothing.
        deterministic: enable `tf.config.experimental.enable_op_determinism`.
    """
    if seed is None:
        return
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def get_strategy(strategy=None):
    """`strategy`, or the current `tf.distribute.Strategy` (the default one)."""
    return strategy if strategy is not None else tf.distribute.get_strategy()
