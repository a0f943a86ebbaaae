"""GAN losses as pure functions of discriminator outputs (logits / critic scores).

Every loss is a mean over the batch, so it does not depend on the batch size.
"""

import tensorflow as tf


def discriminator_loss(real_logits, fake_logits):
    """Standard GAN discriminator loss, from logits.

    .. math::
        L_D = -\\mathbb{E}_x[\\log \\sigma(D(x))]
              - \\mathbb{E}_z[\\log(1 - \\sigma(D(G(z))))]

    computed as `mean(softplus(-real_logits)) + mean(softplus(fake_logits))`,
    which is exact and finite for any logit.

    Args:
        real_logits: float tensor `(batch, 1)` or `(batch,)`, D on real images.
        fake_logits: float tensor `(batch, 1)` or `(batch,)`, D on generated images.

    Returns:
        float32 scalar tensor.

    Reference:
        Goodfellow et al. Generative Adversarial Nets. NeurIPS 2014.
    """
    real_logits = tf.cast(real_logits, tf.float32)
    fake_logits = tf.cast(fake_logits, tf.float32)
    return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(
        tf.nn.softplus(fake_logits))


def generator_loss(fake_logits):
    """Non-saturating generator loss, from logits.

    .. math:: L_G = -\\mathbb{E}_z[\\log \\sigma(D(G(z)))]

    (`mean(softplus(-fake_logits))`): the generator maximises the
    discriminator's log-probability of its samples being real, which keeps
    strong gradients early in training where `log(1 - D(G(z)))` saturates.

    Args:
        fake_logits: float tensor `(batch, 1)` or `(batch,)`.

    Returns:
        float32 scalar tensor.

    Reference:
        Goodfellow et al. Generative Adversarial Nets. NeurIPS 2014 (Sec. 3).
    """
    return tf.reduce_mean(tf.nn.softplus(-tf.cast(fake_logits, tf.float32)))


def wasserstein_critic_loss(real_scores, fake_scores):
    """Wasserstein critic loss (without the gradient penalty).

    .. math:: L_C = \\mathbb{E}_z[C(G(z))] - \\mathbb{E}_x[C(x)]

    Its negative estimates the Wasserstein-1 distance when the critic is
    1-Lipschitz.

    Args:
        real_scores: float tensor `(batch, 1)` or `(batch,)`.
        fake_scores: float tensor `(batch, 1)` or `(batch,)`.

    Returns:
        float32 scalar tensor.

    Reference:
        Arjovsky, Chintala, Bottou. Wasserstein GAN. ICML 2017.
    """
    return tf.reduce_mean(tf.cast(fake_scores, tf.float32)) - tf.reduce_mean(
        tf.cast(real_scores, tf.float32))


def wasserstein_generator_loss(fake_scores):
    """Wasserstein generator loss `-mean(C(G(z)))`.

    Args:
        fake_scores: float tensor `(batch, 1)` or `(batch,)`.

    Returns:
        float32 scalar tensor.
    """
    return -tf.reduce_mean(tf.cast(fake_scores, tf.float32))


def safe_norm(x, epsilon=1e-12):
    """Per-sample L2 norm `sqrt(sum(x**2) + epsilon)` over all but the first axis.

    The plain `sqrt(sum(x**2))` has an infinite derivative at 0, so a zero
    gradient (e.g. a dead critic) turns the gradient penalty's own gradient
    into NaN; the `epsilon` inside the square root keeps it finite.

    Args:
        x: float tensor `(batch, ...)`.
        epsilon: float > 0.

    Returns:
        float32 tensor `(batch,)`.
    """
    x = tf.cast(x, tf.float32)
    axes = tf.range(1, tf.rank(x))
    return tf.sqrt(tf.reduce_sum(tf.square(x), axis=axes) + epsilon)


def interpolate(real, fake, alpha):
    """Points on the lines between real and generated images.

    Args:
        real: float tensor `(batch, height, width, channels)`.
        fake: float tensor of the same shape.
        alpha: float tensor `(batch,)` of weights in [0, 1], drawn from
            U[0, 1] for WGAN-GP (one per sample).

    Returns:
        `real + alpha * (fake - real)`, same shape as `real`.
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    alpha = tf.reshape(tf.cast(alpha, tf.float32), [-1] + [1] * (len(real.shape) - 1))
    return real + alpha * (fake - real)


def gradient_penalty(gradients, target=1.0):
    """Two-sided WGAN-GP penalty `mean((||grad||_2 - target)**2)`.

    Args:
        gradients: float tensor `(batch, ...)`: the critic's gradient with
            respect to its input at the interpolates, one per sample.
        target: the desired gradient norm (1 for a 1-Lipschitz critic).

    Returns:
        float32 scalar tensor (multiply by the penalty weight, 10 in the paper).

    Reference:
        Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville. Improved Training of
        Wasserstein GANs. NeurIPS 2017 (Algorithm 1).
    """
    return tf.reduce_mean(tf.square(safe_norm(gradients) - target))
