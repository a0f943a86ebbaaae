import keras
import numpy as np
import pytest

from tfunsup.layers.student_t_clustering import StudentTClustering


def _numpy_q(z, mu, alpha):
    squared = ((z[:, None, :] - mu[None]) ** 2).sum(-1)
    kernel = (1.0 + squared / alpha) ** (-(alpha + 1.0) / 2.0)
    return kernel / kernel.sum(1, keepdims=True)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 3.0])
def test_matches_numpy(alpha):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(7, 4)).astype(np.float32)
    mu = rng.normal(size=(3, 4)).astype(np.float32)
    layer = StudentTClustering(3, alpha=alpha, initial_clusters=mu)
    q = keras.ops.convert_to_numpy(layer(z))
    np.testing.assert_allclose(q, _numpy_q(z, mu, alpha), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(q.sum(1), 1.0, rtol=1e-6)


def test_nearest_center_gets_the_largest_share_and_known_value():
    layer = StudentTClustering(2, initial_clusters=np.array([[0.0], [2.0]], np.float32))
    q = keras.ops.convert_to_numpy(layer(np.array([[0.0]], np.float32)))
    # kernels 1 and 1 / (1 + 4) -> q = (5/6, 1/6)
    np.testing.assert_allclose(q, [[5 / 6, 1 / 6]], rtol=1e-6)


def test_centers_are_trainable_and_config_round_trips():
    layer = StudentTClustering(4, alpha=2.0, name="clustering")
    layer.build((None, 5))
    assert [w.shape for w in layer.trainable_weights] == [(4, 5)]
    clone = StudentTClustering.from_config(layer.get_config())
    assert clone.n_clusters == 4 and clone.alpha == 2.0


@pytest.mark.parametrize("kwargs, message", [
    ({"n_clusters": 1}, "n_clusters >= 2"),
    ({"n_clusters": 3, "alpha": 0.0}, "alpha > 0"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StudentTClustering(**kwargs)


def test_bad_initial_centers_shape():
    layer = StudentTClustering(3, initial_clusters=np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        layer(np.zeros((1, 4), np.float32))
