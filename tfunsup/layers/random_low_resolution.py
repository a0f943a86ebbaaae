"""Random low-resolution augmentation."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfunsup")
class RandomLowResolution(keras.layers.Layer):
    """Randomly degrades images to a low resolution and back (training only).

    With probability `rate`, an image is area-downsampled to
    `factor * (height, width)` and bilinearly upsampled again. A source model
    trained with it transfers to coarsely sampled targets (scans at a lower
    resolution, block-count digits) without seeing any target data.

    Args:
        factor: float in (0, 1). Relative size of the low-resolution copy.
        rate: float in [0, 1]. Probability an image is degraded.
        seed: int seed.

    Call arguments:
        inputs: float32 `(batch, height, width, channels)`, static height/width.
        training: degrade only when True.
    """

    def __init__(self, factor=0.4, rate=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < factor < 1.0:
            raise ValueError(f"Expected factor in (0, 1). Received: factor={factor}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"Expected rate in [0, 1]. Received: rate={rate}")
        self.factor = factor
        self.rate = rate
        self.seed = seed
        self._generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        height, width = inputs.shape[1], inputs.shape[2]
        low = (max(1, round(height * self.factor)), max(1, round(width * self.factor)))
        degraded = tf.image.resize(tf.image.resize(inputs, low, method="area"),
                                   (height, width), method="bilinear")
        draw = keras.random.uniform((tf.shape(inputs)[0], 1, 1, 1), seed=self._generator)
        mask = tf.cast(draw < self.rate, inputs.dtype)
        return mask * degraded + (1.0 - mask) * inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, rate=self.rate, seed=self.seed)
        return config
