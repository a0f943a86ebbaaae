import numpy as np
import pytest

from tfunsup.adapt import cluster_pseudo_labels


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
