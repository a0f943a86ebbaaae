"""The schedule of domain-adversarial training (DANN), as a pure function."""

import math

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
