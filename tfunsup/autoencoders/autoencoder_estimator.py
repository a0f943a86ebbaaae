"""Autoencoder dimensionality reduction as a scikit-learn-style estimator."""

from pathlib import Path

import keras
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tfunsup.autoencoders.autoencoder import Autoencoder
from tfunsup.autoencoders.conv_autoencoder import build_conv_decoder, build_conv_encoder
from tfunsup.autoencoders.dense_autoencoder import (
    build_dense_decoder,
    build_dense_encoder,
    check_latent_dim,
    check_noise_stddev,
)
from tfunsup.data.pipeline import make_dataset
from tfunsup.data.validation import check_images
from tfunsup.training import (
    check_fit_params,
    op_determinism,
    resolve_jit_compile,
    training_callbacks,
)
from tfunsup.utils.export import export_atomically
from tfunsup.utils.reproducibility import get_strategy, set_seed

ARCHITECTURES = ("conv", "dense")


class AutoencoderEstimator(BaseEstimator):
    """Fits an autoencoder on unlabeled images and maps images to latent codes.

    `fit(images)` builds a fresh dense or convolutional encoder/decoder pair
    (`tfunsup.autoencoders.build_conv_encoder`, ...) and trains it with the
    `Autoencoder` objective using Keras `fit` on a `tf.data` pipeline, with
    `TerminateOnNaN`, a progress bar, and `BackupAndRestore` when
    `backup_dir` is set (an interrupted fit, run again, resumes from the
    last finished epoch). `transform(images)` returns the latent codes
    (dimensionality reduction); the encoder and decoder export as separate
    SavedModels.

    Args:
        architecture: `"conv"` or `"dense"`.
        latent_dim: int >= 1, size of the latent code.
        filters: conv encoder filters (conv only).
        hidden_units: dense encoder hidden sizes (dense only).
        noise_stddev: float >= 0, Gaussian input noise in training
            (denoising autoencoder), 0 for none.
        epochs: int >= 0.
        batch_size: int >= 1.
        learning_rate: float > 0, Adam learning rate.
        jit_compile: XLA for the train step: True, False or `"auto"` (XLA on
            a GPU/TPU; off on a CPU: see `tfunsup.training.resolve_jit_compile`).
        backup_dir: folder for `keras.callbacks.BackupAndRestore`, or None.
        callbacks: extra Keras callbacks.
        seed: int or None; seeds the weights, noise and shuffling.
        deterministic: bool; with a seed, `fit` repeats bit for bit on CPU:
            TensorFlow op determinism is on during `fit` (no XLA then) and
            restored afterwards.
        strategy: `tf.distribute.Strategy`; default the current one.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch.

    Attributes (after `fit`):
        autoencoder_: the trained `Autoencoder` model.
        encoder_: functional `keras.Model`, images -> `(batch, latent_dim)`.
        decoder_: functional `keras.Model`, `(batch, latent_dim)` -> images.
        image_shape_: `(height, width, channels)` of the fit images.
        history_: dict of per-epoch `loss` (and `val_loss`) lists, for the
            epochs run by this call.

    Reference:
        Hinton, Salakhutdinov. Reducing the Dimensionality of Data with
        Neural Networks. Science 2006.
    """

    def __init__(self, architecture="conv", latent_dim=32, *, filters=(32, 64),
                 hidden_units=(256, 128), noise_stddev=0.0, epochs=20, batch_size=128,
                 learning_rate=1e-3, jit_compile="auto", backup_dir=None, callbacks=None,
                 seed=None, deterministic=False, strategy=None, verbose=0):
        self.architecture = architecture
        self.latent_dim = latent_dim
        self.filters = filters
        self.hidden_units = hidden_units
        self.noise_stddev = noise_stddev
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.jit_compile = jit_compile
        self.backup_dir = backup_dir
        self.callbacks = callbacks
        self.seed = seed
        self.deterministic = deterministic
        self.strategy = strategy
        self.verbose = verbose

    def _check_params(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"Expected architecture 'conv' or 'dense'. "
                             f"Received: architecture={self.architecture!r}")
        check_latent_dim(self.latent_dim)
        check_noise_stddev(self.noise_stddev)
        check_fit_params(epochs=self.epochs, batch_size=self.batch_size,
                         learning_rate=self.learning_rate)

    def build(self, image_shape):
        """Builds an untrained `(encoder, decoder)` pair for `image_shape`."""
        if self.architecture == "conv":
            return (build_conv_encoder(image_shape, self.latent_dim, self.filters),
                    build_conv_decoder(self.latent_dim, image_shape,
                                       tuple(reversed(tuple(self.filters)))))
        return (build_dense_encoder(image_shape, self.latent_dim, self.hidden_units),
                build_dense_decoder(self.latent_dim, image_shape,
                                    tuple(reversed(tuple(self.hidden_units)))))

    def fit(self, images, validation_images=None):
        """Trains a fresh autoencoder on `images` (no labels).

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1].
            validation_images: optional held-out images of the same shape;
                their reconstruction loss is logged as `val_loss`.

        Returns:
            self.

        Raises:
            ValueError: bad parameters, or images that are empty, contain
                NaN/Inf, or lie outside [0, 1].
        """
        self._check_params()
        images = check_images(images, name="images")
        if validation_images is not None:
            validation_images = self._check_shape(
                check_images(validation_images, name="validation_images"),
                images.shape[1:], "validation_images")
        strategy = get_strategy(self.strategy)
        jit_compile = resolve_jit_compile(self.jit_compile, strategy,
                                          deterministic=self.deterministic)
        set_seed(self.seed)
        with op_determinism(self.deterministic):
            with strategy.scope():
                encoder, decoder = self.build(images.shape[1:])
                model = Autoencoder(encoder, decoder, self.noise_stddev, seed=self.seed)
                model.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                              jit_compile=jit_compile)
            dataset = make_dataset(images, batch_size=self.batch_size, shuffle=True,
                                   seed=self.seed, autotune=False)
            validation = None
            if validation_images is not None:
                validation = make_dataset(validation_images, batch_size=self.batch_size,
                                          autotune=False)
            history = model.fit(dataset, epochs=self.epochs, validation_data=validation,
                                shuffle=False, verbose=self.verbose,
                                callbacks=training_callbacks(self.backup_dir, self.callbacks))
        self.autoencoder_ = model
        self.encoder_ = encoder
        self.decoder_ = decoder
        self.image_shape_ = tuple(images.shape[1:])
        self.history_ = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        return self

    @staticmethod
    def _check_shape(images, expected, name):
        if tuple(images.shape[1:]) != tuple(expected):
            raise ValueError(
                f"Expected {name} of shape (n, {', '.join(map(str, expected))}) as in fit. "
                f"Received shape={images.shape}")
        return images

    def _check_fitted(self):
        if not hasattr(self, "encoder_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' before using it.")

    def _checked(self, images, name="images"):
        self._check_fitted()
        return self._check_shape(check_images(images, name=name), self.image_shape_, name)

    def _predict(self, model, inputs):
        return model.predict(inputs, batch_size=self.batch_size, verbose=0)

    def transform(self, images):
        """Latent codes of `images`.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1], the
                fit images' shape.

        Returns:
            float32 array `(n, latent_dim)`.

        Raises:
            NotFittedError: before `fit`.
            ValueError: images of another shape or invalid.
        """
        images = self._checked(images)
        return self._predict(self.encoder_, images)

    def inverse_transform(self, codes):
        """Decodes latent codes `(n, latent_dim)` to images `(n, height, width, channels)`."""
        self._check_fitted()
        codes = np.asarray(codes, np.float32)
        if codes.ndim != 2 or codes.shape[1] != self.latent_dim or len(codes) == 0:
            raise ValueError(f"Expected codes of shape (n, {self.latent_dim}). "
                             f"Received shape={codes.shape}")
        if not np.all(np.isfinite(codes)):
            raise ValueError("codes contains NaN or Inf values.")
        return self._predict(self.decoder_, codes)

    def reconstruct(self, images):
        """Reconstructions `D(E(x))`, float32 of the images' shape (no noise)."""
        images = self._checked(images)
        return self._predict(self.autoencoder_, images)

    def reconstruction_error(self, images):
        """Per-image mean squared reconstruction error, float `(n,)`."""
        images = self._checked(images)
        reconstructions = self._predict(self.autoencoder_, images)
        return np.mean(np.square(images - reconstructions).reshape(len(images), -1), axis=1)

    def export(self, path, overwrite=False):
        """Exports the encoder and decoder as SavedModels `path/encoder`, `path/decoder`.

        Each has a `serve` endpoint: encoder images `(batch, height, width,
        channels)` -> codes `(batch, latent_dim)`; decoder codes -> images.

        Returns:
            dict `{"encoder": Path, "decoder": Path}`.

        Raises:
            FileExistsError: a destination exists and `overwrite` is False.
        """
        self._check_fitted()
        path = Path(path)
        targets = {"encoder": path / "encoder", "decoder": path / "decoder"}
        for target in targets.values():
            if target.exists() and not overwrite:
                raise FileExistsError(f"SavedModel path '{target}' exists; pass overwrite=True.")
        return {name: export_atomically(getattr(self, f"{name}_"), target, overwrite=True)
                for name, target in targets.items()}
