"""Pseudo-labels from a model's own outputs, refined by clustering."""

import numpy as np


def _unit_rows(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def cluster_pseudo_labels(features, probabilities, n_iter=1):
    """SHOT's self-supervised pseudo-labels: the model's predictions, refined
    by k-means-style clustering in feature space.

    1. Features get a constant 1 appended and are L2-normalised (SHOT's
       cosine distance).
    2. Each class centroid is the mean of all features weighted by the
       model's probability of that class:
       `c_k = sum_i p_ik f_i / sum_i p_ik`.
    3. Each item takes the class of its nearest centroid (cosine).
    4. `n_iter` times: centroids become the means of their members, and
       items are relabelled.

    Unlike the argmax of the predictions, the labels follow the target's own
    cluster structure; unlike plain k-means, cluster `k` stays class `k`.

    Args:
        features: float array `(n, feature_dim)`.
        probabilities: float array `(n, n_classes)`, rows summing to 1.
        n_iter: int >= 0, hard re-assignment rounds after the soft one.

    Returns:
        int64 array `(n,)` of pseudo-labels in `[0, n_classes)`.

    Raises:
        ValueError: on mismatched shapes or `n_iter` < 0.

    Reference:
        Liang, Hu, Feng. Do We Really Need to Access the Source Data? Source
        Hypothesis Transfer for Unsupervised Domain Adaptation. ICML 2020.
    """
    features = np.asarray(features, np.float64)
    probabilities = np.asarray(probabilities, np.float64)
    if features.ndim != 2 or probabilities.ndim != 2 or len(features) != len(probabilities):
        raise ValueError(
            "Expected features (n, feature_dim) and probabilities (n, n_classes). "
            f"Received: features.shape={features.shape}, "
            f"probabilities.shape={probabilities.shape}")
    if n_iter < 0:
        raise ValueError(f"Expected n_iter >= 0. Received: n_iter={n_iter}")
    points = _unit_rows(np.concatenate([features, np.ones((len(features), 1))], axis=1))
    weights = probabilities
    for _ in range(n_iter + 1):
        mass = weights.sum(axis=0)
        centroids = weights.T @ points / np.maximum(mass, 1e-12)[:, None]
        similarity = points @ _unit_rows(centroids).T
        similarity[:, mass <= 0] = -np.inf  # a class no item belongs to
        labels = np.argmax(similarity, axis=1)
        weights = np.eye(probabilities.shape[1])[labels]
    return labels.astype(np.int64)
