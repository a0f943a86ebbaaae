"""Losses of domain adaptation, as pure functions."""

import tensorflow as tf

EPSILON = 1e-5


def entropy(probabilities, epsilon=EPSILON):
    """Mean Shannon entropy (nats) of a batch of class distributions.

    Args:
        probabilities: float32 `(batch, n_classes)`, rows summing to 1.
        epsilon: float, added inside the logarithm.

    Returns:
        float32 scalar, `mean_i -sum_k p_ik log p_ik`.
    """
    p = tf.convert_to_tensor(probabilities, tf.float32)
    return tf.reduce_mean(-tf.reduce_sum(p * tf.math.log(p + epsilon), axis=-1))


def diversity(probabilities, epsilon=EPSILON):
    """Entropy (nats) of the batch's mean class distribution.

    Args:
        probabilities: float32 `(batch, n_classes)`, rows summing to 1.
        epsilon: float, added inside the logarithm.

    Returns:
        float32 scalar, `-sum_k pbar_k log pbar_k` with `pbar = mean_i p_i`;
        `log(n_classes)` when the batch uses all classes equally.
    """
    p = tf.convert_to_tensor(probabilities, tf.float32)
    mean = tf.reduce_mean(p, axis=0)
    return -tf.reduce_sum(mean * tf.math.log(mean + epsilon))


def information_maximization_loss(probabilities, epsilon=EPSILON):
    """SHOT's information-maximisation loss: confident yet diverse outputs.

    .. math::
        L_{IM} = \\underbrace{-\\frac{1}{n}\\sum_i \\sum_k p_{ik}\\log p_{ik}}_{
        \\text{entropy}} \\; + \\; \\underbrace{\\sum_k \\bar p_k \\log
        \\bar p_k}_{-\\text{diversity}}

    Minimising it makes each prediction one-hot (low entropy) while the
    predictions of the batch cover all classes (high diversity), which rules
    out the trivial solution of one class for everything.

    Args:
        probabilities: float32 `(batch, n_classes)`, rows summing to 1.
        epsilon: float, added inside the logarithms.

    Returns:
        float32 scalar in `[-log(n_classes), log(n_classes)]`: 0 for
        uniform rows, `-log(n_classes)` for one-hot rows that use every class
        equally often.

    Reference:
        Liang, Hu, Feng. Do We Really Need to Access the Source Data? Source
        Hypothesis Transfer for Unsupervised Domain Adaptation. ICML 2020.
    """
    return entropy(probabilities, epsilon) - diversity(probabilities, epsilon)


def prior_kl(probabilities, prior, epsilon=EPSILON):
    """KL divergence (nats) of the batch's mean class distribution to a class prior.

    .. math::
        D_{KL}(\\bar p \\,\\|\\, \\pi) = \\sum_k \\bar p_k
        \\log\\frac{\\bar p_k}{\\pi_k}, \\qquad \\bar p = \\frac{1}{n}\\sum_i p_i

    SHOT's diversity term with a target class prior `pi` instead of the
    uniform one: with a uniform `pi` it is `log(n_classes) - diversity`, so
    minimising it has the same gradients as maximising `diversity`; with an
    imbalanced `pi` it no longer pulls rare classes' share up (or frequent
    ones' down) towards `1 / n_classes`.

    Args:
        probabilities: float32 `(batch, n_classes)`, rows summing to 1.
        prior: float32 `(n_classes,)`, positive, summing to 1.
        epsilon: float, added inside the logarithms.

    Returns:
        float32 scalar >= 0 (up to `epsilon`); 0 when the batch's mean
        prediction equals `prior`.

    Reference:
        Liang, Hu, Feng. Do We Really Need to Access the Source Data? Source
        Hypothesis Transfer for Unsupervised Domain Adaptation. ICML 2020
        (the uniform-prior diversity term this generalises).
    """
    p = tf.convert_to_tensor(probabilities, tf.float32)
    prior = tf.convert_to_tensor(prior, tf.float32)
    mean = tf.reduce_mean(p, axis=0)
    return tf.reduce_sum(mean * (tf.math.log(mean + epsilon) - tf.math.log(prior + epsilon)))
