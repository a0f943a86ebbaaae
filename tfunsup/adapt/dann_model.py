"""DANN's training objective as a Keras model with its own `train_step`."""

import keras
import tensorflow as tf

from tfunsup.adapt.schedules import dann_lambda
from tfunsup.layers.gradient_reversal import GradientReversal


@keras.saving.register_keras_serializable(package="tfunsup")
class DANNModel(keras.Model):
    """Domain-adversarial training of a classifier network (one objective).

    Each train step takes a labeled source batch and an unlabeled target
    batch, passes both through the feature extractor, classifies the source
    features, and lets a domain discriminator tell source (0) from target
    (1) behind a gradient-reversal layer:

    .. math::
        \\min_{F, C} \\max_{D} \\;
        \\frac{1}{n_s}\\sum_{i} \\ell_{CE}\\big(C(F(x^s_i)), y^s_i\\big)
        - \\lambda_p \\, \\ell_{BCE}\\big(D(F(x)), d\\big)

    (the discriminator minimises its loss, the gradient reversal makes the
    feature extractor maximise it), with the strength
    `lambda_p = 2 / (1 + exp(-gamma p)) - 1` rising with the training
    progress `p = step / total_steps`.

    Args:
        network: functional `keras.Model` from `tfunsup.adapt.network.
            build_network` (nested `"feature_extractor"` model and
            `"classifier"` layer), images -> logits.
        discriminator: `keras.Model`, features `(batch, d)` -> `(batch, 1)`
            domain logits.
        total_steps: int >= 1, number of train steps of the run (sets `p`).
        gamma: float > 0, steepness of the lambda schedule (10 in the paper).
        label_smoothing: float in [0, 1), of the source classification loss.

    Call arguments:
        images: float32 `(batch, height, width, channels)` in [0, 1].

    Returns:
        Class logits `(batch, n_classes)`.

    Train-step data:
        `((source_images, source_labels_one_hot), target_images)`, e.g.
        `tf.data.Dataset.zip((source, target))`, equal batch sizes.

    Reference:
        Ganin et al. Domain-Adversarial Training of Neural Networks. JMLR 2016.
    """

    def __init__(self, network, discriminator, total_steps, gamma=10.0, label_smoothing=0.1,
                 lambda_max=1.0, **kwargs):
        super().__init__(**kwargs)
        if total_steps < 1:
            raise ValueError(f"Expected total_steps >= 1. Received: total_steps={total_steps}")
        self.network = network
        self.discriminator = discriminator
        self.feature_extractor = network.get_layer("feature_extractor")
        self.classifier = network.get_layer("classifier")
        self.gradient_reversal = GradientReversal(name="gradient_reversal")
        self.total_steps = int(total_steps)
        self.gamma = float(gamma)
        if lambda_max <= 0:
            raise ValueError(f"Expected lambda_max > 0. Received: lambda_max={lambda_max}")
        self.lambda_max = float(lambda_max)
        self.label_smoothing = float(label_smoothing)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.classification_loss_tracker = keras.metrics.Mean(name="classification_loss")
        self.domain_loss_tracker = keras.metrics.Mean(name="domain_loss")
        self.domain_accuracy_tracker = keras.metrics.Mean(name="domain_accuracy")
        self.lambda_tracker = keras.metrics.Mean(name="lambda")
        # Built from built parts; so `fit` under a distribution strategy does not
        # try to build it by calling it on a training batch.
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.classification_loss_tracker, self.domain_loss_tracker,
                self.domain_accuracy_tracker, self.lambda_tracker]

    def call(self, images, training=False):
        return self.network(images, training=training)

    def train_step(self, data):
        (source_images, source_labels), target_images = data
        n_source = tf.shape(source_images)[0]
        progress = tf.minimum(
            tf.cast(self.optimizer.iterations, tf.float32) / self.total_steps, 1.0)
        lambda_ = self.lambda_max * dann_lambda(progress, self.gamma)
        domains = tf.concat([tf.zeros((n_source, 1)),
                             tf.ones((tf.shape(target_images)[0], 1))], axis=0)
        with tf.GradientTape() as tape:
            features = self.feature_extractor(
                tf.concat([source_images, target_images], axis=0), training=True)
            logits = self.classifier(features[:n_source])
            classification_loss = tf.reduce_mean(keras.losses.categorical_crossentropy(
                source_labels, logits, from_logits=True, label_smoothing=self.label_smoothing))
            domain_logits = self.discriminator(
                self.gradient_reversal(features, lambda_=lambda_), training=True)
            domain_loss = tf.reduce_mean(keras.losses.binary_crossentropy(
                domains, domain_logits, from_logits=True))
            loss = classification_loss + domain_loss
            # Gradients are summed over replicas: average them instead.
            scaled_loss = loss / tf.distribute.get_strategy().num_replicas_in_sync
        variables = self.network.trainable_variables + self.discriminator.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        domain_accuracy = tf.reduce_mean(tf.cast(
            tf.equal(tf.cast(domain_logits > 0, tf.float32), domains), tf.float32))
        self.loss_tracker.update_state(loss)
        self.classification_loss_tracker.update_state(classification_loss)
        self.domain_loss_tracker.update_state(domain_loss)
        self.domain_accuracy_tracker.update_state(domain_accuracy)
        self.lambda_tracker.update_state(lambda_)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        config = super().get_config()
        config.update(
            network=keras.saving.serialize_keras_object(self.network),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            total_steps=self.total_steps, gamma=self.gamma,
            label_smoothing=self.label_smoothing, lambda_max=self.lambda_max)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
