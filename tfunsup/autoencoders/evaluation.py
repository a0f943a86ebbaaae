"""What an autoencoder's latent codes are worth for clustering, against the
raw-pixel baseline."""

import numpy as np
from sklearn.cluster import KMeans

from tfunsup.metrics.clustering import clustering_scores


def latent_kmeans_report(estimator, images, labels=None, n_clusters=10, seed=0):
    """K-means on a fitted autoencoder's latent codes, and on the raw pixels.

    Both use scikit-learn's `KMeans(n_clusters, n_init=10, random_state=seed)`;
    the labels, when given, only score the clusterings (ACC / NMI / ARI).

    Args:
        estimator: a fitted `AutoencoderEstimator`.
        images: float32 `(n, height, width, channels)` in [0, 1].
        labels: int `(n,)` true classes, or None (no scores).
        n_clusters: int >= 2.
        seed: k-means random state.

    Returns:
        dict: `assignments` int `(n,)` (k-means on the codes), `kmeans` and
        `baseline` (`{"acc", "nmi", "ari"}` of codes and of raw pixels, None
        values without labels).

    Raises:
        NotFittedError: `estimator` is not fitted.
    """
    codes = estimator.transform(images)
    assignments = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(codes)
    report = {"assignments": assignments,
              "kmeans": {"acc": None, "nmi": None, "ari": None},
              "baseline": {"method": "k-means on raw pixels", "acc": None, "nmi": None,
                           "ari": None}}
    if labels is not None:
        report["kmeans"] = clustering_scores(labels, assignments)
        pixels = np.asarray(images, np.float32).reshape(len(images), -1)
        baseline = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(pixels)
        report["baseline"].update(clustering_scores(labels, baseline))
    return report
