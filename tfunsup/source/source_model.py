"""Our transfer-learning source: a small CNN trained on labeled MNIST-5k.

Its feature extractor is exported as a TF Hub-style feature-vector
SavedModel (a callable object with `variables`, `trainable_variables` and a
`training` argument, as tfhub.dev TF2 models are), and is loaded back through
`tfunsup.backbones.load_backbone` like any hub handle.
"""

import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfunsup.backbones.small_cnn import build_small_cnn
from tfunsup.data.image_spec import ImageSpec
from tfunsup.data.pipeline import make_dataset
from tfunsup.data.validation import check_images, check_labels
from tfunsup.layers.random_low_resolution import RandomLowResolution
from tfunsup.training import op_determinism
from tfunsup.utils.export import atomic_directory, export_atomically
from tfunsup.utils.reproducibility import get_strategy, set_seed

SOURCE_MODEL_NAME = "mnist5k_source"
# MNIST centres a 20x20 digit in a 28x28 frame.
MNIST_IMAGE_SPEC = ImageSpec(28, 28, channels=1, content_fraction=20 / 28)


def default_saved_models_dir():
    """`$TFUNSUP_SAVED_MODELS`, else `saved_models/` of the source checkout
    (editable install), else `~/.cache/tfunsup/saved_models`."""
    if os.environ.get("TFUNSUP_SAVED_MODELS"):
        return Path(os.environ["TFUNSUP_SAVED_MODELS"])
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file():
        return root / "saved_models"
    return Path.home() / ".cache" / "tfunsup" / "saved_models"


def default_source_model_path():
    """Where the MNIST-5k source feature extractor lives by default."""
    return default_saved_models_dir() / SOURCE_MODEL_NAME


def build_source_cnn(input_shape=(28, 28, 1), n_classes=10, feature_dim=128,
                     low_resolution_rate=0.5, seed=None):
    """Builds the source CNN: `build_small_cnn` features -> dropout -> softmax.

    Args:
        input_shape: `(height, width, channels)`.
        n_classes: int >= 2.
        feature_dim: int >= 1, size of the feature layer.
        low_resolution_rate: probability of `RandomLowResolution`
            augmentation in training (0 disables it).
        seed: int seed of the augmentation.

    Returns:
        `(classifier, feature_extractor)`: two functional models sharing
        weights; the classifier outputs class probabilities `(batch,
        n_classes)`, the feature extractor ReLU features `(batch, feature_dim)`.
    """
    feature_extractor = build_small_cnn(input_shape, feature_dim, seed=seed,
                                        name="source_features")

    # Augmentation stays outside the feature extractor, so exports hold none.
    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    if low_resolution_rate > 0:
        x = RandomLowResolution(factor=0.4, rate=low_resolution_rate, seed=seed)(x)
    x = keras.layers.Dropout(0.3, seed=seed)(feature_extractor(x))
    probabilities = keras.layers.Dense(n_classes, activation="softmax", name="classes")(x)
    classifier = keras.Model(inputs, probabilities, name="source_classifier")
    return classifier, feature_extractor


def train_source_model(images, labels, *, epochs=8, batch_size=128, seed=0,
                       deterministic=False, low_resolution_rate=0.5, strategy=None,
                       verbose=0):
    """Trains the source CNN on labeled source images.

    Args:
        images: float32 `(n, 28, 28, 1)` in [0, 1].
        labels: int `(n,)` class labels.
        epochs, batch_size: training budget.
        seed: int, seeds the weights and the shuffling.
        deterministic: bool; TensorFlow op determinism during training, so a
            seeded run repeats bit for bit on CPU (restored afterwards).
        low_resolution_rate: see `build_source_cnn`.
        strategy: `tf.distribute.Strategy`; default the current one.
        verbose: Keras verbosity.

    Returns:
        `(classifier, feature_extractor)` as from `build_source_cnn`, trained.
    """
    images = check_images(images, name="images")
    labels = check_labels(labels, len(images))
    set_seed(seed)
    order = np.random.default_rng(seed).permutation(len(images))  # MNIST-5k is sorted
    n_classes = int(labels.max()) + 1
    with op_determinism(deterministic):
        with get_strategy(strategy).scope():
            classifier, features = build_source_cnn(images.shape[1:], n_classes,
                                                    low_resolution_rate=low_resolution_rate,
                                                    seed=seed)
            classifier.compile(optimizer=keras.optimizers.Adam(1e-3),
                               loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        dataset = make_dataset(images[order], labels=labels[order], batch_size=batch_size,
                               shuffle=True, seed=seed, autotune=False)
        classifier.fit(dataset, epochs=epochs, verbose=verbose, shuffle=False)
    return classifier, features


def _feature_vector_object(model, input_shape):
    """TF Hub TF2 feature-vector interface around a Keras feature extractor:
    a trackable object with `__call__(images, training)`, `variables`,
    `trainable_variables` and `regularization_losses`."""

    @tf.function
    def call(images, training=False):
        return model(images, training=training)

    # One concrete function per Python bool, as TF Hub models are saved: no
    # tf.cond on `training`, so the call also compiles under XLA.
    spec = tf.TensorSpec((None, *input_shape), tf.float32, name="images")
    for training in (False, True):
        call.get_concrete_function(spec, training)

    # Only the `tf.Variable`s the call captures are tracked: tracking the
    # Keras model too would write every weight a second time, through its
    # `keras.Variable` wrappers (see `tfunsup.utils.export`).
    obj = tf.train.Checkpoint()
    obj.variables = [v.value for v in model.variables]
    obj.trainable_variables = [v.value for v in model.trainable_variables]
    obj.regularization_losses = []
    obj.__call__ = call
    return obj


def export_feature_vector(feature_extractor, path, image_spec=MNIST_IMAGE_SPEC,
                          overwrite=False):
    """Exports a Keras feature extractor as a TF Hub-style SavedModel.

    The SavedModel is a callable object `obj(images, training=False)` mapping
    float32 `(batch, h, w, c)` images in [0, 1] to `(batch, feature_dim)`,
    with `variables`, `trainable_variables` and `regularization_losses`, and
    an `image_spec.json` for its input size and framing. Written atomically.

    Args:
        feature_extractor: `keras.Model` from images to features.
        path: destination folder.
        image_spec: `ImageSpec` of the model's input.
        overwrite: replace an existing `path`.

    Returns:
        `Path` of the SavedModel.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
    """
    with atomic_directory(path, overwrite) as staging:
        tf.saved_model.save(_feature_vector_object(feature_extractor, image_spec.shape),
                            str(staging))
        image_spec.save(staging)
    return Path(path)


SOURCE_CLASSIFIER_NAME = "mnist5k_classifier"


def ensure_source_model(path=None, *, epochs=8, seed=0, deterministic=True, verbose=0):
    """Returns the MNIST-5k source feature-vector SavedModel, training it when absent.

    Training also exports the full source classifier (probabilities over the
    10 digits, a Keras `model.export()`) beside it as `mnist5k_classifier/`,
    used e.g. for the classifier Inception Score of generated digits.

    Args:
        path: SavedModel folder; default `default_source_model_path()`.
        epochs, seed, deterministic, verbose: as in `train_source_model`
            (deterministic by default: the same seed gives the same shared
            artifact bit for bit on CPU).

    Returns:
        `Path` to a feature-vector SavedModel usable as a backbone spec.
    """
    from tfunsup.data.datasets import load_dataset

    path = Path(path) if path is not None else default_source_model_path()
    classifier_path = path.parent / SOURCE_CLASSIFIER_NAME
    if (path / "saved_model.pb").is_file() and (classifier_path / "saved_model.pb").is_file():
        return path
    source = load_dataset("mnist-5k")
    classifier, features = train_source_model(source.images, source.labels, epochs=epochs,
                                              seed=seed, deterministic=deterministic,
                                              verbose=verbose)
    export_feature_vector(features, path, overwrite=True)
    export_atomically(classifier, classifier_path, overwrite=True)
    return path


def ensure_source_classifier(path=None, **kwargs):
    """Path of the MNIST-5k source classifier SavedModel (`serve`: images
    `(batch, 28, 28, 1)` in [0, 1] -> probabilities `(batch, 10)`), trained
    with the source model when absent. `path` is the feature model's folder."""
    features_path = ensure_source_model(path, **kwargs)
    return features_path.parent / SOURCE_CLASSIFIER_NAME
