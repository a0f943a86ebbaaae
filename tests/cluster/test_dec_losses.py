import numpy as np
import tensorflow as tf
from keras import ops
from scipy.special import rel_entr

from tfunsup.cluster.dec_losses import clustering_kl_loss, target_distribution


def _random_q(n=6, k=3, seed=0):
    q = np.random.default_rng(seed).uniform(0.05, 1.0, size=(n, k))
    return (q / q.sum(1, keepdims=True)).astype(np.float32)


def test_target_distribution_matches_numpy():
    q = _random_q()
    weight = q ** 2 / q.sum(0)
    expected = weight / weight.sum(1, keepdims=True)
    p = ops.convert_to_numpy(target_distribution(q))
    np.testing.assert_allclose(p, expected, rtol=1e-5)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-6)


def test_target_distribution_sharpens():
    q = np.array([[0.6, 0.4], [0.4, 0.6]], np.float32)
    p = ops.convert_to_numpy(target_distribution(q))
    # balanced clusters: p = q^2 renormalised = (9/13, 4/13)
    np.testing.assert_allclose(p, [[9 / 13, 4 / 13], [4 / 13, 9 / 13]], rtol=1e-6)


def test_kl_loss_matches_scipy_and_is_zero_for_equal_distributions():
    q, p = _random_q(seed=1), _random_q(seed=2)
    loss = ops.convert_to_numpy(clustering_kl_loss(p, q, epsilon=0.0))
    np.testing.assert_allclose(loss, rel_entr(p, q).sum(1), rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(clustering_kl_loss(q, q)), 0.0, atol=1e-6)


def test_kl_loss_gradient_flows_to_q_only():
    p = tf.constant(_random_q(seed=3))
    q = tf.Variable(_random_q(seed=4))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(p)
        loss = tf.reduce_sum(clustering_kl_loss(p, q))
    assert tape.gradient(loss, p) is None
    np.testing.assert_allclose(tape.gradient(loss, q).numpy(), -p.numpy() / (q.numpy() + 1e-7),
                               rtol=1e-4)
