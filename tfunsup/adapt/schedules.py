"""The schedule of domain-adversarial training (DANN), as a pure function."""

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


@keras.saving.register_keras_serializable(package="tfunsup")
class AnnealedLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """DANN's learning-rate annealing, `lr_p = lr_0 / (1 + alpha p) ** beta`.

    Args:
        initial_learning_rate: float > 0, `lr_0`.
        total_steps: int >= 1; `p = step / total_steps`, capped at 1.
        alpha: float, 10 in the paper.
        beta: float, 0.75 in the paper.

    Reference:
        Ganin et al. Domain-Adversarial Training of Neural Networks. JMLR 2016.
    """

    def __init__(self, initial_learning_rate, total_steps, alpha=10.0, beta=0.75):
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = int(total_steps)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def __call__(self, step):
        progress = tf.minimum(tf.cast(step, tf.float32) / self.total_steps, 1.0)
        return self.initial_learning_rate / (1.0 + self.alpha * progress) ** self.beta

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "total_steps": self.total_steps, "alpha": self.alpha, "beta": self.beta}
