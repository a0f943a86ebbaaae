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


def truncated_backbone(backbone, layer):
    """The backbone cut at inner layers, their outputs globally average-pooled.

    One layer gives its pooled output. Several layers give the
    concatenation of their pooled outputs, each L2-normalised first so that
    every level weighs the same: the multi-level features of Rippel,
    Mertens & Merhof (ICPR 2020), who fit a Gaussian to the features of
    several depths of an ImageNet network rather than of its last layer.

    Args:
        backbone: a `load_backbone` model wrapping a Keras functional model
            (a `keras:` application or an in-memory `keras.Model`).
        layer: name of a layer of that inner model, e.g.
            `"block_13_expand_relu"` of MobileNetV2, or a sequence of names.

    Returns:
        A functional `keras.Model` with the backbone's `image_spec`, mapping
        images to float32 `(batch, features)`.

    Raises:
        ValueError: no inner functional model has a layer of that name
            (e.g. a TF Hub or SavedModel backbone), or `layer` is empty.
    """
    import keras

    layers = [layer] if isinstance(layer, str) else list(layer)
    name = getattr(backbone, "spec_name", backbone.name)
    if not layers or not all(isinstance(n, str) for n in layers):
        raise ValueError(f"Expected layer to be a layer name or a non-empty sequence of "
                         f"names. Received: layer={layer!r}")
    for inner in backbone.layers:
        inner_names = [l.name for l in inner.layers] if isinstance(inner, keras.Model) else []
        if not set(layers) <= set(inner_names):
            continue
        trunk = keras.Model(inner.inputs, [inner.get_layer(n).output for n in layers],
                            name="to_" + "_and_".join(layers))
        images = keras.Input(shape=backbone.input_shape[1:], name="images")
        x = images
        for step in backbone.layers[1:]:
            if step is inner:
                outputs = trunk(x)
                break
            x = step(x)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        pooled = [keras.layers.GlobalAveragePooling2D(name=f"pool_{n}")(o) if len(o.shape) == 4
                  else o for n, o in zip(layers, outputs)]
        if len(pooled) == 1:
            x = pooled[0]
        else:
            x = keras.layers.Concatenate(name="levels")(
                [keras.ops.normalize(p, axis=-1, order=2) for p in pooled])
        model = keras.Model(images, x, name="backbone")
        model.image_spec = backbone.image_spec
        model.spec_name = f"{name},layer={'+'.join(layers)}"
        return model
    raise ValueError(f"Expected layer to name layers of a Keras functional backbone. "
                     f"Received: layer={layer!r}, not all found in backbone '{name}'.")


class FeatureAnomalyDetector(BaseEstimator):
    """Base of detectors that score images in a frozen backbone's feature space.

    A subclass implements `_fit_scorer(features)` (returns the scores of the
    training features, computed so that a training image does not count as
    its own neighbour), `_score(features)` and `_scoring_layer()` (a Keras
    layer mapping features to scores inside an exported model); it may
    override `_check_input_features` (default: check and L2-normalise) when
    its "features" are something else, e.g. PANDA's cached maps. This class
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
        layer: None for the backbone's output features, the name of an
            inner layer whose globally average-pooled output is used, or a
            sequence of names whose pooled, L2-normalised outputs are
            concatenated (Keras functional backbones only; see
            `truncated_backbone`).
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
        """The images -> unit-norm features model for `channels`-channel input
        (built once per channel count; every image size is accepted)."""
        import dataclasses

        import keras

        from tfunsup.backbones import flip_averaged, load_backbone
        from tfunsup.layers import ToImageSpec

        models = self.__dict__.setdefault("_feature_models", {})
        if channels in models:
            return models[channels]
        if "_backbone" not in self.__dict__:
            backbone = load_backbone(self.backbone, image_size=self.image_size)
            self._backbone = (backbone if self.layer is None
                              else truncated_backbone(backbone, self.layer))
        backbone = flip_averaged(self._backbone) if self.flip_average else self._backbone
        images = keras.Input(shape=(None, None, channels), name="images")
        x = ToImageSpec(**dataclasses.asdict(backbone.image_spec), name="to_image_spec")(images)
        features = keras.ops.normalize(backbone(x, training=False), axis=-1, order=2)
        models[channels] = keras.Model(images, features, name="feature_model")
        return models[channels]

    # The parameters that define the feature model (`share_feature_model`).
    _shared_parameters = ("backbone", "image_size", "layer", "flip_average")

    def share_feature_model(self, other):
        """Reuses `other`'s loaded backbone and feature models (same
        `backbone`, `image_size`, `layer` and `flip_average`), e.g. one
        detector per class over one cached feature extraction. Returns self."""
        for name in self._shared_parameters:
            if getattr(self, name) != getattr(other, name):
                raise ValueError(f"Cannot share feature models: {name} differs "
                                 f"({getattr(self, name)!r} vs {getattr(other, name)!r}).")
        other._feature_model(3)
        self._backbone = other._backbone
        self._feature_models = other._feature_models
        return self

    @property
    def image_spec(self):
        """The backbone's `ImageSpec` (images are brought to it inside)."""
        self._feature_model(3)
        return self._backbone.image_spec

    def extract_dataset_features(self, dataset):
        """Streams a `tfunsup.data` dataset (a folder's `FileDataset` or an
        `ArrayDataset`) through the data layer's pipeline and the feature
        model; unreadable files are skipped and listed.

        Args:
            dataset: `tfunsup.data.FileDataset` or `ArrayDataset`.

        Returns:
            `tfunsup.data.Features`: unit-norm `features` of the readable
            items, their positions `index` and the `skipped` item ids.

        Raises:
            ValueError: no readable item.
        """
        from tfunsup.data import extract_features

        self._check_params()
        spec = self.image_spec
        name = getattr(self._backbone, "spec_name", str(self.backbone))
        return extract_features(self._feature_model(spec.channels), dataset, spec=spec,
                                backbone_name=f"{name},flip_average={self.flip_average}",
                                batch_size=self.batch_size, verbose=self.verbose)

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
        self._last_channels = channels
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
        self.fit_features(self.extract_features(images))
        self.n_channels_ = self._last_channels
        return self

    def fit_features(self, features):
        """Fits the scorer on features from `extract_features` (cached ones).

        Args:
            features: float32 `(n, feature_dim)`, normal data only. They are
                L2-normalised again here (a no-op for `extract_features`'s).

        Returns:
            self.
        """
        self._check_params()
        features = self._check_input_features(features)
        self._check_n_train(len(features))
        self.n_features_in_ = features.shape[1]
        self.train_scores_ = np.asarray(self._fit_scorer(features), np.float32)
        self.threshold_ = float(np.quantile(self.train_scores_, 1.0 - self.contamination))
        return self

    def _check_input_features(self, features, n_features=None):
        """Checked, L2-normalised float32 features (`check_features`)."""
        return l2_normalize(check_features(features, n_features=n_features))

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
        features = self._check_input_features(features, n_features=self.n_features_in_)
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

    def build_scoring_model(self, channels=None):
        """A functional `keras.Model`: images -> dict of `"scores"` float32
        `(batch,)` and `"is_anomaly"` int32 `(batch,)`.

        The input is float32 `(batch, height, width, channels)` in [0, 1] of
        any size; the normal-feature statistics (e.g. the kNN bank) are
        non-trainable weights inside the model.
        """
        import keras
        from keras import ops

        self._check_fitted()
        channels = channels or getattr(self, "n_channels_", 3)
        feature_model = self._feature_model(channels)
        images = keras.Input(shape=(None, None, channels), name="images")
        scores = self._scoring_layer()(feature_model(images))
        is_anomaly = ops.cast(ops.greater(scores, self.threshold_), "int32")
        return keras.Model(images, {"scores": scores, "is_anomaly": is_anomaly},
                           name="anomaly_detector")

    def export(self, path, overwrite=False, channels=None):
        """Exports one SavedModel scoring images.

        `obj = tf.saved_model.load(path); obj.serve(images)` (and the
        `serving_default` signature) return `{"scores": (batch,),
        "is_anomaly": (batch,)}` for float32 images `(batch, height, width,
        channels)` in [0, 1].

        Args:
            path: destination folder.
            overwrite: replace an existing folder.
            channels: input channels; default those of the images
                `extract_features` saw first, else 3.

        Returns:
            `Path` of the SavedModel.

        Raises:
            NotFittedError: before `fit`.
            FileExistsError: `path` exists and `overwrite` is False.
        """
        return export_atomically(self.build_scoring_model(channels), path,
                                 overwrite=overwrite)
