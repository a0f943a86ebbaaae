import math

import numpy as np
import pytest

from tfunsup.adapt import (
    dann_lambda,
    diversity,
    entropy,
    information_maximization_loss,
    prior_kl,
)


def test_dann_lambda_schedule_known_values():
    assert dann_lambda(0.0) == 0.0
    assert dann_lambda(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert dann_lambda(1.0) == pytest.approx(0.9999092)
    np.testing.assert_allclose(dann_lambda(np.float32([0.0, 0.1, 1.0])).numpy(),
                               [0.0, 2 / (1 + math.exp(-1)) - 1, 0.9999092], rtol=1e-6)


def test_information_maximization_known_values():
    k = 4
    uniform = np.full((6, k), 1 / k, np.float32)
    one_hot_balanced = np.eye(k, dtype=np.float32)
    one_hot_collapsed = np.tile(np.eye(k, dtype=np.float32)[:1], (k, 1))
    assert float(entropy(uniform)) == pytest.approx(math.log(k), abs=1e-4)
    assert float(diversity(uniform)) == pytest.approx(math.log(k), abs=1e-4)
    assert float(information_maximization_loss(uniform)) == pytest.approx(0.0, abs=1e-4)
    # Confident and diverse: the minimum, -log K.
    assert float(information_maximization_loss(one_hot_balanced)) == pytest.approx(
        -math.log(k), abs=1e-3)
    # Confident but all one class: no diversity, loss 0 (not the minimum).
    assert float(information_maximization_loss(one_hot_collapsed)) == pytest.approx(0.0, abs=1e-3)


def test_entropy_matches_numpy():
    p = np.random.default_rng(0).dirichlet(np.ones(5), size=8).astype(np.float32)
    expected = np.mean(-np.sum(p * np.log(p + 1e-5), axis=1))
    assert float(entropy(p)) == pytest.approx(expected, rel=1e-5)


def test_prior_kl_is_zero_at_the_prior_and_positive_elsewhere():
    prior = np.float32([0.5, 0.3, 0.2])
    # Rows whose mean is the prior (not each row equal to it).
    at_prior = np.float32([[1.0, 0.0, 0.0], [0.0, 0.6, 0.4]])
    assert float(prior_kl(at_prior, prior)) == pytest.approx(0.0, abs=1e-5)
    uniform = np.full((4, 3), 1 / 3, np.float32)
    expected = np.sum(1 / 3 * np.log((1 / 3) / prior))
    assert float(prior_kl(uniform, prior)) == pytest.approx(expected, rel=1e-3)
    assert float(prior_kl(uniform, prior)) > 0.05


def test_prior_kl_with_uniform_prior_is_log_k_minus_diversity():
    p = np.random.default_rng(1).dirichlet(np.ones(5), size=16).astype(np.float32)
    uniform = np.full(5, 0.2, np.float32)
    assert float(prior_kl(p, uniform)) == pytest.approx(
        math.log(5) - float(diversity(p)), abs=1e-4)


def test_prior_kl_gradient_pulls_the_mean_towards_the_prior():
    import tensorflow as tf

    prior = tf.constant([0.7, 0.3])
    logits = tf.Variable([[0.0, 0.0], [0.0, 0.0]])  # mean prediction (0.5, 0.5)
    with tf.GradientTape() as tape:
        loss = prior_kl(tf.nn.softmax(logits), prior)
    gradient = tape.gradient(loss, logits).numpy()
    # Descending the gradient raises class 0's logit: towards the prior's 0.7.
    assert (gradient[:, 0] < 0).all() and (gradient[:, 1] > 0).all()
