"""Shared training settings: the XLA switch under a strategy, and callbacks."""

import warnings

import keras
import tensorflow as tf


def _has_accelerator():
    return any(d.device_type != "CPU" for d in tf.config.list_physical_devices())


def resolve_jit_compile(jit_compile, strategy):
    """The `jit_compile` value to pass to `compile` under `strategy`.

    `"auto"` lets Keras decide (XLA on GPU/TPU, off on CPU-only machines,
    where XLA train steps measured slower: see
    `benchmarks/bench_autoencoder_xla.py`). XLA under a `MirroredStrategy`
    over several CPU devices fails in TensorFlow ("variable on another
    device"), so there it is turned off with a warning.

    Args:
        jit_compile: True, False or `"auto"`.
        strategy: the `tf.distribute.Strategy` the model is built under.

    Returns:
        True, False or `"auto"`.

    Raises:
        ValueError: `jit_compile` is not True, False or "auto".
    """
    if jit_compile not in (True, False, "auto"):
        raise ValueError(
            f"Expected jit_compile True, False or 'auto'. Received: jit_compile={jit_compile!r}")
    if strategy.num_replicas_in_sync > 1 and not _has_accelerator():
        if jit_compile is True:
            warnings.warn("jit_compile=True is not supported by MirroredStrategy over CPU "
                          "devices; training without XLA.", stacklevel=3)
        return False
    return jit_compile


def training_callbacks(backup_dir=None, callbacks=None):
    """`TerminateOnNaN`, `BackupAndRestore(backup_dir)` when given, then `callbacks`.

    With `backup_dir`, an interrupted `fit` leaves the last finished epoch's
    weights, optimizer state and epoch number in `backup_dir`; calling the
    same `fit` again resumes from there (and the backup is deleted when
    training completes).
    """
    result = [keras.callbacks.TerminateOnNaN()]
    if backup_dir is not None:
        result.append(keras.callbacks.BackupAndRestore(str(backup_dir)))
    return result + list(callbacks or [])


def check_fit_params(**params):
    """Raises ValueError on a non-positive epochs/batch_size or a bad learning rate."""
    for name in ("epochs", "batch_size"):
        if name in params:
            value = params[name]
            minimum = 0 if name == "epochs" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"Expected {name} >= {minimum}. Received: {name}={value!r}")
    for name, value in params.items():
        if name.endswith("learning_rate") and not (isinstance(value, (int, float))
                                                   and value > 0):
            raise ValueError(f"Expected {name} > 0. Received: {name}={value!r}")
