import math

import numpy as np
import pytest

from tfunsup.pretraining import nt_xent_loss


def test_single_pair_has_zero_loss():
    z = np.array([[1.0, 0.0]], np.float32)
    assert float(nt_xent_loss(z, z, temperature=0.5)) == pytest.approx(0.0, abs=1e-6)


def test_two_orthogonal_pairs_known_value():
    # Each view: positive similarity 1, two negatives with similarity 0, tau = 1.
    z = np.eye(2, dtype=np.float32)
    expected = math.log(1 + 2 / math.e)
    assert float(nt_xent_loss(z, z, temperature=1.0)) == pytest.approx(expected, rel=1e-5)


def test_temperature_and_scale_invariance():
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(2, 8, 5)).astype(np.float32)
    loss = float(nt_xent_loss(z1, z2, 0.5))
    # Projections are L2-normalised first: scaling changes nothing.
    assert float(nt_xent_loss(3 * z1, 0.5 * z2, 0.5)) == pytest.approx(loss, rel=1e-5)
    # Matching views score lower than unrelated ones.
    assert float(nt_xent_loss(z1, z1 + 0.01 * z2, 0.5)) < loss


def test_cosine_similarity_loss_known_values():
    from tfunsup.pretraining import cosine_similarity_loss

    u = np.array([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0]], np.float32)
    v = np.array([[3.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
    # cosines 1, 0, 1/sqrt(2); targets 1, 1, 0 -> errors 0, 1, 1/2.
    loss = float(cosine_similarity_loss(u, v, np.array([1.0, 1.0, 0.0], np.float32)))
    assert loss == pytest.approx((0.0 + 1.0 + 0.5) / 3, rel=1e-5)
