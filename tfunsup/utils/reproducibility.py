"""Seeding and distribution-strategy helpers."""

import keras
import tensorflow as tf


def set_seed(seed, deterministic=True):
    """Seeds Python, NumPy and TensorFlow; optionally makes TF ops deterministic.

    With `deterministic=True` TensorFlow's op determinism is enabled for the
    rest of the process: runs on CPU repeat bit for bit, but Keras then turns
    XLA (`jit_compile`) off. With `deterministic=False` (callers pass it when
    the user asked for `jit_compile=True`) op determinism is turned off again
    if an earlier seeded run in the process enabled it, so the XLA request is
    honoured.

    Args:
        seed: int, or None to do nothing.
        deterministic: enable `tf.config.experimental.enable_op_determinism`
            (True) or disable it (False).
    """
    if seed is None:
        return
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:
        # TensorFlow has no public switch back; the private one is guarded.
        from tensorflow.python.framework import config

        if getattr(config, "is_op_determinism_enabled", lambda: False)():
            config.disable_op_determinism()


def get_strategy(strategy=None):
    """`strategy`, or the current `tf.distribute.Strategy` (the default one)."""
    return strategy if strategy is not None else tf.distribute.get_strategy()
