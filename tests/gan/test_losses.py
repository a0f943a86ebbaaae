"""GAN losses against values computed by hand."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfunsup.gan import losses


def softplus(x):
    return math.log1p(math.exp(x))


@pytest.mark.parametrize("real, fake, expected", [
    ([0.0], [0.0], 2 * math.log(2)),
    ([1.0], [-2.0], softplus(-1.0) + softplus(-2.0)),
    ([2.0, 0.0], [1.0, -1.0], (softplus(-2.0) + softplus(0.0)) / 2 + (softplus(1.0) + softplus(-1.0)) / 2),
])
def test_discriminator_loss_known_values(real, fake, expected):
    loss = losses.discriminator_loss(tf.constant(real)[:, None], tf.constant(fake)[:, None])
    assert float(loss) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("fake, expected", [
    ([0.0], math.log(2)),
    ([2.0], softplus(-2.0)),
    ([-3.0, 1.0], (softplus(3.0) + softplus(-1.0)) / 2),
])
def test_generator_loss_is_non_saturating(fake, expected):
    assert float(losses.generator_loss(tf.constant(fake))) == pytest.approx(expected, rel=1e-6)


def test_gan_losses_finite_for_extreme_logits():
    big = tf.constant([[1e4], [-1e4]])
    assert np.isfinite(float(losses.discriminator_loss(big, -big)))
    assert float(losses.generator_loss(tf.constant([[-1e4]]))) == pytest.approx(1e4)
    # Where log(1 - D(G(z))) saturates, the non-saturating loss still has slope -1.
    x = tf.constant([[-30.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = losses.generator_loss(x)
    assert float(tape.gradient(loss, x)[0, 0]) == pytest.approx(-1.0, abs=1e-6)


def test_wasserstein_losses():
    real, fake = tf.constant([[1.0], [3.0]]), tf.constant([[0.0], [2.0]])
    assert float(losses.wasserstein_critic_loss(real, fake)) == pytest.approx(-1.0)
    assert float(losses.wasserstein_generator_loss(fake)) == pytest.approx(-1.0)


def test_safe_norm_value_and_finite_gradient_at_zero():
    x = tf.constant([[3.0, 4.0], [0.0, 0.0]])
    assert np.allclose(losses.safe_norm(x).numpy(), [5.0, 1e-6], atol=1e-6)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(losses.safe_norm(x))
    gradient = tape.gradient(total, x).numpy()
    assert np.all(np.isfinite(gradient))
    assert np.allclose(gradient, [[0.6, 0.8], [0.0, 0.0]], atol=1e-6)


def test_plain_norm_gradient_at_zero_is_nan():
    """Why `safe_norm` exists: d sqrt(sum x^2) / dx at x = 0 is NaN."""
    x = tf.zeros((1, 2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        norm = tf.sqrt(tf.reduce_sum(tf.square(x)))
    assert np.isnan(tape.gradient(norm, x).numpy()).any()


@pytest.mark.parametrize("norms, expected", [
    ([1.0, 1.0], 0.0),
    ([2.0, 0.0], 1.0),          # ((2-1)^2 + (0-1)^2) / 2
    ([3.0, 1.0], 2.0),
])
def test_gradient_penalty_known_values(norms, expected):
    gradients = tf.constant([[[n, 0.0], [0.0, 0.0]] for n in norms])  # (batch, 2, 2)
    assert float(losses.gradient_penalty(gradients)) == pytest.approx(expected, abs=1e-5)


def test_gradient_penalty_of_a_dead_critic_has_finite_gradient():
    gradients = tf.zeros((4, 8, 8, 1))
    with tf.GradientTape() as tape:
        tape.watch(gradients)
        penalty = losses.gradient_penalty(gradients)
    assert float(penalty) == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.isfinite(tape.gradient(penalty, gradients).numpy()))


def test_gradient_penalty_of_linear_critic():
    """C(x) = <w, x> has gradient w everywhere: penalty (||w|| - 1)^2."""
    w = tf.constant(np.full((1, 4, 4, 1), 0.5, np.float32))  # ||w|| = 2
    x = tf.random.stateless_uniform((6, 4, 4, 1), seed=(1, 2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(tf.reduce_sum(x * w, axis=[1, 2, 3]))
    penalty = losses.gradient_penalty(tape.gradient(total, x))
    assert float(penalty) == pytest.approx(1.0, abs=1e-5)


def test_interpolate_uses_one_weight_per_sample():
    real, fake = tf.zeros((3, 2, 2, 1)), tf.ones((3, 2, 2, 1))
    mixed = losses.interpolate(real, fake, tf.constant([0.0, 0.25, 1.0])).numpy()
    assert np.allclose(mixed[0], 0.0) and np.allclose(mixed[1], 0.25) and np.allclose(mixed[2], 1.0)
