"""Pretraining an encoder without labels, as a scikit-learn-style estimator."""

import keras
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tfunsup.autoencoders.autoencoder_estimator import (
    ARCHITECTURES,
    AutoencoderEstimator,
)
from tfunsup.autoencoders.dense_autoencoder import check_latent_dim
from tfunsup.data.pipeline import make_dataset
from tfunsup.data.validation import check_images
from tfunsup.pretraining.simclr import SimCLR
from tfunsup.training import (
    check_fit_params,
    op_determinism,
    resolve_jit_compile,
    training_callbacks,
)
from tfunsup.utils.reproducibility import get_strategy, set_seed

METHODS = ("simclr", "autoencoder")


class EncoderPretrainer(BaseEstimator):
    """Trains an encoder on unlabeled images with a self-supervised objective.

    - `method="autoencoder"`: reconstruction (`tfunsup.autoencoders.Autoencoder`);
      the encoder is the autoencoder's encoder.
    - `method="simclr"`: contrastive learning between two augmented views
      of each image (`tfunsup.pretraining.SimCLR`).

    Both use the same encoder architecture (`tfunsup.autoencoders`'s conv or
    dense encoder), so a classifier on the pretrained encoder and one trained
    from scratch are the identical network.

    Args:
        method: `"simclr"` or `"autoencoder"`.
        architecture: `"conv"` or `"dense"` encoder.
        latent_dim: int >= 1, encoder output size.
        filters: conv encoder filters.
        hidden_units: dense encoder hidden sizes.
        epochs: int >= 0.
        batch_size: int >= 1 (SimCLR: also the number of negatives + 1).
        learning_rate: float > 0, Adam learning rate.
        temperature: float > 0, NT-Xent temperature (SimCLR).
        noise_stddev: float >= 0, input noise (autoencoder: denoising).
        jit_compile: True, False or `"auto"` (XLA on a GPU/TPU; see
            `tfunsup.training.resolve_jit_compile`).
        backup_dir: folder for `BackupAndRestore`, or None.
        callbacks: extra Keras callbacks.
        seed: int or None; seeds weights, augmentations and shuffling.
        deterministic: bool; TensorFlow op determinism during `fit` (bit-
            identical reruns on CPU with a seed, no XLA), restored afterwards.
        strategy: `tf.distribute.Strategy`; default the current one.
        verbose: Keras verbosity.

    Attributes (after `fit`):
        encoder_: functional `keras.Model`, images `(batch, height, width,
            channels)` -> features `(batch, latent_dim)`.
        model_: the trained objective model (`Autoencoder` or `SimCLR`).
        history_: dict of per-epoch losses.

    Reference:
        Erhan et al. Why Does Unsupervised Pre-training Help Deep Learning?
        JMLR 2010. Chen et al. A Simple Framework for Contrastive Learning
        of Visual Representations. ICML 2020.
    """

    def __init__(self, method="simclr", architecture="conv", latent_dim=32, *,
                 filters=(32, 64), hidden_units=(256, 128), epochs=30, batch_size=256,
                 learning_rate=1e-3, temperature=0.5, noise_stddev=0.0, jit_compile="auto",
                 backup_dir=None, callbacks=None, seed=None, deterministic=False, strategy=None,
                 verbose=0):
        self.method = method
        self.architecture = architecture
        self.latent_dim = latent_dim
        self.filters = filters
        self.hidden_units = hidden_units
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.temperature = temperature
        self.noise_stddev = noise_stddev
        self.jit_compile = jit_compile
        self.backup_dir = backup_dir
        self.callbacks = callbacks
        self.seed = seed
        self.deterministic = deterministic
        self.strategy = strategy
        self.verbose = verbose

    def _autoencoder(self):
        return AutoencoderEstimator(
            self.architecture, self.latent_dim, filters=self.filters,
            hidden_units=self.hidden_units, noise_stddev=self.noise_stddev,
            epochs=self.epochs, batch_size=self.batch_size,
            learning_rate=self.learning_rate, jit_compile=self.jit_compile,
            backup_dir=self.backup_dir, callbacks=self.callbacks, seed=self.seed,
            deterministic=self.deterministic, strategy=self.strategy, verbose=self.verbose)

    def _check_params(self):
        if self.method not in METHODS:
            raise ValueError(f"Expected method 'simclr' or 'autoencoder'. "
                             f"Received: method={self.method!r}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"Expected architecture 'conv' or 'dense'. "
                             f"Received: architecture={self.architecture!r}")
        check_latent_dim(self.latent_dim)
        check_fit_params(epochs=self.epochs, batch_size=self.batch_size,
                         learning_rate=self.learning_rate)
        if not (isinstance(self.temperature, (int, float)) and self.temperature > 0):
            raise ValueError(
                f"Expected temperature > 0. Received: temperature={self.temperature!r}")

    def fit(self, images):
        """Pretrains a fresh encoder on `images` (no labels).

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1].

        Returns:
            self.

        Raises:
            ValueError: bad parameters or images.
        """
        self._check_params()
        images = check_images(images, name="images")
        if self.method == "autoencoder":
            autoencoder = self._autoencoder().fit(images)
            self.encoder_ = autoencoder.encoder_
            self.model_ = autoencoder.autoencoder_
            self.history_ = autoencoder.history_
            return self
        strategy = get_strategy(self.strategy)
        jit_compile = resolve_jit_compile(self.jit_compile, strategy,
                                          deterministic=self.deterministic)
        set_seed(self.seed)
        with op_determinism(self.deterministic):
            with strategy.scope():
                encoder, _ = self._autoencoder().build(images.shape[1:])
                model = SimCLR(encoder, temperature=self.temperature, seed=self.seed)
                model.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                              jit_compile=jit_compile)
            dataset = make_dataset(images, batch_size=self.batch_size, shuffle=True,
                                   seed=self.seed,
                                   drop_remainder=len(images) > self.batch_size,
                                   autotune=False)
            history = model.fit(dataset, epochs=self.epochs, verbose=self.verbose,
                                shuffle=False,
                                callbacks=training_callbacks(self.backup_dir, self.callbacks))
        self.encoder_ = encoder
        self.model_ = model
        self.history_ = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        return self

    def transform(self, images):
        """Encoder features, float32 `(n, latent_dim)`."""
        if not hasattr(self, "encoder_"):
            raise NotFittedError("This EncoderPretrainer instance is not fitted yet. "
                                 "Call 'fit' before using it.")
        images = check_images(images, name="images")
        expected = tuple(self.encoder_.inputs[0].shape[1:])
        if tuple(images.shape[1:]) != expected:
            raise ValueError(f"Expected images of shape (n, {', '.join(map(str, expected))}) "
                             f"as in fit. Received shape={images.shape}")
        return self.encoder_.predict(images, batch_size=256, verbose=0)
