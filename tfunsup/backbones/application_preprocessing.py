"""Per-application value preprocessing as a serializable Keras layer."""

import importlib

import keras


@keras.saving.register_keras_serializable(package="tfunsup")
class ApplicationPreprocessing(keras.layers.Layer):
    """Maps images in [0, 1] to what a Keras Application expects.

    Scales to [0, 255] and applies `keras.applications.<module>.preprocess_input`
    (e.g. caffe-style BGR mean subtraction for VGG16/ResNet50, [-1, 1] for
    MobileNetV2; identity for MobileNetV3/EfficientNet, which rescale inside).

    Args:
        module: name of the `keras.applications` module, e.g. `"resnet"`.

    Call arguments:
        inputs: float32 `(batch, height, width, 3)` in [0, 1].
    """

    def __init__(self, module, **kwargs):
        super().__init__(**kwargs)
        self.module = module
        self._preprocess = importlib.import_module(
            f"keras.applications.{module}").preprocess_input

    def call(self, inputs):
        return self._preprocess(inputs * 255.0)

    def get_config(self):
        config = super().get_config()
        config.update(module=self.module)
        return config
