"""Batch normalization that trains with TensorFlow's fused kernels."""

import keras
import tensorflow as tf

# cuDNN's (and so TensorFlow's fused kernels') smallest epsilon.
_MIN_FUSED_EPSILON = 1.001e-5


@keras.saving.register_keras_serializable(package="tfunsup")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose training-mode pass is one fused op.

    Same arguments, weights, outputs and moving statistics as the Keras layer
    (a drop-in replacement; it is an instance of it). In training mode on the
    TensorFlow backend it normalises with `FusedBatchNormV3` (oneDNN on CPU,
    cuDNN on GPU), and its gradient with `FusedBatchNormGradV3`, instead of
    Keras 3's separate moment, normalisation and cast ops: tf.keras (Keras 2)
    used these fused kernels, Keras 3 does not (keras-team/keras-core #225,
    "BatchNorm is slow"). Under a bfloat16/float16 policy the fused op reads
    and writes the low-precision activations directly and accumulates in
    float32, as the Keras layer does after its casts.

    The fused path needs the channels on the last axis of a rank-2
    `(batch, features)` or rank-4 `(batch, height, width, channels)` input,
    no mask, no `renorm`, no `synchronized` statistics and `epsilon >=
    1.001e-5`; otherwise (and in inference mode, where Keras applies the
    moving statistics in one affine op) it runs the Keras implementation.

    The moving averages are updated as Keras does, with the biased batch
    variance (the fused kernel returns the Bessel-corrected one, which is
    rescaled by `(n - 1) / n`).

    Args:
        **kwargs: those of `keras.layers.BatchNormalization`.

    Call arguments:
        inputs: float tensor `(batch, features)` or `(batch, height, width,
            channels)`.
        training: bool; True normalises with the batch statistics and
            updates the moving ones.
        mask: optional, as for the Keras layer (not fused).

    Returns:
        Tensor of the shape of `inputs` in the layer's compute dtype.

    Reference:
        Ioffe, Szegedy. Batch Normalization: Accelerating Deep Network
        Training by Reducing Internal Covariate Shift. ICML 2015.
    """

    def _fusable(self, inputs, mask):
        rank = len(inputs.shape)
        return (keras.backend.backend() == "tensorflow" and mask is None and rank in (2, 4)
                and self.axis in (-1, rank - 1) and not self.renorm
                and not getattr(self, "synchronized", False)
                and self.epsilon >= _MIN_FUSED_EPSILON
                and keras.backend.standardize_dtype(inputs.dtype)
                in ("float32", "bfloat16", "float16"))

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self._fusable(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        x = tf.cast(inputs, self.compute_dtype)
        if len(inputs.shape) == 2:
            x = tf.reshape(x, [-1, 1, 1, channels])
        gamma = tf.cast(self.gamma, "float32") if self.scale else tf.ones([channels])
        beta = tf.cast(self.beta, "float32") if self.center else tf.zeros([channels])
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x, gamma, beta, epsilon=self.epsilon, data_format="NHWC", is_training=True)
        count = tf.cast(tf.size(x) // channels, "float32")
        variance = variance * tf.maximum(count - 1.0, 0.0) / tf.maximum(count, 1.0)
        momentum = self.momentum
        self.moving_mean.assign(
            self.moving_mean * momentum + tf.cast(mean, self.moving_mean.dtype) * (1 - momentum))
        self.moving_variance.assign(
            self.moving_variance * momentum
            + tf.cast(variance, self.moving_variance.dtype) * (1 - momentum))
        if len(inputs.shape) == 2:
            outputs = tf.reshape(outputs, [-1, channels])
        return outputs
