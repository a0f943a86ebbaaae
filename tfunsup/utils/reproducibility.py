"""Seeding and distribution-strategy helpers."""

import keras
import numpy as np
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


def reseed_random_layers(model, seed):
    """Restarts the random streams of a model's layers (dropout, noise) from `seed`.

    Each Keras layer that draws random numbers owns a
    `keras.random.SeedGenerator`, seeded when the layer is made;
    `keras.utils.set_random_seed` only reaches generators made after it. A
    model trained more than once (a text encoder fine-tuned once per seed and
    labelled subset) would otherwise carry on the streams of the runs
    before, so a seed's run would depend on which runs came first.

    Args:
        model: a built `keras.Model` or `keras.layers.Layer`.
        seed: int, or None to do nothing.

    Returns:
        int, the number of generators restarted.
    """
    if seed is None:
        return 0
    states = [v for v in model.variables if v.name == "seed_generator_state"]
    starts = np.random.default_rng(int(seed)).integers(0, 2**31 - 1, size=len(states))
    for state, start in zip(states, starts):
        state.assign(np.array([start, 0], dtype=state.dtype))
    return len(states)


def get_strategy(strategy=None):
    """`strategy`, or the current `tf.distribute.Strategy` (the default one)."""
    return strategy if strategy is not None else tf.distribute.get_strategy()
