"""PANDA's compactness objective as a Keras model: pull normal features to their centre."""

import keras
import tensorflow as tf
from keras import ops


def compactness_loss(features, center):
    """Mean squared Euclidean distance of features to a centre.

    .. math::
        L = \\frac{1}{n} \\sum_{i=1}^{n} \\|f_i - c\\|_2^2

    Args:
        features: float32 `(batch, feature_dim)`.
        center: float32 `(feature_dim,)`.

    Returns:
        float32 scalar.

    Reference:
        Ruff et al. Deep One-Class Classification (Deep SVDD). ICML 2018;
        Reiss, Cohen, Bergman, Hoshen. PANDA: Adapting Pretrained Features
        for Anomaly Detection and Segmentation. CVPR 2021.
    """
    return ops.mean(ops.sum(ops.square(features - center[None, :]), axis=-1))


@keras.saving.register_keras_serializable(package="tfunsup")
class CompactnessModel(keras.Model):
    """Trains an encoder to map normal data close to a fixed centre.

    .. math::
        \\min_\\theta \\; \\frac{1}{s} \\, \\mathbb{E}_x \\|f_\\theta(x) - c\\|_2^2

    with `c` the mean of the *initial* (pretrained) features of the normal
    data, fixed during training, and `s` the initial value of the loss, so
    the reported loss starts near 1 (a relative compactness that early
    stopping can compare across data sets). `compile(optimizer=...)` needs
    no loss. Batch normalisation layers of the encoder are called with
    `training=False` (frozen statistics), as PANDA trains its ResNet in
    evaluation mode; their scale and offset are still trained.

    Args:
        encoder: `keras.Model` mapping inputs to float32
            `(batch, feature_dim)`.
        center: float32 `(feature_dim,)`.
        loss_scale: float > 0, `s` above.

    Call arguments:
        inputs: the encoder's inputs.

    Returns:
        The encoder's features, float32 `(batch, feature_dim)`.

    Reference:
        Reiss, Cohen, Bergman, Hoshen. PANDA: Adapting Pretrained Features
        for Anomaly Detection and Segmentation. CVPR 2021.
    """

    def __init__(self, encoder, center, loss_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        if not loss_scale > 0:
            raise ValueError(f"Expected loss_scale > 0. Received: loss_scale={loss_scale}")
        self.encoder = encoder
        self.loss_scale = float(loss_scale)
        center = ops.convert_to_numpy(center).astype("float32")
        self.center = self.add_weight(name="center", shape=center.shape, trainable=False,
                                      initializer=keras.initializers.Constant(center))
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    def call(self, inputs, training=False):
        # Frozen batch-norm statistics also in training (see the class docstring).
        return self.encoder(inputs, training=False)

    @property
    def metrics(self):
        return [self.loss_tracker]

    def _loss(self, inputs):
        return compactness_loss(self(inputs), self.center) / self.loss_scale

    def train_step(self, data):
        inputs = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            loss = self._loss(inputs)
            scaled = loss / tf.distribute.get_strategy().num_replicas_in_sync
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        inputs = data[0] if isinstance(data, tuple) else data
        self.loss_tracker.update_state(self._loss(inputs))
        return {"loss": self.loss_tracker.result()}

    def get_config(self):
        config = super().get_config()
        config.update(encoder=keras.saving.serialize_keras_object(self.encoder),
                      center=ops.convert_to_numpy(self.center).tolist(),
                      loss_scale=self.loss_scale)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
