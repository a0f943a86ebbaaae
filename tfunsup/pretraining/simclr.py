"""SimCLR-style contrastive pretraining as a Keras model."""

import keras
import tensorflow as tf

from tfunsup.pretraining.losses import nt_xent_loss


def build_augmenter(input_shape, seed=None, name="augmenter"):
    """Random view augmentations for small grayscale or color images.

    Random zoom, rotation and translation (the geometric part of SimCLR's
    crop-and-resize), then random contrast; color jitter beyond contrast
    is left out, since digits carry no color.

    Args:
        input_shape: `(height, width, channels)`.
        seed: int seed.

    Returns:
        A `keras.Sequential` mapping float32 `(batch, height, width,
        channels)` in [0, 1] to augmented images of the same shape (active
        only with `training=True`).
    """
    return keras.Sequential([
        keras.Input(shape=tuple(input_shape)),
        keras.layers.RandomZoom((-0.3, 0.2), fill_mode="constant", seed=seed),
        keras.layers.RandomRotation(0.06, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(0.15, 0.15, fill_mode="constant", seed=seed),
        keras.layers.RandomContrast(0.5, seed=seed),
    ], name=name)


def build_projection_head(input_dim, units=(128, 64), name="projection_head"):
    """MLP projection head g(h): ReLU hidden layers, then a linear output."""
    inputs = keras.Input(shape=(int(input_dim),), name="features")
    x = inputs
    for i, size in enumerate(units[:-1]):
        x = keras.layers.Dense(size, activation="relu", name=f"dense_{i}")(x)
    outputs = keras.layers.Dense(units[-1], name="projection")(x)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="tfunsup")
class SimCLR(keras.Model):
    """Contrastive pretraining of an encoder (SimCLR).

    Each image is augmented twice; the encoder f and projection head g map
    both views to z = g(f(x)), and the NT-Xent loss pulls the two views of
    an image together and pushes other images apart
    (`tfunsup.pretraining.nt_xent_loss`). After training, the encoder's
    features f(x) (not the projections) are transferred. Negatives are the
    other images of the same replica's batch.

    Args:
        encoder: `keras.Model`, images -> `(batch, feature_dim)`.
        projection_head: `keras.Model`, `(batch, feature_dim)` ->
            `(batch, projection_dim)`; default `build_projection_head`.
        augmenter: `keras.Model` making random views; default
            `build_augmenter`.
        temperature: float > 0, τ of NT-Xent.
        seed: int seed of the default augmenter.

    Call arguments:
        images: float32 `(batch, height, width, channels)` in [0, 1].

    Returns:
        The encoder's features `(batch, feature_dim)` (no augmentation).

    Reference:
        Chen, Kornblith, Norouzi, Hinton. A Simple Framework for Contrastive
        Learning of Visual Representations. ICML 2020.
    """

    def __init__(self, encoder, projection_head=None, augmenter=None, temperature=0.5,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        if not temperature > 0:
            raise ValueError(f"Expected temperature > 0. Received: temperature={temperature}")
        self.encoder = encoder
        feature_dim = encoder.outputs[0].shape[-1]
        self.projection_head = projection_head or build_projection_head(feature_dim)
        self.augmenter = augmenter or build_augmenter(encoder.inputs[0].shape[1:], seed=seed)
        self.temperature = float(temperature)
        self.seed = seed
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    def call(self, images, training=False):
        return self.encoder(images, training=training)

    @property
    def metrics(self):
        return [self.loss_tracker]

    def _loss(self, images, training):
        views = [self.augmenter(images, training=True) for _ in range(2)]
        z1, z2 = [self.projection_head(self.encoder(v, training=training), training=training)
                  for v in views]
        return nt_xent_loss(z1, z2, self.temperature)

    def train_step(self, data):
        images = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            loss = self._loss(images, training=True)
            scaled = loss / tf.distribute.get_strategy().num_replicas_in_sync
        variables = self.encoder.trainable_variables + self.projection_head.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        images = data[0] if isinstance(data, tuple) else data
        self.loss_tracker.update_state(self._loss(images, training=False))
        return {"loss": self.loss_tracker.result()}

    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            projection_head=keras.saving.serialize_keras_object(self.projection_head),
            augmenter=keras.saving.serialize_keras_object(self.augmenter),
            temperature=self.temperature, seed=self.seed)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "projection_head", "augmenter"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


__all__ = ["SimCLR", "build_augmenter", "build_projection_head"]
