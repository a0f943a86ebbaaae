"""Cluster conditioning for GANs without labels: k-means pseudo-labels of the
training images, and a generator input that picks a cluster from the first
latent coordinate, so a cluster-conditioned generator still maps plain N(0, I)
latents `(batch, latent_dim)` to images.

The generator learns one mode per cluster and a projection discriminator
(Miyato & Koyama 2018) judges each image against its cluster, as in the
clustering variant of Lucic et al. (2019) and the self-conditioned GAN of
Liu et al. (2020); with more clusters than classes each cluster is nearly pure.
"""

import keras
import numpy as np
import tensorflow as tf
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

# Each cluster's slice of the first coordinate's CDF is entered this far
# (relative to its width) from both ends, so float rounding cannot move a
# latent built for one cluster into the neighbouring one.
_MARGIN = 1e-3


def check_cluster_prior(cluster_prior):
    """The prior as a float64 array `(n_clusters,)` summing to 1.

    Raises:
        ValueError: fewer than 2 entries, a negative or non-finite entry, or
            a zero sum.
    """
    prior = np.asarray(cluster_prior, dtype=np.float64)
    if prior.ndim != 1 or prior.size < 2:
        raise ValueError("Expected cluster_prior of shape (n_clusters,) with n_clusters >= 2. "
                         f"Received shape {prior.shape}")
    if not np.all(np.isfinite(prior)) or np.any(prior < 0) or prior.sum() <= 0:
        raise ValueError("Expected cluster_prior of finite, non-negative weights with a "
                         f"positive sum. Received: {prior.tolist()}")
    return prior / prior.sum()


def latent_clusters(latents, cluster_prior):
    """The cluster each latent vector selects: inverse-CDF sampling.

    `u = Phi(latents[:, 0])` is uniform on (0, 1) for N(0, 1) latents, and
    the cluster is the interval of the cumulative prior that `u` falls in, so
    clusters come out with the frequencies of `cluster_prior`.

    Args:
        latents: float `(batch, latent_dim)` tensor.
        cluster_prior: `(n_clusters,)` cluster frequencies.

    Returns:
        int32 tensor `(batch,)` in `[0, n_clusters)`.
    """
    prior = check_cluster_prior(cluster_prior)
    upper = tf.constant(np.cumsum(prior)[:-1], tf.float32)
    # Phi(z) = erfc(-z / sqrt(2)) / 2, accurate in the lower tail.
    u = 0.5 * tf.math.erfc(-tf.cast(latents[:, 0], tf.float32) / np.sqrt(2.0))
    return tf.reduce_sum(tf.cast(u[:, None] >= upper[None, :], tf.int32), axis=1)


def place_in_clusters(latents, labels, cluster_prior, uniform):
    """Latents whose first coordinate selects `labels` (see `latent_clusters`).

    Args:
        latents: float32 `(batch, latent_dim)`; coordinates 1.. are kept.
        labels: int `(batch,)` target clusters.
        cluster_prior: `(n_clusters,)` cluster frequencies.
        uniform: float32 `(batch,)` in [0, 1): where in its cluster's slice
            of the CDF each latent lands (uniform noise keeps the first
            coordinate N(0, 1)-distributed within the cluster).

    Returns:
        float32 `(batch, latent_dim)`.
    """
    prior = check_cluster_prior(cluster_prior)
    lower = tf.constant(np.concatenate([[0.0], np.cumsum(prior)[:-1]]), tf.float64)
    width = tf.constant(prior, tf.float64)
    labels = tf.cast(labels, tf.int32)
    position = _MARGIN + (1.0 - 2.0 * _MARGIN) * tf.cast(uniform, tf.float64)
    u = tf.gather(lower, labels) + tf.gather(width, labels) * position
    first = tf.cast(tf.math.ndtri(u), latents.dtype)
    return tf.concat([first[:, None], latents[:, 1:]], axis=1)


def cluster_latents(labels, latent_dim, cluster_prior, seed=0):
    """N(0, I) latents that a cluster-conditioned generator turns into images
    of the given clusters (e.g. one row of a sample grid per cluster).

    Args:
        labels: int array `(n,)` of clusters.
        latent_dim: int >= 2.
        cluster_prior: `(n_clusters,)` cluster frequencies of the generator.
        seed: int seed.

    Returns:
        float32 numpy array `(n, latent_dim)`.
    """
    prior = check_cluster_prior(cluster_prior)
    labels = np.asarray(labels)
    if labels.ndim != 1 or np.any(labels < 0) or np.any(labels >= prior.size):
        raise ValueError(f"Expected labels of shape (n,) in [0, {prior.size}).")
    rng = np.random.default_rng(seed)
    latents = rng.standard_normal((labels.size, latent_dim)).astype(np.float32)
    uniform = rng.random(labels.size).astype(np.float32)
    return place_in_clusters(tf.constant(latents), labels, prior, uniform).numpy()


@keras.saving.register_keras_serializable(package="tfunsup")
class ClusterCode(keras.layers.Layer):
    """Latents `(batch, latent_dim)` -> `(batch, n_clusters + latent_dim - 1)`:
    the one-hot cluster that the first coordinate selects (`latent_clusters`),
    followed by the other coordinates.

    Args:
        cluster_prior: `(n_clusters,)` cluster frequencies (normalised).
        **kwargs: `keras.layers.Layer` arguments.
    """

    def __init__(self, cluster_prior, **kwargs):
        super().__init__(**kwargs)
        self.cluster_prior = check_cluster_prior(cluster_prior).tolist()
        self.n_clusters = len(self.cluster_prior)

    def call(self, latents):
        one_hot = tf.one_hot(latent_clusters(latents, self.cluster_prior), self.n_clusters,
                             dtype=latents.dtype)
        return tf.concat([one_hot, latents[:, 1:]], axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_clusters + input_shape[-1] - 1)

    def get_config(self):
        return {**super().get_config(), "cluster_prior": self.cluster_prior}


def find_cluster_code(generator):
    """The generator's `ClusterCode` layer, or None (unconditional)."""
    for layer in generator.layers:
        if isinstance(layer, ClusterCode):
            return layer
    return None


def kmeans_pseudo_labels(images, n_clusters=50, *, backbone=None, pca_components=50,
                         batch_size=500, seed=0):
    """K-means pseudo-labels of unlabeled images for cluster conditioning.

    Features are the pixels, or a pretrained backbone's features (any spec of
    `tfunsup.backbones.load_backbone`), reduced by PCA, then clustered by
    scikit-learn's k-means. More clusters than classes (e.g. 50 for the 10
    digits) make each cluster nearly pure.

    Args:
        images: float32 `(n, height, width, channels)` in [0, 1].
        n_clusters: int, 2 <= n_clusters <= n.
        backbone: None for pixels, else a backbone spec.
        pca_components: int >= 1 or None (no PCA); capped at the feature
            and sample counts.
        batch_size: images per backbone call.
        seed: int seed of PCA and k-means.

    Returns:
        int32 numpy array `(n,)` in `[0, n_clusters)`.

    Raises:
        ValueError: on `n_clusters` outside `[2, n]` or bad `pca_components`.

    Reference:
        Lucic et al. High-Fidelity Image Generation With Fewer Labels.
        ICML 2019 (k-means pseudo-labels for a conditional GAN).
    """
    n = len(images)
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) or not (
            2 <= n_clusters <= n):
        raise ValueError(f"Expected n_clusters in [2, {n}] (the number of images). "
                         f"Received: n_clusters={n_clusters!r}")
    if pca_components is not None and (isinstance(pca_components, bool) or pca_components < 1):
        raise ValueError(f"Expected pca_components >= 1 or None. "
                         f"Received: pca_components={pca_components!r}")
    if backbone is None:
        features = np.asarray(images, np.float32).reshape(n, -1)
    else:
        from tfunsup.metrics.generative import extract_features, load_feature_extractor

        features = extract_features(images, load_feature_extractor(backbone), batch_size)
    if pca_components is not None:
        components = min(pca_components, features.shape[1], n)
        features = PCA(components, random_state=seed).fit_transform(features)
    kmeans = KMeans(n_clusters, n_init=3, random_state=seed)
    return kmeans.fit_predict(features).astype(np.int32)
