import numpy as np
import pytest

from tfunsup.adapt import cluster_pseudo_labels
from tfunsup.adapt.pseudo_labels import balanced_assignment


def test_clustering_corrects_wrong_argmax_predictions():
    # Two tight clusters in feature space; the model's predictions are right
    # for most items but wrong (with low confidence) for three of cluster 0.
    rng = np.random.default_rng(0)
    centres = np.array([[5.0, 0.0], [0.0, 5.0]])
    truth = np.repeat([0, 1], 20)
    features = centres[truth] + 0.3 * rng.normal(size=(40, 2))
    probabilities = np.where(truth[:, None] == np.arange(2), 0.9, 0.1)
    probabilities[:3] = [0.4, 0.6]  # argmax says class 1
    assert (probabilities.argmax(axis=1) == truth).mean() < 1
    labels = cluster_pseudo_labels(features, probabilities, n_iter=1)
    np.testing.assert_array_equal(labels, truth)
    assert labels.dtype == np.int64


def test_cluster_k_stays_class_k_and_empty_classes_are_never_chosen():
    features = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    probabilities = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    labels = cluster_pseudo_labels(features, probabilities, n_iter=2)
    np.testing.assert_array_equal(labels, [2, 2, 0])


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="probabilities.shape=\\(3, 2\\)"):
        cluster_pseudo_labels(np.zeros((4, 2)), np.ones((3, 2)) / 2)
    with pytest.raises(ValueError, match="n_iter >= 0"):
        cluster_pseudo_labels(np.zeros((3, 2)), np.ones((3, 2)) / 2, n_iter=-1)


def test_balanced_pseudo_labels_use_every_class_equally():
    # Class 0's centroid is nearest for most items; balancing spreads them out.
    rng = np.random.default_rng(0)
    similarity = rng.normal(size=(100, 4))
    similarity[:, 0] += 2
    assert np.bincount(similarity.argmax(axis=1), minlength=4)[0] > 60
    counts = np.bincount(balanced_assignment(similarity), minlength=4)
    assert counts.min() >= 20 and counts.max() <= 30
    # The same up to scale: nearly equal similarities are balanced as well.
    np.testing.assert_array_equal(balanced_assignment(1e-4 * similarity),
                                  balanced_assignment(similarity))
    # An excluded class (-inf) gets no items.
    similarity[:, 3] = -np.inf
    labels = balanced_assignment(similarity)
    assert 3 not in labels and np.bincount(labels, minlength=3).min() >= 28


def test_cluster_pseudo_labels_balance_option():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 3))
    probabilities = rng.dirichlet(np.ones(3), size=60)
    probabilities[:, 0] += 3
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    labels = cluster_pseudo_labels(features, probabilities, balance=True)
    assert np.bincount(labels, minlength=3).min() >= 15
