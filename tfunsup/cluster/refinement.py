"""Refining a clustering on frozen (cached) features with a small Keras head.

`refine_clusters(features, initial_labels)` trains a cosine softmax head,
started at the initial clusters' centroids, with SCAN's objective (Van
Gansbeke et al. 2020): an item and one of its nearest neighbours should get
the same cluster, while the mean prediction should match a prior over
cluster sizes. SCAN's prior is uniform (its entropy term), which forces equal
clusters and hurts long-tailed data; here the default prior is the size of
each initial cluster (`prior="estimated"`), so a small cluster stays small.

Pure losses (`neighbor_consistency_loss`, `prior_kl`) are separate functions;
`ClusterRefinementHead` is the Keras model with the objective in its
`train_step`; `refine_clusters` builds the `tf.data` pipeline and runs `fit`.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfunsup import training
from tfunsup.cluster.graph import check_features, l2_normalize, nearest_neighbors

EPSILON = 1e-8


def neighbor_consistency_loss(anchor_probabilities, neighbor_probabilities):
    """SCAN's consistency term: :math:`-\\frac{1}{B}\\sum_i \\log \\langle p_i, p_{j(i)} \\rangle`.

    Args:
        anchor_probabilities: float `(batch, n_clusters)`, rows sum to 1.
        neighbor_probabilities: float `(batch, n_clusters)`, the predictions
            of one nearest neighbour of each anchor.

    Returns:
        float32 scalar >= 0; 0 when every pair agrees with certainty.

    Reference:
        Van Gansbeke et al. SCAN: Learning to Classify Images without
        Labels. ECCV 2020, eq. 2.
    """
    agreement = tf.reduce_sum(anchor_probabilities * neighbor_probabilities, axis=-1)
    return -tf.reduce_mean(tf.math.log(tf.maximum(agreement, EPSILON)))


def prior_kl(probabilities, prior):
    """KL divergence of the batch's mean prediction from a cluster-size prior.

    :math:`\\mathrm{KL}(\\bar p \\,\\|\\, \\pi) = \\sum_k \\bar p_k \\log(\\bar p_k / \\pi_k)`,
    :math:`\\bar p = \\frac{1}{B}\\sum_i p_i`. With a uniform :math:`\\pi`
    this is :math:`\\log K - H(\\bar p)`, SCAN's entropy term up to a constant.

    Args:
        probabilities: float `(batch, n_clusters)`.
        prior: float `(n_clusters,)`, positive, sums to 1.

    Returns:
        float32 scalar >= 0.
    """
    mean = tf.reduce_mean(probabilities, axis=0)
    return tf.reduce_sum(mean * (tf.math.log(tf.maximum(mean, EPSILON))
                                 - tf.math.log(tf.maximum(prior, EPSILON))))


@keras.saving.register_keras_serializable(package="tfunsup")
class ClusterRefinementHead(keras.Model):
    """Cosine softmax head over frozen features, trained with SCAN's objective.

    .. math::
        L = -\\frac{1}{B}\\sum_i \\log \\langle p(x_i), p(x_{j(i)}) \\rangle
            + \\lambda \\, \\mathrm{KL}(\\bar p \\,\\|\\, \\pi)

    with :math:`x_{j(i)}` a random one of the nearest neighbours of
    :math:`x_i` and :math:`p(x) = \\mathrm{softmax}(s \\cdot W^\\top x / \\|x\\|)`
    with unit-norm columns of W (cluster prototypes) and scale `s`.

    Args:
        n_clusters: int >= 2.
        feature_dim: int >= 1, width of the input features.
        prior: float `(n_clusters,)` cluster-size prior :math:`\\pi`, or None
            for uniform (SCAN).
        prior_weight: float >= 0, :math:`\\lambda` (SCAN uses 5).
        scale: float > 0, logit scale `s` (inverse temperature).

    Call arguments:
        features: float32 `(batch, feature_dim)`.

    Returns:
        float32 `(batch, n_clusters)` probabilities.

    Train-step data:
        `(anchor_features, neighbor_features)`, both `(batch, feature_dim)`.

    Reference:
        Van Gansbeke, Vandenhende, Georgoulis, Proesmans, Van Gool. SCAN:
        Learning to Classify Images without Labels. ECCV 2020.
    """

    def __init__(self, n_clusters, feature_dim, prior=None, prior_weight=5.0, scale=10.0,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) \
                or n_clusters < 2:
            raise ValueError(f"Expected an integer n_clusters >= 2. Received: n_clusters={n_clusters!r}")
        if prior_weight < 0:
            raise ValueError(f"Expected prior_weight >= 0. Received: prior_weight={prior_weight}")
        if scale <= 0:
            raise ValueError(f"Expected scale > 0. Received: scale={scale}")
        prior = np.full(n_clusters, 1.0 / n_clusters) if prior is None else np.asarray(prior, float)
        if prior.shape != (n_clusters,) or np.any(prior <= 0):
            raise ValueError(f"Expected a positive prior of shape ({n_clusters},). "
                             f"Received: prior={prior}")
        self.n_clusters = int(n_clusters)
        self.feature_dim = int(feature_dim)
        self.prior = (prior / prior.sum()).tolist()
        self.prior_weight = float(prior_weight)
        self.scale = float(scale)
        self._prior = tf.constant(self.prior, tf.float32)
        self.normalize = keras.layers.UnitNormalization(name="l2_normalize")
        self.prototypes = keras.layers.Dense(self.n_clusters, use_bias=False, name="prototypes")
        self.prototypes.build((None, self.feature_dim))
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.consistency_tracker = keras.metrics.Mean(name="consistency")
        self.prior_kl_tracker = keras.metrics.Mean(name="prior_kl")
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.consistency_tracker, self.prior_kl_tracker]

    def set_prototypes(self, centroids):
        """Sets the prototypes W to the unit-normalised `(n_clusters, feature_dim)` centroids."""
        centroids = l2_normalize(np.asarray(centroids, np.float32))
        self.prototypes.set_weights([centroids.T])

    def call(self, features, training=False):
        weights = tf.math.l2_normalize(self.prototypes.kernel, axis=0)
        logits = self.scale * tf.matmul(self.normalize(features), weights)
        return tf.nn.softmax(logits)

    def train_step(self, data):
        anchors, neighbors = data
        with tf.GradientTape() as tape:
            anchor_probabilities = self(anchors, training=True)
            neighbor_probabilities = self(neighbors, training=True)
            consistency = neighbor_consistency_loss(anchor_probabilities, neighbor_probabilities)
            divergence = prior_kl(anchor_probabilities, self._prior)
            loss = consistency + self.prior_weight * divergence
            scaled_loss = loss / tf.distribute.get_strategy().num_replicas_in_sync
        gradients = tape.gradient(scaled_loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        self.consistency_tracker.update_state(consistency)
        self.prior_kl_tracker.update_state(divergence)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        config = super().get_config()
        config.update(n_clusters=self.n_clusters, feature_dim=self.feature_dim, prior=self.prior,
                      prior_weight=self.prior_weight, scale=self.scale)
        return config


def estimate_prior(labels, n_clusters, smoothing=1.0):
    """Cluster-size prior from a clustering: `(count_k + smoothing) / (n + K * smoothing)`.

    Args:
        labels: int `(n,)` in `[0, n_clusters)`.
        n_clusters: int >= 2.
        smoothing: float >= 0, pseudo-count per cluster (keeps an empty
            cluster's prior positive).

    Returns:
        float64 `(n_clusters,)`, positive, sums to 1.
    """
    counts = np.bincount(np.asarray(labels, np.int64), minlength=n_clusters).astype(float)
    counts += max(smoothing, EPSILON)
    return counts / counts.sum()


@dataclasses.dataclass
class RefinementResult:
    """Output of `refine_clusters`.

    Attributes:
        labels: int64 `(n,)` refined cluster per item.
        probabilities: float32 `(n, n_clusters)` head output (averaged over
            the views given).
        confidence: float32 `(n,)` probability of the assigned cluster, in
            `[1 / n_clusters, 1]` (e.g. for `assignments.csv`).
        prior: float64 `(n_clusters,)` cluster-size prior used.
        model: the trained `ClusterRefinementHead`.
        history: dict of per-epoch losses from `fit`.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    confidence: np.ndarray
    prior: np.ndarray
    model: object
    history: dict


def _centroids(features, labels, n_clusters):
    normalized = l2_normalize(features)
    centroids = np.zeros((n_clusters, features.shape[1]), np.float32)
    for k in range(n_clusters):
        members = normalized[labels == k]
        centroids[k] = members.mean(axis=0) if len(members) else normalized.mean(axis=0)
    return centroids


def make_neighbor_pairs(views, neighbors, batch_size, seed=None):
    """Endless `tf.data` pipeline of `(anchor, neighbor)` feature batches.

    Each epoch visits every item once as an anchor (shuffled); its partner is
    a uniformly drawn one of its nearest neighbours, and each of the two takes
    a uniformly drawn view (e.g. the features of the image and of its
    horizontal flip).

    Args:
        views: float32 `(n_views, n, d)`.
        neighbors: int `(n, m)` neighbour indices.
        batch_size: int >= 1.
        seed: int or None.

    Returns:
        `tf.data.Dataset` of `((batch, d), (batch, d))` float32 pairs.
    """
    n_views, n, _ = views.shape
    views = tf.constant(views, tf.float32)
    table = tf.constant(neighbors, tf.int64)
    m = neighbors.shape[1]
    base_seed = 0 if seed is None else int(seed)

    def pair(step, index):
        draw = tf.random.stateless_uniform(
            (3, tf.shape(index)[0]), seed=tf.stack([tf.constant(base_seed, tf.int64), step]))
        partner = tf.gather(table, index, batch_dims=0)
        column = tf.cast(draw[0] * m, tf.int64)
        partner = tf.gather(partner, tf.minimum(column, m - 1), batch_dims=1)
        view_a = tf.minimum(tf.cast(draw[1] * n_views, tf.int64), n_views - 1)
        view_b = tf.minimum(tf.cast(draw[2] * n_views, tf.int64), n_views - 1)
        anchors = tf.gather_nd(views, tf.stack([view_a, index], axis=1))
        partners = tf.gather_nd(views, tf.stack([view_b, partner], axis=1))
        return anchors, partners

    dataset = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.repeat().batch(batch_size, drop_remainder=True).enumerate()
    return dataset.map(pair, num_parallel_calls=1, deterministic=True).prefetch(2)


def refine_clusters(features, initial_labels, *, n_clusters=None, features_flip=None,
                    neighbors=None, n_neighbors=20, prior="estimated", prior_weight=5.0,
                    scale=10.0, epochs=30, batch_size=256, learning_rate=1e-3,
                    jit_compile="auto", seed=None, deterministic=False, verbose=0):
    """Refines an initial clustering of frozen features (no labels).

    Trains a `ClusterRefinementHead` started at the initial clusters'
    centroids (weight imprinting) with `fit` on `make_neighbor_pairs`, then
    labels every item by the head (probabilities averaged over the views).

    Args:
        features: float `(n, d)` frozen features (e.g. cached backbone
            features); they are L2-normalised here.
        initial_labels: int `(n,)` initial clustering in `[0, n_clusters)`
            (e.g. `spectral_clustering(...).labels`).
        n_clusters: int or None (default: `max(initial_labels) + 1`).
        features_flip: float `(n, d)` or None; features of an augmented view
            of the same items (e.g. horizontally flipped images). Pairs then
            draw random views, and predictions average both.
        neighbors: int `(n, m)` neighbour table or None to compute the
            `n_neighbors` nearest neighbours (cosine) here.
        n_neighbors: int >= 1, neighbours per item used (first columns of
            `neighbors`).
        prior: `"estimated"` (sizes of the initial clusters, safe for
            long-tailed data), `"uniform"` (SCAN's equal-size prior) or a
            float `(n_clusters,)` array.
        prior_weight: float >= 0, weight of the prior KL term.
        scale: float > 0, logit scale of the cosine head.
        epochs: int >= 1; one epoch visits every item once as an anchor.
        batch_size: int >= 1 (capped at n).
        learning_rate: float > 0, Adam learning rate.
        jit_compile: `"auto"`, True or False; resolved by
            `tfunsup.training.resolve_jit_compile` (XLA on GPUs/TPUs).
        seed: int or None; seeds the random number generators.
        deterministic: bool; TensorFlow op determinism while training (with
            a seed, CPU runs repeat bit for bit; no XLA), restored after.
        verbose: 0 silent, 1/2 `fit` progress.

    Returns:
        `RefinementResult`.

    Raises:
        ValueError: bad features, labels or arguments (before training).

    Reference:
        Van Gansbeke et al. SCAN: Learning to Classify Images without
        Labels. ECCV 2020 (the objective; here on frozen features with a
        data-estimated prior instead of the uniform one).
    """
    from tfunsup.utils.reproducibility import set_seed

    features = check_features(features)
    n = len(features)
    initial_labels = np.asarray(initial_labels)
    if initial_labels.shape != (n,) or not np.issubdtype(initial_labels.dtype, np.integer):
        raise ValueError(f"Expected integer initial_labels of shape ({n},). Received: "
                         f"dtype={initial_labels.dtype}, shape={initial_labels.shape}")
    if initial_labels.min() < 0:
        raise ValueError(f"Expected initial_labels >= 0. Received: min={initial_labels.min()}")
    if n_clusters is None:
        n_clusters = int(initial_labels.max()) + 1
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) \
            or not 2 <= n_clusters <= n:
        raise ValueError(f"Expected an integer 2 <= n_clusters <= {n}. "
                         f"Received: n_clusters={n_clusters!r}")
    if initial_labels.max() >= n_clusters:
        raise ValueError(f"Expected initial_labels < n_clusters ({n_clusters}). "
                         f"Received: max={initial_labels.max()}")
    views = [l2_normalize(features)]
    if features_flip is not None:
        flip = check_features(features_flip, name="features_flip")
        if flip.shape != features.shape:
            raise ValueError(f"Expected features_flip of shape {features.shape}. "
                             f"Received: features_flip.shape={flip.shape}")
        views.append(l2_normalize(flip))
    if isinstance(prior, str):
        if prior not in ("estimated", "uniform"):
            raise ValueError("Expected prior 'estimated', 'uniform' or an array. "
                             f"Received: prior={prior!r}")
        prior = estimate_prior(initial_labels, n_clusters) if prior == "estimated" \
            else np.full(n_clusters, 1.0 / n_clusters)
    else:
        prior = np.asarray(prior, float)
        if prior.shape != (n_clusters,) or np.any(prior <= 0):
            raise ValueError(f"Expected a positive prior of shape ({n_clusters},). "
                             f"Received: prior.shape={prior.shape}")
        prior = prior / prior.sum()
    for name, value in (("epochs", epochs), ("batch_size", batch_size),
                        ("n_neighbors", n_neighbors)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"Expected an integer {name} >= 1. Received: {name}={value!r}")
    if learning_rate <= 0:
        raise ValueError(f"Expected learning_rate > 0. Received: learning_rate={learning_rate}")
    if jit_compile not in ("auto", True, False):
        raise ValueError(f"Expected jit_compile 'auto', True or False. "
                         f"Received: jit_compile={jit_compile!r}")
    if neighbors is None:
        if not n_neighbors < n:
            raise ValueError(f"Expected n_neighbors < number of samples ({n}). "
                             f"Received: n_neighbors={n_neighbors}")
        neighbors, _ = nearest_neighbors(views[0] if len(views) == 1 else
                                         l2_normalize(sum(views)), n_neighbors, seed=seed)
    neighbors = np.asarray(neighbors)
    if neighbors.ndim != 2 or len(neighbors) != n or neighbors.shape[1] < n_neighbors:
        raise ValueError(f"Expected neighbors of shape ({n}, >= n_neighbors={n_neighbors}). "
                         f"Received: neighbors.shape={neighbors.shape}")
    neighbors = neighbors[:, :n_neighbors]

    set_seed(seed)
    with training.op_determinism(deterministic):
        model = ClusterRefinementHead(n_clusters, features.shape[1], prior=prior,
                                      prior_weight=prior_weight, scale=scale)
        model.set_prototypes(_centroids(views[0], initial_labels, n_clusters))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      jit_compile=training.resolve_jit_compile(
                          jit_compile, deterministic=deterministic))
        batch_size = min(batch_size, n)
        dataset = make_neighbor_pairs(np.stack(views), neighbors, batch_size, seed=seed)
        history = model.fit(dataset, epochs=epochs, steps_per_epoch=max(1, n // batch_size),
                            verbose=verbose)
        probabilities = np.mean([model.predict(v, batch_size=1024, verbose=0) for v in views],
                                axis=0)
    labels = probabilities.argmax(axis=1).astype(np.int64)
    confidence = probabilities[np.arange(n), labels].astype(np.float32)
    return RefinementResult(labels=labels, probabilities=probabilities.astype(np.float32),
                            confidence=confidence, prior=prior, model=model,
                            history=dict(history.history))
