import keras
import numpy as np
import pytest
from sklearn.datasets import make_blobs

from tfunsup.cluster.refinement import (
    ClusterRefinementHead,
    estimate_prior,
    neighbor_consistency_loss,
    prior_kl,
    refine_clusters,
)
from tfunsup.metrics import clustering_scores


def test_consistency_loss_known_values():
    one_hot = np.eye(4, dtype=np.float32)
    uniform = np.full((4, 4), 0.25, np.float32)
    assert float(neighbor_consistency_loss(one_hot, one_hot)) == pytest.approx(0, abs=1e-6)
    assert float(neighbor_consistency_loss(uniform, uniform)) == pytest.approx(np.log(4), rel=1e-5)


def test_prior_kl_known_values():
    probabilities = np.array([[0.9, 0.1], [0.5, 0.5]], np.float32)  # mean (0.7, 0.3)
    assert float(prior_kl(probabilities, np.array([0.7, 0.3], np.float32))) == \
        pytest.approx(0, abs=1e-6)
    expected = 0.7 * np.log(0.7 / 0.5) + 0.3 * np.log(0.3 / 0.5)
    assert float(prior_kl(probabilities, np.array([0.5, 0.5], np.float32))) == \
        pytest.approx(expected, rel=1e-5)


def test_estimate_prior_smooths_empty_clusters():
    prior = estimate_prior([0, 0, 0, 1], 3, smoothing=1.0)
    np.testing.assert_allclose(prior, [4 / 7, 2 / 7, 1 / 7])


def blobs(sizes, seed=0, std=2.0):
    centers = np.random.default_rng(seed).normal(0, 3.0, (len(sizes), 16))
    x, labels = make_blobs(list(sizes), n_features=16, centers=centers, cluster_std=std,
                           random_state=seed)
    return x.astype(np.float32), labels


def test_refinement_repairs_a_noisy_assignment():
    x, labels = blobs([150, 150, 150, 150])
    rng = np.random.default_rng(0)
    noisy = labels.copy()
    flip = rng.random(len(labels)) < 0.3
    noisy[flip] = rng.integers(0, 4, flip.sum())
    before = clustering_scores(labels, noisy)["acc"]
    result = refine_clusters(x, noisy, n_neighbors=10, epochs=15, batch_size=128, seed=0)
    after = clustering_scores(labels, result.labels)["acc"]
    assert before < 0.8 and after >= 0.97
    assert result.probabilities.shape == (600, 4)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1, atol=1e-5)
    assert np.all((result.confidence >= 0.25) & (result.confidence <= 1))
    # Confidence ranks: items the refinement got right are more confident.
    right = result.labels == labels
    assert result.confidence[right].mean() > result.confidence[~right].mean()


def test_estimated_prior_keeps_a_small_cluster_small():
    # Overlapping blobs of 400, 400 and 40 items; initial labels = truth.
    x, labels = blobs([400, 400, 40], seed=1, std=3.5)
    kwargs = dict(n_neighbors=10, epochs=15, batch_size=128, seed=0)
    estimated = refine_clusters(x, labels, **kwargs)
    uniform = refine_clusters(x, labels, prior="uniform", **kwargs)
    small_estimated = np.sum(estimated.labels == 2)
    small_uniform = np.sum(uniform.labels == 2)
    assert 30 <= small_estimated <= 55
    assert small_uniform > 1.5 * small_estimated  # the equal-size prior inflates it
    assert clustering_scores(labels, estimated.labels)["acc"] > \
        clustering_scores(labels, uniform.labels)["acc"]


def test_head_round_trips_through_config():
    head = ClusterRefinementHead(3, 5, prior=[0.5, 0.3, 0.2], prior_weight=2.0)
    head.set_prototypes(np.eye(3, 5))
    clone = ClusterRefinementHead.from_config(head.get_config())
    clone.set_weights(head.get_weights())
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(x)),
                               keras.ops.convert_to_numpy(head(x)), rtol=1e-6)
    assert clone.prior == pytest.approx([0.5, 0.3, 0.2])


@pytest.mark.parametrize("kwargs, message", [
    (dict(initial_labels=np.zeros(5, int)), r"shape \(60,\)"),
    (dict(initial_labels=np.full(60, -1)), "initial_labels >= 0"),
    (dict(n_clusters=1), "n_clusters=1"),
    (dict(n_clusters=2), r"initial_labels < n_clusters \(2\)"),
    (dict(prior="balanced"), "prior='balanced'"),
    (dict(prior=[1.0, 0.0, 1.0]), "positive prior"),
    (dict(epochs=0), "epochs=0"),
    (dict(jit_compile="yes"), "jit_compile='yes'"),
    (dict(features_flip=np.zeros((60, 2))), "features_flip.shape"),
    (dict(neighbors=np.zeros((60, 3), int)), "neighbors.shape"),
])
def test_bad_arguments_raise_before_training(kwargs, message):
    x, labels = blobs([20, 20, 20])
    arguments = dict(initial_labels=labels, **kwargs)
    with pytest.raises(ValueError, match=message):
        refine_clusters(x, **arguments)
