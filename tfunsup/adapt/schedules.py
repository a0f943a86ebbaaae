"""Schedules of domain-adversarial training (DANN), as pure functions."""

import math

import keras
import tensorflow as tf


def dann_lambda(progress, gamma=10.0):
    """The DANN schedule of the gradient-reversal strength.

    .. math::
        \\lambda_p = \\frac{2}{1 + \\exp(-\\gamma p)} - 1

    rises from 0 at the start of training (`p = 0`) towards 1, so the noisy
    early domain signal does not disturb the classifier.

    Args:
        progress: float or float tensor, training progress `p` in [0, 1]
            (step / total steps).
        gamma: float > 0, steepness (10 in the paper).

    Returns:
        `lambda_p`, a float (for a Python number) or a float32 tensor.

    Reference:
        Ganin et al. Domain-Adversarial Training of Neural Networks. JMLR 2016.
    """
    if isinstance(progress, (int, float)):
        return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0
    progress = tf.cast(progress, tf.float32)
    return 2.0 / (1.0 + tf.exp(-gamma * progress)) - 1.0


def dann_learning_rate(progress, initial_learning_rate, alpha=10.0, beta=0.75):
    """The DANN learning-rate annealing `mu_0 / (1 + alpha p) ** beta`.

    Args:
        progress: float or float tensor, training progress `p` in [0, 1].
        initial_learning_rate: float > 0, `mu_0`.
        alpha, beta: floats, 10 and 0.75 in the paper.

    Returns:
        The learning rate at `p` (float32 tensor for a tensor `p`).
    """
    if isinstance(progress, (int, float)):
        return initial_learning_rate / (1.0 + alpha * progress) ** beta
    progress = tf.cast(progress, tf.float32)
    return initial_learning_rate / tf.pow(1.0 + alpha * progress, beta)


@keras.saving.register_keras_serializable(package="tfunsup")
class AnnealedLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """DANN's learning-rate annealing as a Keras schedule.

    `lr(step) = initial_learning_rate / (1 + alpha * p) ** beta` with
    `p = min(step / total_steps, 1)` (see `dann_learning_rate`).

    Args:
        initial_learning_rate: float > 0.
        total_steps: int >= 1, number of optimizer steps of the whole run.
        alpha, beta: floats, 10 and 0.75 in the paper.
    """

    def __init__(self, initial_learning_rate, total_steps, alpha=10.0, beta=0.75):
        if initial_learning_rate <= 0:
            raise ValueError("Expected initial_learning_rate > 0. Received: "
                             f"initial_learning_rate={initial_learning_rate}")
        if total_steps < 1:
            raise ValueError(f"Expected total_steps >= 1. Received: total_steps={total_steps}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = int(total_steps)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def __call__(self, step):
        progress = tf.minimum(tf.cast(step, tf.float32) / self.total_steps, 1.0)
        return dann_learning_rate(progress, self.initial_learning_rate, self.alpha, self.beta)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "total_steps": self.total_steps, "alpha": self.alpha, "beta": self.beta}
