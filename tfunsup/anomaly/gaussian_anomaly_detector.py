"""Mahalanobis distance to a Gaussian of pretrained features."""

import numbers

import numpy as np

from tfunsup.anomaly.feature_anomaly_detector import FeatureAnomalyDetector


def fit_gaussian(features):
    """Mean and whitening matrix of a shrunk Gaussian (Ledoit-Wolf).

    Args:
        features: float `(n, d)`.

    Returns:
        `(mean, whitening)`: float32 `(d,)` and `(d, d)` with
        `whitening @ whitening.T` the precision matrix, so the squared
        Mahalanobis distance is `||(f - mean) @ whitening||^2`.
    """
    from sklearn.covariance import LedoitWolf

    features = np.asarray(features, np.float64)
    mean = features.mean(axis=0)
    covariance = LedoitWolf(assume_centered=True).fit(features - mean).covariance_
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    whitening = eigenvectors / np.sqrt(np.maximum(eigenvalues, 1e-12))
    return mean.astype(np.float32), whitening.astype(np.float32)


def mahalanobis(features, mean, whitening):
    """Mahalanobis distances `(n,)` of `features` `(n, d)` (float64 math)."""
    z = (np.asarray(features, np.float64) - mean) @ np.asarray(whitening, np.float64)
    return np.sqrt(np.sum(z * z, axis=1))


class GaussianAnomalyDetector(FeatureAnomalyDetector):
    """Flags images or texts unlikely under a Gaussian fitted to normal pretrained features.

    `fit(normal_images)` fits a multivariate Gaussian to the L2-normalised
    features of the normal images, with the Ledoit-Wolf shrunk covariance
    (the sample covariance is singular when there are fewer images than
    feature dimensions). The anomaly score is the Mahalanobis distance

    .. math::
        s(x) = \\sqrt{(\\phi(x) - \\mu)^\\top \\Sigma^{-1} (\\phi(x) - \\mu)}

    with `phi` the (flip-averaged) unit-norm backbone features. The training
    scores behind `threshold_` are cross-fitted (`n_splits` folds: each
    image scored by a Gaussian fitted without it), so the threshold is not
    biased low by in-sample distances.

    Args:
        backbone, image_size, layer, flip_average, sequence_length, pooling,
        contamination, batch_size, verbose: the feature model and the
            threshold, as documented in `FeatureAnomalyDetector`.
        n_splits: int >= 2, folds of the cross-fitted training scores.

    Attributes (after `fit`):
        mean_: float32 `(feature_dim,)`.
        whitening_: float32 `(feature_dim, feature_dim)`, `W W^T = Sigma^-1`.
        train_scores_: float32 `(n_train,)` cross-fitted training scores.
        threshold_: float.

    Reference:
        Rippel, Mertens, Merhof. Modeling the Distribution of Normal Data in
        Pre-Trained Deep Features for Anomaly Detection. ICPR 2020.
        Ledoit, Wolf. A well-conditioned estimator for large-dimensional
        covariance matrices. J. Multivariate Analysis 2004.
    """

    def __init__(self, backbone="keras:MobileNetV2", *, image_size=None, layer=None,
                 flip_average=True, sequence_length=None, pooling="mean", contamination=0.05,
                 batch_size=64, n_splits=5, verbose=0):
        self.backbone = backbone
        self.image_size = image_size
        self.layer = layer
        self.flip_average = flip_average
        self.sequence_length = sequence_length
        self.pooling = pooling
        self.contamination = contamination
        self.batch_size = batch_size
        self.n_splits = n_splits
        self.verbose = verbose

    def _check_params(self):
        super()._check_params()
        if isinstance(self.n_splits, bool) or not isinstance(
                self.n_splits, numbers.Integral) or self.n_splits < 2:
            raise ValueError(f"Expected n_splits >= 2. Received: n_splits={self.n_splits!r}")

    def _check_n_train(self, n):
        if n < max(3, self.n_splits):
            raise ValueError(f"Expected at least {max(3, self.n_splits)} normal training "
                             f"images (n_splits={self.n_splits}). Received {n}.")

    def _fit_scorer(self, features):
        from sklearn.model_selection import KFold

        self.mean_, self.whitening_ = fit_gaussian(features)
        scores = np.empty(len(features))
        folds = KFold(self.n_splits, shuffle=True, random_state=0)
        for fit_index, held_out in folds.split(features):
            mean, whitening = fit_gaussian(features[fit_index])
            scores[held_out] = mahalanobis(features[held_out], mean, whitening)
        return scores

    def _score(self, features):
        return mahalanobis(features, self.mean_, self.whitening_)

    def _scoring_layer(self):
        from tfunsup.anomaly.scoring_layers import MahalanobisDistance

        d = self.mean_.shape[0]
        return MahalanobisDistance(d, self.whitening_.shape[1], mean=self.mean_,
                                   whitening=self.whitening_, name="mahalanobis_distance")
