"""The DEC / IDEC training objective as a Keras model."""

import keras
import tensorflow as tf
from keras import ops

from tfunsup.autoencoders.losses import reconstruction_error
from tfunsup.cluster.dec_losses import clustering_kl_loss
from tfunsup.layers.student_t_clustering import StudentTClustering


@keras.saving.register_keras_serializable(package="tfunsup")
class DeepEmbeddedClustering(keras.Model):
    """Fine-tunes an encoder and cluster centers by KL self-training (DEC/IDEC).

    .. math::
        \\min_{E, \\mu} \\; \\mathrm{KL}(P \\| Q)
            + w \\, \\frac{1}{d} \\|x - D(E(x))\\|^2

    where Q are the Student-t soft assignments of the codes E(x) to the
    centers μ (`StudentTClustering`) and P the sharpened targets
    (`tfunsup.cluster.dec_losses.target_distribution`), recomputed by the
    caller every few hundred steps and passed in as the second element of
    each batch. With a `decoder` and `reconstruction_weight` w > 0 the
    reconstruction term keeps the latent space from distorting (IDEC: their
    L_r + γ L_c with γ = 0.1 is this loss scaled by γ with w = 10); without
    it this is DEC. Images may be augmented batches (DEC-DA) while P comes
    from the clean images. `compile(optimizer=...)` needs no loss.

    Args:
        encoder: `keras.Model`, images `(batch, height, width, channels)` ->
            codes `(batch, latent_dim)`.
        n_clusters: int >= 2.
        decoder: optional `keras.Model`, codes -> images (IDEC).
        reconstruction_weight: float >= 0, w above (needs `decoder`).
        alpha: Student-t degrees of freedom (1 in DEC).

    Call arguments:
        images: float32 `(batch, height, width, channels)` in [0, 1].

    Returns:
        Soft assignments Q, float32 `(batch, n_clusters)`.

    Reference:
        Xie, Girshick, Farhadi. Unsupervised Deep Embedding for Clustering
        Analysis. ICML 2016. Guo, Gao, Liu, Yin. Improved Deep Embedded
        Clustering with Local Structure Preservation. IJCAI 2017.
    """

    def __init__(self, encoder, n_clusters, decoder=None, reconstruction_weight=0.0,
                 alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if reconstruction_weight < 0 or (reconstruction_weight > 0 and decoder is None):
            raise ValueError(
                "Expected reconstruction_weight >= 0, and a decoder when it is > 0. "
                f"Received: reconstruction_weight={reconstruction_weight}, "
                f"decoder={'None' if decoder is None else decoder.name}")
        self.encoder = encoder
        self.decoder = decoder
        self.n_clusters = n_clusters
        self.reconstruction_weight = float(reconstruction_weight)
        self.alpha = float(alpha)
        self.clustering = StudentTClustering(n_clusters, alpha, name="clustering")
        self.clustering.build(encoder.outputs[0].shape)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.built = True

    def call(self, images, training=False):
        return self.clustering(self.encoder(images, training=training))

    @property
    def metrics(self):
        return [self.loss_tracker, self.kl_tracker, self.reconstruction_tracker]

    def _objective(self, images, p, training):
        codes = self.encoder(images, training=training)
        kl = ops.mean(clustering_kl_loss(p, self.clustering(codes)))
        reconstruction = ops.convert_to_tensor(0.0)
        if self.reconstruction_weight > 0:
            reconstruction = ops.mean(
                reconstruction_error(images, self.decoder(codes, training=training)))
        return kl + self.reconstruction_weight * reconstruction, kl, reconstruction

    def _track(self, loss, kl, reconstruction):
        self.loss_tracker.update_state(loss)
        self.kl_tracker.update_state(kl)
        self.reconstruction_tracker.update_state(reconstruction)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        images, p = data
        with tf.GradientTape() as tape:
            loss, kl, reconstruction = self._objective(images, p, training=True)
            scaled = loss / tf.distribute.get_strategy().num_replicas_in_sync
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._track(loss, kl, reconstruction)

    def test_step(self, data):
        images, p = data
        return self._track(*self._objective(images, p, training=False))

    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=(None if self.decoder is None
                     else keras.saving.serialize_keras_object(self.decoder)),
            n_clusters=self.n_clusters,
            reconstruction_weight=self.reconstruction_weight,
            alpha=self.alpha,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        if config.get("decoder") is not None:
            config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)
