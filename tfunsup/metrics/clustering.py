"""Clustering metrics: accuracy under the best cluster-to-class matching, NMI, ARI."""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix


def _as_label_vectors(y_true, y_pred):
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"Expected y_true and y_pred of the same length. Received "
            f"{y_true.shape[0]} and {y_pred.shape[0]}"
        )
    if y_true.size == 0:
        raise ValueError("Expected non-empty y_true and y_pred.")
    return y_true, y_pred


def match_clusters(y_true, y_pred):
    """Best one-to-one map from cluster ids to class ids (Hungarian algorithm).

    Args:
        y_true: int array `(n,)` of class labels.
        y_pred: int array `(n,)` of cluster ids.

    Returns:
        dict `{cluster_id: class_id}` maximising the number of matched items;
        clusters left without a class (more clusters than classes) are absent.
    """
    y_true, y_pred = _as_label_vectors(y_true, y_pred)
    classes, true_index = np.unique(y_true, return_inverse=True)
    clusters, pred_index = np.unique(y_pred, return_inverse=True)
    counts = np.zeros((clusters.size, classes.size), np.int64)
    np.add.at(counts, (pred_index, true_index), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return {clusters[r].item(): classes[c].item() for r, c in zip(rows, cols)}


def cluster_accuracy(y_true, y_pred):
    """Clustering accuracy (ACC): accuracy after the best cluster-to-class map.

    .. math::
        ACC = \\max_m \\frac{1}{n} \\sum_i 1[y_i = m(c_i)]

    over one-to-one maps m (Xie et al., ICML 2016; solved with
    `scipy.optimize.linear_sum_assignment`).

    Returns:
        float in [0, 1].
    """
    y_true, y_pred = _as_label_vectors(y_true, y_pred)
    mapping = match_clusters(y_true, y_pred)
    hits = sum(int(np.sum((y_pred == c) & (y_true == k))) for c, k in mapping.items())
    return hits / y_true.size


def cluster_purity(y_true, y_pred):
    """Purity: the fraction of items in their cluster's majority class.

    Unlike ACC, many clusters may share a class, so it suits over-clustering
    (more clusters than classes); it is 1 for a cluster per item.

    Args:
        y_true: int array `(n,)`, ground-truth classes (used only to score).
        y_pred: int array `(n,)`, cluster ids.

    Returns:
        float in (0, 1].
    """
    y_true, y_pred = _as_label_vectors(y_true, y_pred)
    counts = contingency_matrix(y_true, y_pred)  # (classes, clusters)
    return float(counts.max(axis=0).sum() / y_true.size)


def clustering_scores(y_true, y_pred):
    """ACC, NMI and ARI of cluster assignments against class labels.

    Args:
        y_true: int array `(n,)`, ground-truth classes (used only to score).
        y_pred: int array `(n,)`, cluster ids.

    Returns:
        dict with float `acc`, `nmi` (arithmetic normalisation) and `ari`.
    """
    y_true, y_pred = _as_label_vectors(y_true, y_pred)
    return {
        "acc": float(cluster_accuracy(y_true, y_pred)),
        "nmi": float(normalized_mutual_info_score(y_true, y_pred)),
        "ari": float(adjusted_rand_score(y_true, y_pred)),
    }
