"""Source -> target transfer as a scikit-learn-style classifier."""

from pathlib import Path

import keras
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tfunsup.data.pipeline import make_dataset
from tfunsup.data.validation import check_images, check_labels
from tfunsup.training import (
    check_fit_params,
    op_determinism,
    resolve_jit_compile,
    training_callbacks,
)
from tfunsup.transfer.target_model import (
    build_target_model,
    set_trainable,
    unfreeze_top,
)
from tfunsup.utils.export import export_atomically
from tfunsup.utils.reproducibility import get_strategy, set_seed


class TransferClassifier(BaseEstimator):
    """Trains a target classifier on a source model's shared layers, then fine-tunes.

    `fit(images, labels)` follows the Keras transfer-learning recipe:

    1. build the target model (`build_target_model`): the source model's
       shared layers, frozen, plus new task-specific layers;
    2. train the task-specific layers for `head_epochs` (with an empty
       `head_units`, a linear probe);
    3. if `fine_tune_epochs` > 0, unfreeze the top `fine_tune_layers` of the
       shared part (None: all of it) and train everything with the lower
       `fine_tune_learning_rate`.

    Args:
        backbone: backbone spec (TF Hub handle, SavedModel folder,
            `keras:<Application>`, or a `keras.Model`, which is cloned).
        shared_layers: int or None, first layers of a `keras.Model` backbone
            to reuse (None: all).
        head_units: hidden sizes of the task-specific head.
        dropout: float in [0, 1), dropout in the head.
        head_epochs: int >= 0, epochs of step 2.
        head_learning_rate: float > 0, Adam learning rate of step 2.
        fine_tune_epochs: int >= 0, epochs of step 3 (0 skips it).
        fine_tune_layers: int or None, top layers to unfreeze in step 3.
        fine_tune_learning_rate: float > 0, Adam learning rate of step 3.
        scratch: re-initialise the backbone's weights and train everything
            from the start (the from-scratch baseline with the identical
            architecture); only for `keras.Model` backbones.
        batch_size: int >= 1.
        image_size: backbone input `(height, width)`, None for its own.
        weights: `"imagenet"` or None, for `keras:` backbones.
        jit_compile: True, False or `"auto"` (XLA on a GPU/TPU; see
            `tfunsup.training.resolve_jit_compile`).
        backup_dir: folder for `BackupAndRestore` (per phase), or None.
        seed: int or None; seeds the new layers' weights and the shuffling.
        deterministic: bool; TensorFlow op determinism during `fit` (bit-
            identical reruns on CPU with a seed, no XLA), restored afterwards.
        strategy: `tf.distribute.Strategy`; default the current one.
        verbose: Keras verbosity.

    Attributes (after `fit`):
        model_: the target `keras.Model`, images -> `(batch, n_classes)`.
        shared_: the shared-layers model inside it.
        classes_: int array of the class labels (output index -> label).
        history_: dict `{"head": {...}, "fine_tune": {...}}` of Keras
            histories.

    Reference:
        Chollet. Transfer learning & fine-tuning (keras.io guide, 2020).
    """

    def __init__(self, backbone, *, shared_layers=None, head_units=(), dropout=0.0,
                 head_epochs=10, head_learning_rate=1e-3, fine_tune_epochs=0,
                 fine_tune_layers=None, fine_tune_learning_rate=1e-4, scratch=False,
                 batch_size=64, image_size=None, weights="imagenet", jit_compile="auto",
                 backup_dir=None, seed=None, deterministic=False, strategy=None, verbose=0):
        self.backbone = backbone
        self.shared_layers = shared_layers
        self.head_units = head_units
        self.dropout = dropout
        self.head_epochs = head_epochs
        self.head_learning_rate = head_learning_rate
        self.fine_tune_epochs = fine_tune_epochs
        self.fine_tune_layers = fine_tune_layers
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.scratch = scratch
        self.batch_size = batch_size
        self.image_size = image_size
        self.weights = weights
        self.jit_compile = jit_compile
        self.backup_dir = backup_dir
        self.seed = seed
        self.deterministic = deterministic
        self.strategy = strategy
        self.verbose = verbose

    def _check_params(self):
        check_fit_params(epochs=self.head_epochs, batch_size=self.batch_size,
                         head_learning_rate=self.head_learning_rate,
                         fine_tune_learning_rate=self.fine_tune_learning_rate)
        check_fit_params(epochs=self.fine_tune_epochs)
        if self.scratch:
            if not isinstance(self.backbone, keras.Model):
                raise ValueError("scratch=True needs a keras.Model backbone (its "
                                 f"architecture is re-initialised). Received: {self.backbone!r}")

    def fit(self, images, labels):
        """Trains the target model on labeled target images.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1].
            labels: int `(n,)` class labels (at least 2 classes).

        Returns:
            self.

        Raises:
            ValueError: bad parameters or data.
        """
        self._check_params()
        images = check_images(images, name="images")
        labels = check_labels(labels, len(images))
        classes, targets = np.unique(labels, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"Expected labels of at least 2 classes. Received: {classes}")
        strategy = get_strategy(self.strategy)
        jit_compile = resolve_jit_compile(self.jit_compile, strategy,
                                          deterministic=self.deterministic)
        set_seed(self.seed)
        with op_determinism(self.deterministic):
            model, shared, history = self._fit(images, targets, len(classes), strategy,
                                               jit_compile)
        self.model_ = model
        self.shared_ = shared
        self.classes_ = classes
        self.image_shape_ = tuple(images.shape[1:])
        self.history_ = history
        return self

    def _fit(self, images, targets, n_classes, strategy, jit_compile):
        """Builds and trains the target model; returns `(model, shared, history)`."""
        backbone = self.backbone
        with strategy.scope():
            if self.scratch:
                backbone = keras.models.clone_model(backbone)  # fresh initial weights
            model, shared = build_target_model(
                backbone, n_classes, shared_layers=self.shared_layers,
                head_units=self.head_units, dropout=self.dropout,
                input_shape=images.shape[1:], image_size=self.image_size,
                weights=self.weights, seed=self.seed)
            if self.scratch:
                set_trainable(shared, True)
            model.compile(optimizer=keras.optimizers.Adam(self.head_learning_rate),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                          jit_compile=jit_compile)
        dataset = make_dataset(images, labels=targets.astype(np.int64),
                               batch_size=self.batch_size, shuffle=True, seed=self.seed,
                               autotune=False)
        history = {}
        history["head"] = self._fit_phase(model, dataset, self.head_epochs, "head")
        if self.fine_tune_epochs > 0:
            with strategy.scope():
                if not self.scratch:
                    unfreeze_top(shared, self.fine_tune_layers)
                model.compile(optimizer=keras.optimizers.Adam(self.fine_tune_learning_rate),
                              loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                              jit_compile=jit_compile)
            history["fine_tune"] = self._fit_phase(model, dataset, self.fine_tune_epochs,
                                                   "fine_tune")
        return model, shared, history

    def _fit_phase(self, model, dataset, epochs, name):
        if epochs == 0:
            return {}
        backup = None if self.backup_dir is None else Path(self.backup_dir) / name
        result = model.fit(dataset, epochs=epochs, verbose=self.verbose,
                           shuffle=False, callbacks=training_callbacks(backup))
        return {k: [float(v) for v in vs] for k, vs in result.history.items()}

    def _checked(self, images):
        if not hasattr(self, "model_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' before using it.")
        images = check_images(images, name="images")
        if tuple(images.shape[1:]) != self.image_shape_:
            raise ValueError(
                f"Expected images of shape (n, {', '.join(map(str, self.image_shape_))}) "
                f"as in fit. Received shape={images.shape}")
        return images

    def predict_proba(self, images):
        """Class probabilities, float32 `(n, n_classes)` (columns: `classes_`)."""
        images = self._checked(images)
        return self.model_.predict(images, batch_size=256, verbose=0)

    def predict(self, images):
        """Predicted class labels, int `(n,)`."""
        probabilities = self.predict_proba(images)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def score(self, images, labels):
        """Accuracy of `predict(images)` against `labels`, a float in [0, 1]."""
        predictions = self.predict(images)
        labels = check_labels(labels, len(predictions))
        return float(np.mean(predictions == labels))

    def export(self, path, overwrite=False):
        """Exports the target model as a SavedModel (`serve`: images -> probabilities).

        Raises:
            FileExistsError: `path` exists and `overwrite` is False.
        """
        self._checked(np.zeros((1, *self.image_shape_), np.float32))
        return export_atomically(self.model_, path, overwrite=overwrite)
