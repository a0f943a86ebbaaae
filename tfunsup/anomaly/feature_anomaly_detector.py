"""Anomaly detection in a pretrained backbone's feature space: the shared base."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tfunsup.anomaly.reconstruction_anomaly_detector import check_contamination
from tfunsup.data.validation import check_images, check_texts
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
            (e.g. a TF Hub or SavedModel backbone; the message of
            `tfunsup.backbones.inner_layers.find_inner_model`), or `layer`
            is empty.
    """
    import keras

    from tfunsup.backbones.inner_layers import call_through, find_inner_model, layer_names

    layers = layer_names(layer)
    inner = find_inner_model(backbone, layers, received={"layer": layer})
    trunk = keras.Model(inner.inputs, [inner.get_layer(n).output for n in layers],
                        name="to_" + "_and_".join(layers))
    images, outputs = call_through(backbone, inner, trunk)
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
    model.spec_name = f"{getattr(backbone, 'spec_name', backbone.name)},layer={'+'.join(layers)}"
    return model


class FeatureAnomalyDetector(BaseEstimator):
    """Base of detectors that score images or texts in a frozen backbone's feature space.

    A subclass implements `_fit_scorer(features)` (returns the scores of the
    training features, computed so that a training image does not count as
    its own neighbour), `_score(features)` and `_scoring_layer()` (a Keras
    layer mapping features to scores inside an exported model); it may
    override `_check_input_features` (default: check and L2-normalise) when
    its "features" are something else, e.g. PANDA's cached maps. This class
    does the rest: the feature model (images -> `ToImageSpec` -> backbone,
    optionally averaged with the horizontally flipped image -> L2
    normalisation; or, when the backbone is a text encoder, strings ->
    encoder -> L2 normalisation), the threshold from `contamination`,
    `predict` and the SavedModel export.

    Texts take the same road as images: a text encoder as `backbone` (a
    keras-hub preset such as all-MiniLM-L6-v2, or a TF Hub SavedModel taking
    strings) makes `fit`, `score_samples` and `predict` take lists of `str`,
    `extract_dataset_features` a `tfunsup.data.text.TextDataset`, and the
    exported SavedModel a string tensor `(batch,)`.

    Subclasses store their arguments in `__init__` only (scikit-learn
    convention). The arguments below are shared by the subclasses and are
    documented here once; each subclass documents its own ones (e.g.
    `n_neighbors`) and says which of these it takes.

    Args:
        backbone: any `tfunsup.backbones.load_backbone` spec, e.g.
            `"keras:MobileNetV2"` (the subclasses' default, ImageNet
            MobileNetV2-1.0), a TF Hub URL, a SavedModel folder or a
            `keras.Model`; or a text encoder spec (a keras-hub preset folder,
            `hf://...`, or a SavedModel taking strings).
        image_size: `(height, width)` of the backbone input, or None for the
            spec's own (224 x 224 for Keras Applications). Images only.
        layer: None for the backbone's output features, the name of an
            inner layer whose pooled output is used (e.g.
            `"block_13_expand_relu"`), or a sequence of names whose pooled,
            L2-normalised outputs are concatenated (Keras functional image
            backbones, see `truncated_backbone`; keras-hub text encoders,
            e.g. `"transformer_layer_3"`, see
            `tfunsup.backbones.text_encoder.truncated_text_encoder`).
        flip_average: average each image's features with those of its
            horizontal mirror image (test-time augmentation). Texts have no
            mirror image: ignored for a text encoder.
        sequence_length: int >= 8 or None; tokens per text of a keras-hub
            text encoder (None: `tfunsup.backbones.defaults.TEXT_SEQUENCE_LENGTH`).
            Texts only.
        pooling: `"mean"` or `"cls"`: how the outputs of each `layer` become
            one vector: global average pooling of image maps or the masked
            mean over a text's tokens, or a text's first-token state.
        contamination: float in (0, 0.5], the share of training images
            expected above `threshold_`.
        batch_size: int >= 1, images (or texts) per backbone call.
        verbose: Keras verbosity of the feature extraction.

    Attributes (after `fit`):
        train_scores_: float32 `(n_train,)` scores of the training features,
            each computed without that item (leave-one-out or cross-fitted).
        threshold_: float, the `1 - contamination` quantile of
            `train_scores_`; `predict` flags scores above it.
    """

    def _check_params(self):
        from tfunsup.backbones.text_encoder import POOLING_MODES

        check_contamination(self.contamination)
        if isinstance(self.batch_size, bool) or not isinstance(
                self.batch_size, numbers.Integral) or self.batch_size < 1:
            raise ValueError(
                f"Expected batch_size >= 1. Received: batch_size={self.batch_size!r}")
        sequence_length, pooling = self._text_options()
        if sequence_length is not None and (
                isinstance(sequence_length, bool) or not isinstance(
                    sequence_length, numbers.Integral) or sequence_length < 8):
            raise ValueError(f"Expected sequence_length >= 8 or None. "
                             f"Received: sequence_length={sequence_length!r}")
        if pooling not in POOLING_MODES:
            raise ValueError(f"Expected pooling in {POOLING_MODES}. Received: pooling={pooling!r}")

    def _text_options(self):
        """`(sequence_length, pooling)`; `(None, "mean")` for subclasses
        without these parameters (images only, e.g. PANDA)."""
        return getattr(self, "sequence_length", None), getattr(self, "pooling", "mean")

    # -- features ----------------------------------------------------------------

    def _load_backbone(self):
        """Loads the backbone once, cut at `layer` when given (`truncated_backbone`
        for images, `truncated_text_encoder` for texts)."""
        if "_backbone" in self.__dict__:
            return self._backbone
        from tfunsup.backbones import load_backbone
        from tfunsup.backbones.defaults import TEXT_SEQUENCE_LENGTH
        from tfunsup.backbones.text_encoder import truncated_text_encoder

        sequence_length, pooling = self._text_options()
        backbone = load_backbone(self.backbone, image_size=self.image_size,
                                 sequence_length=sequence_length or TEXT_SEQUENCE_LENGTH)
        name = getattr(backbone, "spec_name", str(self.backbone))
        if getattr(backbone, "modality", None) == "text":
            if self.image_size is not None:
                raise ValueError(f"image_size applies to images. Received: "
                                 f"image_size={self.image_size!r} with text encoder '{name}'")
            if self.layer is None and pooling != "mean":
                raise ValueError(f"pooling applies to the outputs of `layer`. Received: "
                                 f"pooling={pooling!r} with layer=None (the encoder's "
                                 "own pooled output)")
            self._backbone = (backbone if self.layer is None
                              else truncated_text_encoder(backbone, self.layer, pooling))
        else:
            if sequence_length is not None or pooling != "mean":
                raise ValueError(f"sequence_length and pooling='cls' apply to text encoders. "
                                 f"Received: sequence_length={sequence_length!r}, "
                                 f"pooling={pooling!r} with image backbone '{name}'")
            self._backbone = (backbone if self.layer is None
                              else truncated_backbone(backbone, self.layer))
        return self._backbone

    @property
    def modality(self):
        """`"text"` when the backbone is a text encoder, else `"image"` (loads it)."""
        self._feature_model(3)
        return "text" if getattr(self._backbone, "modality", None) == "text" else "image"

    def _feature_model(self, channels):
        """The images -> unit-norm features model for `channels`-channel input
        (built once per channel count; every image size is accepted); for a
        text encoder the strings -> unit-norm features model (`channels`
        ignored)."""
        import dataclasses

        import keras

        from tfunsup.backbones import flip_averaged
        from tfunsup.layers import ToImageSpec

        models = self.__dict__.setdefault("_feature_models", {})
        backbone = self._load_backbone()
        if getattr(backbone, "modality", None) == "text":
            if "text" not in models:
                texts = keras.Input(shape=(), dtype="string", name="texts")
                features = keras.ops.normalize(backbone(texts, training=False), axis=-1,
                                               order=2)
                models["text"] = keras.Model(texts, features, name="feature_model")
            return models["text"]
        if channels in models:
            return models[channels]
        backbone = flip_averaged(backbone) if self.flip_average else backbone
        images = keras.Input(shape=(None, None, channels), name="images")
        x = ToImageSpec(**dataclasses.asdict(backbone.image_spec), name="to_image_spec")(images)
        features = keras.ops.normalize(backbone(x, training=False), axis=-1, order=2)
        models[channels] = keras.Model(images, features, name="feature_model")
        return models[channels]

    # The parameters that define the feature model (`share_feature_model`).
    _shared_parameters = ("backbone", "image_size", "layer", "flip_average", "sequence_length",
                          "pooling")

    def share_feature_model(self, other):
        """Reuses `other`'s loaded backbone and feature models (same
        `backbone`, `image_size`, `layer`, `flip_average` and, for texts,
        `sequence_length` and `pooling`), e.g. one detector per class over
        one cached feature extraction. Returns self."""
        for name in self._shared_parameters:
            if getattr(self, name, None) != getattr(other, name, None):
                raise ValueError(f"Cannot share feature models: {name} differs "
                                 f"({getattr(self, name)!r} vs {getattr(other, name)!r}).")
        other._feature_model(3)
        self._backbone = other._backbone
        self._feature_models = other._feature_models
        return self

    @property
    def image_spec(self):
        """The backbone's `ImageSpec` (images are brought to it inside);
        None for a text encoder."""
        self._feature_model(3)
        return self._backbone.image_spec

    def extract_dataset_features(self, dataset, cache_dir=None):
        """Streams a `tfunsup.data` dataset (a folder's `FileDataset` or an
        `ArrayDataset`) through the data layer's pipeline and the feature
        model; unreadable files are skipped and listed. A `TextDataset` goes
        through the text encoder (`tfunsup.data.extract_features`: batches
        padded to their longest text, embeddings cached in `cache_dir`).

        Args:
            dataset: `tfunsup.data.FileDataset`, `ArrayDataset`, or
                `tfunsup.data.text.TextDataset` with a text encoder.
            cache_dir: folder of the text-embedding cache (texts only; None:
                no cache).

        Returns:
            `tfunsup.data.Features`: `features` of the readable items
            (unit-norm for images; `fit_features` / `score_features`
            normalise them), their positions `index` and the `skipped` item
            ids.

        Raises:
            ValueError: no readable item; texts with an image backbone or the
                reverse; `cache_dir` with images.
        """
        from tfunsup.data import extract_features
        from tfunsup.data.text import TextDataset

        self._check_params()
        if self.modality == "text" or isinstance(dataset, TextDataset):
            return extract_features(self._backbone, dataset, batch_size=self.batch_size,
                                    cache_dir=cache_dir, verbose=self.verbose)
        if cache_dir is not None:
            raise ValueError("cache_dir applies to texts (image features: "
                             "tfunsup.data.save_features). Received: "
                             f"cache_dir={cache_dir!r} with images")
        spec = self.image_spec
        name = getattr(self._backbone, "spec_name", str(self.backbone))
        return extract_features(self._feature_model(spec.channels), dataset, spec=spec,
                                backbone_name=f"{name},flip_average={self.flip_average}",
                                batch_size=self.batch_size, verbose=self.verbose)

    def extract_features(self, images):
        """L2-normalised backbone features of images (flip-averaged if set),
        or of texts with a text encoder.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1] (any
                size; they are resized to the backbone input), or a
                `tf.data.Dataset` of such batches; with a text encoder a
                list or 1-D array of `str`.

        Returns:
            float32 array `(n, feature_dim)` of unit-norm rows.

        Raises:
            ValueError: bad images or texts, or a channel count unlike fit's.
        """
        import tensorflow as tf

        self._check_params()
        if self.modality == "text":
            from tfunsup.backbones.text_encoder import encode_texts

            texts = check_texts(images, name="texts")
            self._last_channels = None
            return l2_normalize(encode_texts(self._backbone, list(texts),
                                             batch_size=self.batch_size,
                                             verbose=bool(self.verbose)))
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
        """Extracts the features of normal images (or texts) and fits the scorer on them.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1], normal
                data only, or a `tf.data.Dataset` of such batches; with a
                text encoder a list or 1-D array of `str`.
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
        """Anomaly scores of images (or texts); higher = more anomalous.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1], or a
                `tf.data.Dataset` of such batches; with a text encoder a
                list or 1-D array of `str`.

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
        any size, or with a text encoder a string tensor `(batch,)`; the
        normal-feature statistics (e.g. the kNN bank) are non-trainable
        weights inside the model.
        """
        import keras
        from keras import ops

        self._check_fitted()
        channels = channels or getattr(self, "n_channels_", None) or 3
        feature_model = self._feature_model(channels)
        if self.modality == "text":
            images = keras.Input(shape=(), dtype="string", name="texts")
        else:
            images = keras.Input(shape=(None, None, channels), name="images")
        scores = self._scoring_layer()(feature_model(images))
        is_anomaly = ops.cast(ops.greater(scores, self.threshold_), "int32")
        return keras.Model(images, {"scores": scores, "is_anomaly": is_anomaly},
                           name="anomaly_detector")

    def export(self, path, overwrite=False, channels=None):
        """Exports one SavedModel scoring images (or texts).

        `obj = tf.saved_model.load(path); obj.serve(images)` (and the
        `serving_default` signature) return `{"scores": (batch,),
        "is_anomaly": (batch,)}` for float32 images `(batch, height, width,
        channels)` in [0, 1], or with a text encoder for a string tensor
        `(batch,)`.

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
