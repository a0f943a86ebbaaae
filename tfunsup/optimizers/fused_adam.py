"""Adam whose per-variable update is TensorFlow's fused kernel."""

import keras
import tensorflow as tf


def _handle(variable):
    """The resource handle of a Keras or TensorFlow variable (inside a
    `tf.distribute` update, the current replica's copy)."""
    if isinstance(variable, keras.Variable):
        variable = variable.value
    return variable.handle


@keras.saving.register_keras_serializable(package="tfunsup")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose update of each variable is one fused op.

    Same arguments, slot variables and updates as the Keras optimizer (a
    drop-in replacement; it is an instance of it). On the TensorFlow backend
    each dense update is TensorFlow's `ResourceApplyAdam` kernel (CPU, GPU
    and XLA), which reads and writes the variable and both moments in one
    pass, instead of Keras 3's dozen separate element-wise ops and assigns
    per variable: tf.keras (Keras 2) used this kernel, Keras 3 does not.
    The update is Kingma & Ba's, as Keras computes it:

        m <- beta_1 * m + (1 - beta_1) * g
        v <- beta_2 * v + (1 - beta_2) * g^2
        w <- w - lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

    Sparse (`tf.IndexedSlices`) gradients, e.g. of an `Embedding`, `amsgrad`
    and other backends run Keras' own `update_step`. Weight decay, gradient
    clipping and accumulation, loss scaling and `use_ema` are the base
    optimizer's and work unchanged.

    Args:
        **kwargs: those of `keras.optimizers.Adam` (`learning_rate`,
            `beta_1`, `beta_2`, `epsilon`, ...).

    Reference:
        Kingma, Ba. Adam: A Method for Stochastic Optimization. ICLR 2015.
    """

    def update_step(self, gradient, variable, learning_rate):
        if (self.amsgrad or isinstance(gradient, tf.IndexedSlices)
                or keras.backend.backend() != "tensorflow"):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]),
            v=_handle(self._velocities[index]), beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype), beta1=beta_1,
            beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))
