"""Anomaly detection in a pretrained backbone's feature space: the shared base."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tfunsup.anomaly.reconstruction_anomaly_detector import check_contamination
from tfunsup.data.validation import check_images
from tfunsup.utils.export import export_atomically


def check_features(features, name="features", n_features=None):
    """Validates a feature matrix and returns it as float32 `(n, d)`.

    Raises:
        ValueError: not rank 2, empty, NaN/Inf, or `d != n_features`.
    """
    x = np.asarray(features)
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"Expected numeric {name}. Received dtype={x.dtype}")
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"Expected {name} of shape (n_samples >= 1, n_features). "
                         f"Received shape={x.shape}")
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(f"Expected {name} with {n_features} features as in fit. "
                         f"Received shape={x.shape}")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains {int(np.sum(~np.isfinite(x)))} NaN or Inf values.")
    return x


def l2_normalize(features):
    """Rows scaled to unit Euclidean norm (float32 `(n, d)`)."""
    features = np.asarray(features, np.float32)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, 1e-12)


class FeatureAnomalyDetector(BaseEstimator):
    """Base of detectors that score images in a frozen backbone's feature space.

    A subclass implements `_fit_scorer(features)` (returns the scores of the
    training features, computed so that a training image does not count as
    its own neighbour), `_score(features)` and `_scoring_layer()` (a Keras
    layer mapping features to scores inside an exported model). This class
    does the rest: the feature model (images -> `ToImageSpec` -> backbone,
    optionally averaged with the horizontally flipped image -> L2
    normalisation), the threshold from `contamination`, `predict` and the
    SavedModel export.

    Subclasses store their arguments in `__init__` only (scikit-learn
    convention); the shared ones are:

    Args:
        backbone: any `tfunsup.backbones.load_backbone` spec, e.g.
            `"keras:MobileNetV2"`, a TF Hub URL, a SavedModel folder or a
            `keras.Model`.
        image_size: `(height, width)` of the backbone input, or None for the
            spec's own (224 x 224 for Keras Applications).
        flip_average: average each image's features with those of its
            horizontal mirror image (test-time augmentation).
        contamination: float in (0, 0.5], the share of training images
            expected above `threshold_`.
        batch_size: int >= 1, images per backbone call.
        verbose: Keras verbosity of the feature extraction.
    """

    def _check_params(self):
        check_contamination(self.contamination)
        if isinstance(self.batch_size, bool) or not isinstance(
                self.batch_size, numbers.Integral) or self.batch_size < 1:
            raise ValueError(
                f"Expected batch_size >= 1. Received: batch_size={self.batch_size!r}")

    # -- features ----------------------------------------------------------------

    def _feature_model(self, channels):
        import keras

        from tfunsup.backbones import load_backbone
        from tfunsup.layers import ToImageSpec

        cached = getattr(self, "feature_model_", None)
        if cached is not None:
            if cached.input_shape[-1] != channels:
                raise ValueError(f"Expected images with {cached.input_shape[-1]} channels "
                                 f"as in fit. Received {channels} channels.")
            return cached
        backbone = load_backbone(self.backbone, image_size=self.image_size)
        spec = backbone.image_spec
        images = keras.Input(shape=(None, None, channels), name="images")
        x = ToImageSpec(spec.height, spec.width, spec.channels, spec.content_fraction,
                        name="to_image_spec")(images)
        features = backbone(x, training=False)
        if self.flip_average:
            mirrored = backbone(keras.ops.flip(x, axis=2), training=False)
            features = keras.layers.Average(name="flip_average")([features, mirrored])
        features = keras.ops.normalize(features, axis=-1, order=2)
        self.feature_model_ = keras.Model(images, features, name="feature_model")
        return self.feature_model_

    def extract_features(self, images):
        """L2-normalised backbone features of images (flip-averaged if set).

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1] (any
                size; they are resized to the backbone input), or a
                `tf.data.Dataset` of such batches.

        Returns:
            float32 array `(n, feature_dim)` of unit-norm rows.

        Raises:
            ValueError: bad images, or a channel count unlike fit's.
        """
        import tensorflow as tf

        self._check_params()
        if isinstance(images, tf.data.Dataset):
            channels = images.element_spec.shape[-1]
            dataset = images
        else:
            images = check_images(images, name="images")
            channels = images.shape[-1]
            dataset = tf.data.Dataset.from_tensor_slices(images).batch(self.batch_size)
        model = self._feature_model(channels)
        features = model.predict(dataset.prefetch(2), verbose=self.verbose)
        return np.asarray(features, np.float32)

    # -- fitting and scoring -------------------------------------------------------

    def fit(self, images, y=None):
        """Extracts the features of normal images and fits the scorer on them.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1], normal
                data only, or a `tf.data.Dataset` of such batches.
            y: ignored (scikit-learn convention).

        Returns:
            self.

        Raises:
            ValueError: bad parameters or images.
        """
        self._check_params()
        return self.fit_features(self.extract_features(images))

    def fit_features(self, features):
        """Fits the scorer on features from `extract_features` (cached ones).

        Args:
            features: float32 `(n, feature_dim)`, normal data only. They are
                L2-normalised again here (a no-op for `extract_features`'s).

        Returns:
            self.
        """
        self._check_params()
        features = l2_normalize(check_features(features))
        self._check_n_train(len(features))
        self.n_features_in_ = features.shape[1]
        self.train_scores_ = np.asarray(self._fit_scorer(features), np.float32)
        self.threshold_ = float(np.quantile(self.train_scores_, 1.0 - self.contamination))
        return self

    def _check_n_train(self, n):
        if n < 2:
            raise ValueError(f"Expected at least 2 normal training images. Received {n}.")

    def _check_fitted(self):
        if not hasattr(self, "threshold_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' with normal images first.")

    def score_features(self, features):
        """Anomaly scores of features from `extract_features`; float32 `(n,)`."""
        self._check_fitted()
        features = l2_normalize(check_features(features, n_features=self.n_features_in_))
        return np.asarray(self._score(features), np.float32)

    def score_samples(self, images):
        """Anomaly scores of images; higher = more anomalous.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1], or a
                `tf.data.Dataset` of such batches.

        Returns:
            float32 array `(n,)`.

        Raises:
            NotFittedError: before `fit`.
            ValueError: bad images.
        """
        self._check_fitted()
        return self.score_features(self.extract_features(images))

    def predict(self, images):
        """1 for anomalies (score above `threshold_`), 0 for normal; int64 `(n,)`."""
        return (self.score_samples(images) > self.threshold_).astype(np.int64)

    def predict_features(self, features):
        """`predict` on features from `extract_features`; int64 `(n,)`."""
        return (self.score_features(features) > self.threshold_).astype(np.int64)

    # -- export --------------------------------------------------------------------

    def build_scoring_model(self, channels=3):
        """A functional `keras.Model`: images -> dict of `"scores"` float32
        `(batch,)` and `"is_anomaly"` int32 `(batch,)`.

        The input is float32 `(batch, height, width, channels)` in [0, 1] of
        any size; the normal-feature statistics (e.g. the kNN bank) are
        non-trainable weights inside the model.
        """
        import keras
        from keras import ops

        self._check_fitted()
        feature_model = self._feature_model(channels)
        images = keras.Input(shape=(None, None, feature_model.input_shape[-1]),
                             name="images")
        scores = self._scoring_layer()(feature_model(images))
        is_anomaly = ops.cast(ops.greater(scores, self.threshold_), "int32")
        return keras.Model(images, {"scores": scores, "is_anomaly": is_anomaly},
                           name="anomaly_detector")

    def export(self, path, overwrite=False, channels=3):
        """Exports one SavedModel scoring images.

        `obj = tf.saved_model.load(path); obj.serve(images)` (and the
        `serving_default` signature) return `{"scores": (batch,),
        "is_anomaly": (batch,)}` for float32 images `(batch, height, width,
        channels)` in [0, 1].

        Args:
            path: destination folder.
            overwrite: replace an existing folder.
            channels: input channels, when the detector was fitted on
                features only (otherwise fit's).

        Returns:
            `Path` of the SavedModel.

        Raises:
            NotFittedError: before `fit`.
            FileExistsError: `path` exists and `overwrite` is False.
        """
        return export_atomically(self.build_scoring_model(channels), path,
                                 overwrite=overwrite)
