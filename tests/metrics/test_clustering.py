import numpy as np
import pytest

from tfunsup.metrics import (
    cluster_accuracy,
    cluster_purity,
    clustering_scores,
    match_clusters,
)


def test_accuracy_is_invariant_to_cluster_renaming():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([2, 2, 0, 0, 1, 1])
    assert cluster_accuracy(y_true, y_pred) == 1.0
    assert match_clusters(y_true, y_pred) == {2: 0, 0: 1, 1: 2}


def test_accuracy_known_value():
    # Best map 0->0, 1->1 matches 4 of 6.
    assert cluster_accuracy([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 0]) == pytest.approx(4 / 6)


def test_more_clusters_than_classes():
    # Cluster 2 stays unmatched: 4 of 5 are right.
    assert cluster_accuracy([0, 0, 1, 1, 1], [0, 0, 1, 1, 2]) == pytest.approx(0.8)


def test_scores_agree_with_sklearn_on_a_random_case():
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    scores = clustering_scores(y_true, y_pred)
    assert scores["nmi"] == pytest.approx(normalized_mutual_info_score(y_true, y_pred))
    assert scores["ari"] == pytest.approx(adjusted_rand_score(y_true, y_pred))
    assert 0.25 <= scores["acc"] < 0.4


def test_length_mismatch():
    with pytest.raises(ValueError, match="same length"):
        cluster_accuracy([0, 1], [0])


def test_purity_known_values():
    y_true = [0, 0, 0, 1, 1, 2]
    # cluster 5 = {0, 0, 1}, cluster 7 = {0, 1, 2}: majorities 2 + 1 of 6
    assert cluster_purity(y_true, [5, 5, 7, 5, 7, 7]) == pytest.approx(3 / 6)
    assert cluster_purity(y_true, np.arange(6)) == 1.0  # one cluster per item
    assert cluster_purity(y_true, np.zeros(6)) == pytest.approx(3 / 6)
