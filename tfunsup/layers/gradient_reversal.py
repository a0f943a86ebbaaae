"""Gradient reversal: identity forward, gradient times -lambda backward."""

import keras
import tensorflow as tf


@tf.custom_gradient
def reverse_gradient(inputs, lambda_):
    """Identity whose gradient is multiplied by `-lambda_`.

    Args:
        inputs: float tensor of any shape.
        lambda_: float scalar tensor, the reversal strength.

    Returns:
        `inputs` unchanged; the gradient flowing back is `-lambda_ * dy`
        (and none for `lambda_`).
    """

    def gradient(upstream):
        return -tf.cast(lambda_, upstream.dtype) * upstream, tf.zeros_like(lambda_)

    return tf.identity(inputs), gradient


@keras.saving.register_keras_serializable(package="tfunsup")
class GradientReversal(keras.layers.Layer):
    """Gradient reversal layer (GRL) of domain-adversarial training.

    Forward pass: the identity. Backward pass: the gradient is multiplied by
    `-lambda_`, so layers before it are trained to *maximise* the loss of the
    layers after it (a domain discriminator) while those layers minimise it:

    .. math::
        R_\\lambda(x) = x, \\qquad
        \\frac{\\partial R_\\lambda}{\\partial x} = -\\lambda I

    Args:
        lambda_: float >= 0. Default reversal strength, used when `call`
            gets no `lambda_`.

    Call arguments:
        inputs: float tensor, e.g. features `(batch, feature_dim)`.
        lambda_: optional float scalar (Python number or tensor) overriding
            the default, e.g. the DANN schedule `2 / (1 + exp(-10 p)) - 1`
            computed in the train step from the training progress `p`.

    Returns:
        `inputs`, unchanged.

    Raises:
        ValueError: if `lambda_` < 0.

    Reference:
        Ganin, Lempitsky. Unsupervised Domain Adaptation by Backpropagation.
        ICML 2015.
    """

    def __init__(self, lambda_=1.0, **kwargs):
        super().__init__(**kwargs)
        if lambda_ < 0:
            raise ValueError(f"Expected lambda_ >= 0. Received: lambda_={lambda_}")
        self.lambda_ = float(lambda_)
        self.built = True

    def call(self, inputs, lambda_=None):
        strength = self.lambda_ if lambda_ is None else lambda_
        return reverse_gradient(inputs, tf.convert_to_tensor(strength, tf.float32))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(lambda_=self.lambda_)
        return config
