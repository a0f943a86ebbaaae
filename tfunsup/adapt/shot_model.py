"""SHOT's target-side training objective as a Keras model with its own `train_step`."""

import keras
import numpy as np
import tensorflow as tf

from tfunsup.adapt.losses import diversity, entropy, prior_kl


@keras.saving.register_keras_serializable(package="tfunsup")
class SHOTModel(keras.Model):
    """Source-free adaptation of a trained classifier network (one objective).

    The classifier (the source hypothesis) stays fixed; the feature extractor
    is trained on unlabeled target images only, with information
    maximisation plus a cross-entropy on clustering-refined pseudo-labels:

    .. math::
        L = \\mathbb{E}_x H(p(x)) + w \\, D_{KL}\\big(\\mathbb{E}_x p(x) \\,\\|\\, \\pi\\big)
        + \\beta \\, \\mathbb{E}_x \\ell_{CE}\\big(p(x), \\hat y(x)\\big)

    With a uniform class prior `pi` the first two terms are SHOT's
    information maximisation, `E H(p) - w H(E p)`, up to the constant
    `w log(n_classes)`.

    Args:
        network: functional `keras.Model` from `tfunsup.adapt.network.
            build_network` (nested `"feature_extractor"` model and
            `"classifier"` layer), images -> logits. Its classifier layer is
            frozen.
        beta: float >= 0, weight of the pseudo-label loss (0.3 in the paper).
        diversity_weight: float >= 0, `w`, weight of the diversity term
            (1 in the paper; `SHOT` defaults to 2).
        class_prior: None (uniform) or float `(n_classes,)`, positive and
            summing to 1: the class distribution the batch's mean
            prediction is pulled towards (`losses.prior_kl`).

    Call arguments:
        images: float32 `(batch, height, width, channels)` in [0, 1].

    Returns:
        Class logits `(batch, n_classes)`.

    Train-step data:
        `(target_images, pseudo_labels)`, int pseudo-labels `(batch,)` (see
        `tfunsup.adapt.pseudo_labels.cluster_pseudo_labels`).

    Reference:
        Liang, Hu, Feng. Do We Really Need to Access the Source Data? Source
        Hypothesis Transfer for Unsupervised Domain Adaptation. ICML 2020.
    """

    def __init__(self, network, beta=0.3, diversity_weight=1.0, class_prior=None, **kwargs):
        super().__init__(**kwargs)
        if beta < 0:
            raise ValueError(f"Expected beta >= 0. Received: beta={beta}")
        if diversity_weight < 0:
            raise ValueError("Expected diversity_weight >= 0. Received: "
                             f"diversity_weight={diversity_weight}")
        self.diversity_weight = float(diversity_weight)
        self.network = network
        self.feature_extractor = network.get_layer("feature_extractor")
        self.classifier = network.get_layer("classifier")
        self.classifier.trainable = False
        n_classes = self.classifier.units
        if class_prior is None:
            class_prior = np.full(n_classes, 1 / n_classes)
        class_prior = np.asarray(class_prior, np.float64)
        if class_prior.shape != (n_classes,) or not (class_prior > 0).all() or not np.isclose(
                class_prior.sum(), 1.0, atol=1e-4):
            raise ValueError(f"Expected a positive class_prior of shape ({n_classes},) summing "
                             f"to 1. Received: class_prior={class_prior}")
        self.class_prior = class_prior / class_prior.sum()
        self.beta = float(beta)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.entropy_tracker = keras.metrics.Mean(name="entropy")
        self.diversity_tracker = keras.metrics.Mean(name="diversity")
        self.prior_kl_tracker = keras.metrics.Mean(name="prior_kl")
        self.pseudo_label_loss_tracker = keras.metrics.Mean(name="pseudo_label_loss")
        # Built from built parts; so `fit` under a distribution strategy does not
        # try to build it by calling it on a training batch.
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.entropy_tracker, self.diversity_tracker,
                self.prior_kl_tracker, self.pseudo_label_loss_tracker]

    def call(self, images, training=False):
        return self.network(images, training=training)

    def train_step(self, data):
        images, pseudo_labels = data
        with tf.GradientTape() as tape:
            logits = self.classifier(self.feature_extractor(images, training=True))
            probabilities = tf.nn.softmax(logits)
            mean_entropy = entropy(probabilities)
            batch_diversity = diversity(probabilities)
            batch_prior_kl = prior_kl(probabilities, self.class_prior.astype("float32"))
            pseudo_label_loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
                pseudo_labels, logits, from_logits=True))
            loss = (mean_entropy + self.diversity_weight * batch_prior_kl
                    + self.beta * pseudo_label_loss)
            # Gradients are summed over replicas: average them instead.
            scaled_loss = loss / tf.distribute.get_strategy().num_replicas_in_sync
        variables = self.feature_extractor.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        self.loss_tracker.update_state(loss)
        self.entropy_tracker.update_state(mean_entropy)
        self.diversity_tracker.update_state(batch_diversity)
        self.prior_kl_tracker.update_state(batch_prior_kl)
        self.pseudo_label_loss_tracker.update_state(pseudo_label_loss)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        config = super().get_config()
        config.update(network=keras.saving.serialize_keras_object(self.network),
                      beta=self.beta, diversity_weight=self.diversity_weight,
                      class_prior=self.class_prior.tolist())
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        return cls(**config)
