"""kNN distance in a pretrained feature space (DN2)."""

import numbers

import numpy as np

from tfunsup.anomaly.feature_anomaly_detector import FeatureAnomalyDetector


class KNNAnomalyDetector(FeatureAnomalyDetector):
    """Flags images or texts far from their nearest normal ones in a backbone's feature space.

    `fit(normal_images)` stores the L2-normalised features of the normal
    images (the bank); the anomaly score of an image is the mean Euclidean
    distance from its feature to its `n_neighbors` nearest bank features:

    .. math::
        s(x) = \\frac{1}{k} \\sum_{j=1}^{k} \\|\\phi(x) - \\phi(x_{(j)})\\|_2 ,
        \\quad \\phi(x) = f(x) / \\|f(x)\\|_2

    with `f` the frozen backbone (averaged over the image and its mirror
    image when `flip_average`). The neighbour search is scikit-learn's
    `NearestNeighbors`. Training scores (for `threshold_`) leave each image
    out of its own neighbours; `threshold_` is their `1 - contamination`
    quantile.

    Args:
        n_neighbors: int k >= 1 (DN2 uses 2).
        algorithm: `NearestNeighbors` algorithm (`"auto"`, `"brute"`, ...).
        backbone, image_size, layer, flip_average, sequence_length, pooling,
        contamination, batch_size, verbose: the feature model and the
            threshold, as documented in `FeatureAnomalyDetector`.

    Attributes (after `fit`):
        bank_: float32 `(n_train, feature_dim)` normal features.
        nearest_neighbors_: the fitted `sklearn.neighbors.NearestNeighbors`.
        train_scores_: float32 `(n_train,)` leave-one-out training scores.
        threshold_: float.

    Reference:
        Bergman, Cohen, Hoshen. Deep Nearest Neighbor Anomaly Detection.
        arXiv:2002.10445, 2020.
    """

    def __init__(self, backbone="keras:MobileNetV2", n_neighbors=2, *, image_size=None,
                 layer=None, flip_average=True, sequence_length=None, pooling="mean",
                 contamination=0.05, batch_size=64, algorithm="auto", verbose=0):
        self.backbone = backbone
        self.n_neighbors = n_neighbors
        self.image_size = image_size
        self.layer = layer
        self.flip_average = flip_average
        self.sequence_length = sequence_length
        self.pooling = pooling
        self.contamination = contamination
        self.batch_size = batch_size
        self.algorithm = algorithm
        self.verbose = verbose

    def _check_params(self):
        super()._check_params()
        k = self.n_neighbors
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"Expected n_neighbors >= 1. Received: n_neighbors={k!r}")

    def _check_n_train(self, n):
        if n < self.n_neighbors + 1:
            raise ValueError(f"Expected more than n_neighbors={self.n_neighbors} normal "
                             f"training images. Received {n}.")

    def _fit_scorer(self, features):
        from sklearn.neighbors import NearestNeighbors

        self.bank_ = features
        self.nearest_neighbors_ = NearestNeighbors(
            n_neighbors=self.n_neighbors, algorithm=self.algorithm).fit(features)
        distances, index = self.nearest_neighbors_.kneighbors(
            features, n_neighbors=self.n_neighbors + 1)
        # Drop each image's own entry (not always column 0 when duplicates tie).
        own = index == np.arange(len(features))[:, None]
        own[~own.any(axis=1), -1] = True
        return distances[~own].reshape(len(features), self.n_neighbors).mean(axis=1)

    def _score(self, features):
        distances, _ = self.nearest_neighbors_.kneighbors(features)
        return distances.mean(axis=1)

    def _scoring_layer(self):
        from tfunsup.anomaly.scoring_layers import NearestNeighborDistance

        return NearestNeighborDistance(len(self.bank_), self.bank_.shape[1],
                                       self.n_neighbors, bank=self.bank_, name="knn_distance")
