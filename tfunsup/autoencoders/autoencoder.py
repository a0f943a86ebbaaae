"""The autoencoder training objective as a Keras model."""

import keras
import tensorflow as tf
from keras import ops

from tfunsup.autoencoders.dense_autoencoder import check_noise_stddev
from tfunsup.autoencoders.losses import reconstruction_error


@keras.saving.register_keras_serializable(package="tfunsup")
class Autoencoder(keras.Model):
    """Trains an encoder and a decoder to reconstruct their input.

    .. math::
        \\min_{E, D} \\; \\mathbb{E}_x \\frac{1}{d} \\|x - D(E(\\tilde{x}))\\|^2

    where :math:`\\tilde{x}` is `x` plus Gaussian noise of standard deviation
    `noise_stddev` in training (denoising autoencoder), else `x` itself.
    `compile(optimizer=...)` needs no loss: the objective is `train_step`'s.

    Args:
        encoder: `keras.Model`, images `(batch, height, width, channels)` ->
            latent codes `(batch, latent_dim)`.
        decoder: `keras.Model`, `(batch, latent_dim)` -> images.
        noise_stddev: float >= 0, training-time input noise (0: none).
        seed: int seed of the noise.

    Call arguments:
        images: float32 `(batch, height, width, channels)` in [0, 1].
        training: adds the input noise when True.

    Returns:
        Reconstructions, float32 `(batch, height, width, channels)`.

    Reference:
        Hinton, Salakhutdinov. Reducing the Dimensionality of Data with
        Neural Networks. Science 2006.
    """

    def __init__(self, encoder, decoder, noise_stddev=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.noise_stddev = check_noise_stddev(noise_stddev)
        self.seed = seed
        self.noise = (keras.layers.GaussianNoise(self.noise_stddev, seed=seed, name="noise")
                      if self.noise_stddev > 0 else None)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    def call(self, images, training=False):
        x = images
        if self.noise is not None:
            x = self.noise(x, training=training)
        return self.decoder(self.encoder(x, training=training), training=training)

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        images = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            loss = ops.mean(reconstruction_error(images, self(images, training=True)))
            # Gradients are summed over replicas: scale for a mean over the global batch.
            scaled = loss / tf.distribute.get_strategy().num_replicas_in_sync
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        images = data[0] if isinstance(data, tuple) else data
        self.loss_tracker.update_state(
            ops.mean(reconstruction_error(images, self(images, training=False))))
        return {"loss": self.loss_tracker.result()}

    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            noise_stddev=self.noise_stddev,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)
