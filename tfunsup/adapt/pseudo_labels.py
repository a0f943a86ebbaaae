"""Pseudo-labels from a model's own outputs, refined by clustering."""

import numpy as np
from scipy.special import logsumexp


def _unit_rows(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def balanced_assignment(similarity, temperature=0.1, n_sinkhorn=50):
    """Assignment of items to classes that uses every class equally often.

    Sinkhorn-Knopp iterations (log domain) turn `exp(similarity / (temperature
    * std(similarity)))` into a transport plan whose rows sum to 1 and whose columns each carry
    `n / n_classes` items; it is rounded to labels greedily, most confident
    pairs first, with at most `ceil(n / n_classes)` items per class.

    Args:
        similarity: float array `(n, n_classes)`; `-inf` excludes a class.
        temperature: float > 0, in units of the similarities' standard
            deviation; smaller follows the similarity more closely.
        n_sinkhorn: int >= 1, normalisation rounds.

    Returns:
        int64 array `(n,)`.

    Reference:
        Cuturi. Sinkhorn Distances: Lightspeed Computation of Optimal
        Transport. NeurIPS 2013.
    """
    similarity = np.asarray(similarity, np.float64)
    n, n_classes = similarity.shape
    used = np.isfinite(similarity).any(axis=0)
    # In units of the similarities' own spread, so the temperature does not
    # depend on how far apart the centroids happen to be.
    scale = max(float(similarity[:, used].std()), 1e-12)
    log_plan = similarity / (scale * temperature)
    column_mass = np.log(n / max(int(used.sum()), 1))
    for _ in range(n_sinkhorn):
        columns = logsumexp(log_plan[:, used], axis=0)
        log_plan[:, used] += column_mass - columns
        log_plan -= logsumexp(log_plan, axis=1, keepdims=True)
    # The plan is balanced but soft; rounding it by each row's argmax can
    # still leave a class empty. Greedy rounding with capacities instead:
    # the most confident (item, class) pairs first, each class up to
    # ceil(n / n_used) items.
    capacity = np.where(used, -(-n // max(int(used.sum()), 1)), 0)
    labels = np.full(n, -1, np.int64)
    order = np.argsort(-log_plan, axis=None, kind="stable")
    for item, label in zip(*np.unravel_index(order, log_plan.shape)):
        if labels[item] < 0 and capacity[label] > 0:
            labels[item] = label
            capacity[label] -= 1
    return labels


def cluster_pseudo_labels(features, probabilities, n_iter=1, balance=False):
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
        balance: bool; True assigns items to centroids with every class
            used equally often (`balanced_assignment`) instead of to the
            nearest centroid. Only for targets known to be class-balanced.

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
        labels = (balanced_assignment(similarity) if balance
                  else np.argmax(similarity, axis=1))
        weights = np.eye(probabilities.shape[1])[labels]
    return labels.astype(np.int64)
