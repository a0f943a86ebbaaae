"""What the domain-adaptation estimators share: input checks, the common
frame, tf.data pipelines, prediction, scoring and SavedModel export.

The inputs are images `(n, height, width, channels)` in [0, 1] or mono
waveforms `(n, samples)` in [-1, 1] (an `AudioDataset`, or rank-2 arrays
with an `AudioSpec`); the modality is read from the data and the same
estimators train the matching network (`network.build_network`).
"""


import keras
import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tfunsup import training
from tfunsup.adapt.augmentation import (
    AFFINE_ROTATION,
    AFFINE_SCALE,
    augment_source,
    augment_waveforms,
    resolve_augment,
)
from tfunsup.adapt.network import build_network
from tfunsup.adapt.preprocessing import frame_spec, to_common_frame
from tfunsup.data.audio import AudioDataset
from tfunsup.data.audio_spec import AudioSpec
from tfunsup.data.datasets import ImageDataset
from tfunsup.data.pipeline import make_dataset
from tfunsup.data.validation import check_images, check_labels, check_waveforms
from tfunsup.layers.to_image_spec import ToImageSpec
from tfunsup.utils.export import export_atomically


def check_source(source_images, source_labels, waveforms=False):
    """Validates labeled source data.

    Args:
        source_images: float32 `(n, height, width, channels)` in [0, 1], or
            an `ImageDataset` (its labels are used when `source_labels` is None);
            or mono waveforms float32 `(n, samples)` in [-1, 1], or an
            `AudioDataset` (decoded; its labels used likewise).
        source_labels: int `(n,)` class labels in `[0, n_classes)`.

        waveforms: bool; read arrays as waveforms `(n, samples)` (an
            `AudioDataset` always is). Otherwise arrays are images, and a
            rank-2 array is an error, as before audio existed.

    Returns:
        `(images, labels, n_classes)`.

    Raises:
        ValueError: bad images or labels, or fewer than two classes.
    """
    waveforms = waveforms or isinstance(source_images, AudioDataset)
    if isinstance(source_images, (ImageDataset, AudioDataset)):
        if source_labels is None:
            source_labels = source_images.labels
        source_images = _arrays(source_images)
    images = _check_arrays(source_images, "source_images", waveforms)
    if source_labels is None:
        raise ValueError("Expected source_labels: the source domain is labeled. Received: None")
    labels = check_labels(source_labels, len(images), name="source_labels")
    if labels.min() < 0:
        raise ValueError(f"Expected source_labels >= 0. Received: min={labels.min()}")
    n_classes = int(labels.max()) + 1
    if n_classes < 2:
        raise ValueError(
            f"Expected source_labels with at least 2 classes. Received: n_classes={n_classes}")
    return images, labels, n_classes


def check_target(target_images, target_labels=None, waveforms=False):
    """Validates unlabeled target data; target labels are refused.

    Args:
        target_images: float32 `(n, height, width, channels)` in [0, 1], or
            an `ImageDataset` without labels; or waveforms `(n, samples)`
            in [-1, 1], or an `AudioDataset` without labels.
        target_labels: must be None.
        waveforms: bool, as in `check_source`.

    Returns:
        float32 `(n, height, width, channels)` (or `(n, samples)`).

    Raises:
        ValueError: target labels were passed (as `target_labels`, an
            `ImageDataset` with labels, or an `(images, labels)` tuple), or
            bad images.
    """
    hint = ("Domain adaptation here is unsupervised: target labels never enter "
            "training. Evaluate with score(target_images, target_labels) after fit.")
    if target_labels is not None:
        raise ValueError(f"Expected target_labels=None. {hint} Received: target_labels "
                         f"of shape {np.shape(target_labels)}")
    waveforms = waveforms or isinstance(target_images, AudioDataset)
    if isinstance(target_images, (ImageDataset, AudioDataset)):
        if target_images.labels is not None:
            raise ValueError(f"Expected target_images without labels. {hint} Received: "
                             f"{_kind(target_images)} '{target_images.name}' with "
                             "labels; pass dataset.without_labels().")
        target_images = _arrays(target_images)
    if isinstance(target_images, tuple):
        raise ValueError(f"Expected target_images as one image array. {hint} Received: "
                         f"a tuple of {len(target_images)} items (images, labels?)")
    return _check_arrays(target_images, "target_images", waveforms)


def _check_arrays(x, name, waveforms):
    if waveforms:
        return check_waveforms(x, name=name)
    try:
        return check_images(x, name=name)
    except ValueError as error:
        if np.ndim(x) != 2:
            raise
        raise ValueError(f"{error}. For waveforms `(n, samples)` pass an AudioDataset or "
                         "image_spec=AudioSpec(n_samples, sample_rate).") from None


def _kind(dataset):
    return "AudioDataset" if isinstance(dataset, AudioDataset) else "ImageDataset"


def _arrays(dataset):
    return dataset.waveforms if isinstance(dataset, AudioDataset) else dataset.images


def uses_waveforms(image_spec, backbone, *data):
    """Whether a fit works on waveforms: an `AudioSpec`, a backbone over
    `(batch, samples)` or an `AudioDataset` among `data` says so."""
    from tfunsup.adapt.network import takes_waveforms

    return (isinstance(image_spec, AudioSpec) or takes_waveforms(backbone)
            or any(isinstance(d, AudioDataset) for d in data))


def data_input_spec(data):
    """The `AudioSpec` of an `AudioDataset` (length and sample rate of its
    waveforms), else None (images carry no spec of their own)."""
    if isinstance(data, AudioDataset):
        return AudioSpec(data.n_samples, data.sample_rate)
    return None


def check_class_labels(labels, n_classes, n_samples, name="labels"):
    """Validates evaluation labels against the model's `n_classes` classes.

    Returns:
        int64 `(n_samples,)`.

    Raises:
        ValueError: wrong length, or classes outside `[0, n_classes)`.
    """
    labels = check_labels(labels, n_samples, name=name)
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(
            f"Expected {name} in [0, {n_classes}) (the source classes). Received: {name} "
            f"in [{labels.min()}, {labels.max()}]")
    return labels


def resolve_jit_compile(jit_compile, strategy, deterministic=False):
    """`jit_compile` for `compile`: `tfunsup.training.resolve_jit_compile`
    with the adaptation flows' CPU rule (XLA measured slower on CPU)."""
    return training.resolve_jit_compile(jit_compile, strategy, deterministic=deterministic)


class BaseAdapter(BaseEstimator):
    """Base of the estimators `SourceOnly`, `DANN` and `SHOT`.

    Subclasses store their arguments in `__init__` (including `backbone`,
    `image_spec`, `weights`, `bottleneck_dim`, `batch_size`, `augment`,
    `seed` and `verbose`) and implement `fit`.
    """

    def _build_network(self, n_classes, backbone, image_spec, weights, bottleneck_dim,
                       data=None):
        """Builds the shared network (call inside the strategy scope).

        `data` (the fit's source or target data, before checking) supplies
        the `AudioSpec` of an `AudioDataset` when `image_spec` is None.
        """
        if image_spec is None:
            image_spec = data_input_spec(data)
        self.network_, self.image_spec_ = build_network(
            backbone, n_classes, image_spec=image_spec, weights=weights,
            bottleneck_dim=bottleneck_dim, seed=self.seed)
        self.n_classes_ = n_classes

    @property
    def feature_extractor_(self):
        """The adapted feature extractor: images in the frame -> features."""
        return self.network_.get_layer("feature_extractor")

    def _frame(self, images):
        return to_common_frame(images, self.image_spec_)

    def _batch_size(self, *sizes):
        return max(1, min(self.batch_size, *sizes))

    def _source_dataset(self, images, labels, batch_size):
        """Shuffled, repeated, augmented source batches of `(inputs, one_hot)`."""
        one_hot = np.eye(self.n_classes_, dtype=np.float32)[labels]
        dataset = make_dataset(images, labels=one_hot, batch_size=batch_size, shuffle=True,
                               seed=self.seed, cache=False, repeat=True, drop_remainder=True,
                               autotune=False)
        kind = resolve_augment(self.augment)
        if kind == "none":
            return dataset
        seed = 0 if self.seed is None else int(self.seed)
        if isinstance(self.image_spec_, AudioSpec):
            if kind != "standard":
                raise ValueError("Expected augment 'standard' or 'none' for waveforms. "
                                 f"Received: augment={self.augment!r}")

            def augment_audio(index, batch):
                x, y = batch
                return augment_waveforms(
                    x, tf.stack([tf.constant(seed, tf.int64), index])), y

            return dataset.enumerate().map(augment_audio).prefetch(2)
        max_dilation = 2 if kind == "stroke" else 0
        affine = ({"max_rotation": AFFINE_ROTATION, "max_scale": AFFINE_SCALE}
                  if kind == "affine" else {})

        def augment(index, batch):
            x, y = batch
            return augment_source(x, tf.stack([tf.constant(seed, tf.int64), index]),
                                  max_dilation=max_dilation, **affine), y

        return dataset.enumerate().map(augment).prefetch(2)

    def _target_dataset(self, images, batch_size, labels=None, seed_offset=1):
        """Shuffled, repeated target batches (images only, or with `labels`)."""
        seed = None if self.seed is None else self.seed + seed_offset
        return make_dataset(images, labels=labels, batch_size=batch_size, shuffle=True,
                            seed=seed, cache=False, repeat=True, drop_remainder=True,
                            autotune=False)

    def _fit_verbose(self):
        return 2 if self.verbose else 0

    def _record_history(self, history):
        for name, values in history.history.items():
            self.history_.setdefault(name, []).extend(float(v) for v in values)

    def _check_fitted(self):
        if not hasattr(self, "network_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' before using it.")

    def _check_new_images(self, images, name="images"):
        self._check_fitted()
        if isinstance(self.image_spec_, AudioSpec):
            return check_waveforms(images, name=name)
        return check_images(images, name=name)

    def _predict_framed(self, model, framed):
        # Plain batched calls: no `predict` function to trace per model and shape.
        batch_size = max(self.batch_size, 256)
        return np.concatenate([model(framed[i:i + batch_size], training=False).numpy()
                               for i in range(0, len(framed), batch_size)])

    def predict_proba(self, images):
        """Class probabilities of images from either domain.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1], any
                size (brought to the common frame, see
                `tfunsup.adapt.preprocessing.frame_spec`); or waveforms
                `(n, samples)` in [-1, 1] when fitted on waveforms (centred
                and padded/cropped to the network's length).

        Returns:
            float32 `(n, n_classes)`, rows summing to 1.
        """
        framed = self._frame(self._check_new_images(images))
        logits = self._predict_framed(self.network_, framed)
        return tf.nn.softmax(logits).numpy()

    def predict(self, images):
        """Class of each image: int64 `(n,)` in `[0, n_classes)`."""
        return np.argmax(self.predict_proba(images), axis=1).astype(np.int64)

    def transform(self, images):
        """Features of the (adapted) feature extractor: float32 `(n, bottleneck_dim)`."""
        framed = self._frame(self._check_new_images(images))
        return self._predict_framed(self.feature_extractor_, framed).astype(np.float32)

    def score(self, images, labels):
        """Classification accuracy, e.g. on the target domain.

        Labels are only compared with predictions here; they never reach
        `fit`.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1].
            labels: int `(n,)` true classes in `[0, n_classes)`.

        Returns:
            float in [0, 1].

        Raises:
            ValueError: labels of another length or outside the source classes.
        """
        images = self._check_new_images(images)
        labels = check_class_labels(labels, self.n_classes_, len(images))
        return float(np.mean(self.predict(images) == labels))

    def export_model(self, input_shape=None):
        """The deployable Keras model: images at `input_shape` -> probabilities.

        Args:
            input_shape: `(height, width, channels)` of the images it takes;
                default the target images' shape seen in `fit`. Ignored for
                waveforms: the model takes the network's `(n_samples,)`.

        Returns:
            A functional `keras.Model` with input `"images"` (float32 in
            [0, 1]) that frames the images (see `frame_spec`) and returns
            class probabilities `(batch, n_classes)`; fitted on waveforms,
            its input is `"waveforms"` `(batch, n_samples)` in [-1, 1].
        """
        self._check_fitted()
        if isinstance(self.image_spec_, AudioSpec):
            waveforms = keras.Input(shape=self.image_spec_.shape, name="waveforms")
            probabilities = keras.layers.Softmax(name="probabilities")(self.network_(waveforms))
            return keras.Model(waveforms, probabilities,
                               name=f"{type(self).__name__.lower()}_classifier")
        shape = tuple(input_shape or self.input_shape_)
        spec = frame_spec(shape, self.image_spec_)
        images = keras.Input(shape=shape, name="images")
        x = ToImageSpec(*spec.shape, spec.content_fraction, name="to_common_frame")(images)
        probabilities = keras.layers.Softmax(name="probabilities")(self.network_(x))
        return keras.Model(images, probabilities, name=f"{type(self).__name__.lower()}_classifier")

    def export(self, path, input_shape=None, overwrite=False):
        """Exports the adapted classifier as a SavedModel (`model.export`).

        Reload with `obj = tf.saved_model.load(path)`; `obj.serve(images)`
        returns the probabilities of `predict_proba` (keep `obj` referenced).

        Args:
            path: destination folder, written atomically.
            input_shape: see `export_model`.
            overwrite: replace an existing `path`.

        Returns:
            `Path` of the SavedModel.

        Raises:
            FileExistsError: `path` exists and `overwrite` is False.
        """
        return export_atomically(self.export_model(input_shape), path, overwrite=overwrite)
