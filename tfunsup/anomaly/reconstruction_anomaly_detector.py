"""Anomaly detection by autoencoder reconstruction error."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tfunsup.autoencoders.autoencoder_estimator import AutoencoderEstimator
from tfunsup.data.validation import check_images
from tfunsup.utils.export import export_atomically


def check_contamination(contamination):
    """Raises ValueError unless `contamination` is a float in (0, 0.5]."""
    if isinstance(contamination, bool) or not isinstance(contamination, numbers.Real) or not (
            0.0 < contamination <= 0.5):
        raise ValueError(
            f"Expected contamination in (0, 0.5]. Received: contamination={contamination!r}")
    return float(contamination)


class ReconstructionAnomalyDetector(BaseEstimator):
    """Flags images an autoencoder trained on normal data reconstructs badly.

    `fit(normal_images)` trains an autoencoder (`AutoencoderEstimator`) on
    normal data only; the anomaly score of an image is its mean squared
    reconstruction error (higher = more anomalous):

    .. math::
        s(x) = \\frac{1}{d} \\|x - D(E(x))\\|^2

    and an image is predicted anomalous when `s(x)` exceeds `threshold_`,
    the `1 - contamination` quantile of the training scores (or the
    `threshold_quantile` quantile when given).

    Args:
        architecture: `"dense"` or `"conv"` autoencoder.
        latent_dim: int >= 1.
        hidden_units: dense hidden sizes.
        filters: conv filters.
        noise_stddev: float >= 0, denoising input noise in training.
        epochs: int >= 0.
        batch_size: int >= 1.
        learning_rate: float > 0.
        contamination: float in (0, 0.5], the share of training images
            expected above the threshold.
        threshold_quantile: float in [0.5, 1) or None; when set, the
            threshold is this quantile of the training scores instead.
        jit_compile: True, False or `"auto"` (XLA on GPU/TPU only).
        seed: int or None.
        strategy: `tf.distribute.Strategy`; default the current one.
        verbose: Keras verbosity.

    Attributes (after `fit`):
        autoencoder_: the fitted `AutoencoderEstimator`.
        train_scores_: float `(n,)` scores of the training images.
        threshold_: float, the decision threshold.

    Reference:
        Sakurada, Yairi. Anomaly Detection Using Autoencoders with Nonlinear
        Dimensionality Reduction. MLSDA 2014.
    """

    def __init__(self, architecture="dense", latent_dim=16, *, hidden_units=(256, 128),
                 filters=(32, 64), noise_stddev=0.0, epochs=50, batch_size=64,
                 learning_rate=1e-3, contamination=0.05, threshold_quantile=None,
                 jit_compile="auto", seed=None, strategy=None, verbose=0):
        self.architecture = architecture
        self.latent_dim = latent_dim
        self.hidden_units = hidden_units
        self.filters = filters
        self.noise_stddev = noise_stddev
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.contamination = contamination
        self.threshold_quantile = threshold_quantile
        self.jit_compile = jit_compile
        self.seed = seed
        self.strategy = strategy
        self.verbose = verbose

    def _check_params(self):
        check_contamination(self.contamination)
        q = self.threshold_quantile
        if q is not None and (isinstance(q, bool) or not isinstance(q, numbers.Real)
                              or not 0.5 <= q < 1.0):
            raise ValueError(f"Expected threshold_quantile in [0.5, 1) or None. "
                             f"Received: threshold_quantile={q!r}")

    def fit(self, images, y=None):
        """Trains the autoencoder on normal images and sets the threshold.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1], normal
                data only (no labels).
            y: ignored (scikit-learn convention).

        Returns:
            self.

        Raises:
            ValueError: bad parameters (e.g. contamination outside (0, 0.5])
                or images (empty, NaN/Inf, outside [0, 1]).
        """
        self._check_params()
        images = check_images(images, name="images")
        autoencoder = AutoencoderEstimator(
            self.architecture, self.latent_dim, filters=self.filters,
            hidden_units=self.hidden_units, noise_stddev=self.noise_stddev,
            epochs=self.epochs, batch_size=self.batch_size,
            learning_rate=self.learning_rate, jit_compile=self.jit_compile, seed=self.seed,
            strategy=self.strategy, verbose=self.verbose)
        autoencoder._check_params()
        autoencoder.fit(images)
        self.autoencoder_ = autoencoder
        self.train_scores_ = autoencoder.reconstruction_error(images)
        quantile = (self.threshold_quantile if self.threshold_quantile is not None
                    else 1.0 - self.contamination)
        self.threshold_ = float(np.quantile(self.train_scores_, quantile))
        return self

    def _check_fitted(self):
        if not hasattr(self, "autoencoder_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' with normal images first.")

    def score_samples(self, images):
        """Anomaly scores: per-image mean squared reconstruction error.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1], the
                shape of the fit images.

        Returns:
            float32 array `(n,)`; higher = more anomalous.

        Raises:
            NotFittedError: before `fit`.
            ValueError: images of another shape or invalid.
        """
        self._check_fitted()
        return self.autoencoder_.reconstruction_error(images)

    def predict(self, images):
        """1 for anomalies (score above `threshold_`), 0 for normal; int `(n,)`."""
        return (self.score_samples(images) > self.threshold_).astype(np.int64)

    def build_scoring_model(self):
        """A functional `keras.Model`: input `"images"` -> dict with `"scores"`
        float32 `(batch,)` and `"is_anomaly"` int32 `(batch,)` (score above
        the threshold)."""
        import keras
        from keras import ops

        from tfunsup.autoencoders.losses import reconstruction_error

        self._check_fitted()
        encoder, decoder = self.autoencoder_.encoder_, self.autoencoder_.decoder_
        images = keras.Input(shape=self.autoencoder_.image_shape_, name="images")
        scores = reconstruction_error(images, decoder(encoder(images)))
        is_anomaly = ops.cast(ops.greater(scores, self.threshold_), "int32")
        return keras.Model(images, {"scores": scores, "is_anomaly": is_anomaly},
                           name="anomaly_detector")

    def export(self, path, overwrite=False):
        """Exports one SavedModel scoring images.

        `obj = tf.saved_model.load(path); obj.serve(images)` (and the
        `serving_default` signature) return `{"scores": (batch,),
        "is_anomaly": (batch,)}` for float32 images `(batch, height, width,
        channels)` in [0, 1].

        Returns:
            `Path` of the SavedModel.

        Raises:
            FileExistsError: `path` exists and `overwrite` is False.
        """
        return export_atomically(self.build_scoring_model(), path, overwrite=overwrite)
