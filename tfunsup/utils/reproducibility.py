"""Seeding and distribution-strategy helpers."""

import warnings

import keras
import tensorflow as tf


def set_seed(seed, deterministic=None):
    """Seeds Python's, NumPy's and TensorFlow's random number generators.

    Only the generators: TensorFlow op determinism (bit-identical reruns,
    without XLA) is a separate, opt-in switch, `deterministic=True` on the
    estimators, which wrap their work in
    `tfunsup.training.op_determinism()` and restore the previous state on
    exit.

    Args:
        seed: int, or None to do nothing.
        deterministic: deprecated, None by default. Earlier versions
            switched op determinism on (True) or off (False) for the rest of
            the process; passing it still does that, with a
            `DeprecationWarning`: use `tfunsup.training.op_determinism()`,
            which restores the previous state.
    """
    if seed is None:
        return
    keras.utils.set_random_seed(int(seed))
    if deterministic is not None:
        from tfunsup.training.acceleration import _set_op_determinism

        warnings.warn("set_seed(..., deterministic=...) changes op determinism for the whole "
                      "process; use `with tfunsup.training.op_determinism(True):` instead.",
                      DeprecationWarning, stacklevel=2)
        _set_op_determinism(bool(deterministic))


def get_strategy(strategy=None):
    """`strategy`, or the current `tf.distribute.Strategy` (the default one)."""
    return strategy if strategy is not None else tf.distribute.get_strategy()
