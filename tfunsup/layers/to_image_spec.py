"""Brings images to a backbone's input format inside a model."""

import keras

from tfunsup.data.image_spec import ImageSpec
from tfunsup.data.pipeline import to_image_spec


@keras.saving.register_keras_serializable(package="tfunsup")
class ToImageSpec(keras.layers.Layer):
    """Resizes, frames and converts channels to an `ImageSpec` (see
    `tfunsup.data.to_image_spec`), so an exported model takes images at
    their native size.

    Args:
        height, width, channels, content_fraction, crop_to_aspect_ratio:
            the `ImageSpec` fields.

    Call arguments:
        inputs: float32 `(batch, height, width, channels)` in [0, 1].
    """

    def __init__(self, height, width, channels=3, content_fraction=1.0,
                 crop_to_aspect_ratio=False, **kwargs):
        super().__init__(**kwargs)
        self.spec = ImageSpec(height, width, channels, content_fraction, crop_to_aspect_ratio)

    def call(self, inputs):
        return to_image_spec(inputs, self.spec)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.spec.height, self.spec.width, self.spec.channels)

    def get_config(self):
        config = super().get_config()
        config.update(height=self.spec.height, width=self.spec.width,
                      channels=self.spec.channels,
                      content_fraction=self.spec.content_fraction,
                      crop_to_aspect_ratio=self.spec.crop_to_aspect_ratio)
        return config
