"""Seeding and distribution-strategy helpers."""

import keras
import tensorflow as tf


def set_seed(seed):
    """Seeds Python's, NumPy's and TensorFlow's random number generators.

    Only the generators: TensorFlow op determinism (bit-identical reruns,
    without XLA) is a separate, opt-in switch, `deterministic=True` on the
    estimators, which wrap their work in
    `tfunsup.training.op_determinism()` and restore the previous state on
    exit.

    Args:
        seed: int, or None to do nothing.
    """
    if seed is None:
        return
    keras.utils.set_random_seed(int(seed))


def get_strategy(strategy=None):
    """`strategy`, or the current `tf.distribute.Strategy` (the default one)."""
    return strategy if strategy is not None else tf.distribute.get_strategy()
