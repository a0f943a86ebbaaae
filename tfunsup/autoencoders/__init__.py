"""Autoencoders: dense and convolutional encoder/decoder builders, the
reconstruction objective as a Keras model, and an estimator for
dimensionality reduction."""

from tfunsup.autoencoders.autoencoder import Autoencoder
from tfunsup.autoencoders.autoencoder_estimator import AutoencoderEstimator
from tfunsup.autoencoders.conv_autoencoder import (
    build_conv_autoencoder,
    build_conv_decoder,
    build_conv_encoder,
)
from tfunsup.autoencoders.dense_autoencoder import (
    build_autoencoder,
    build_dense_autoencoder,
    build_dense_decoder,
    build_dense_encoder,
)
from tfunsup.autoencoders.evaluation import latent_kmeans_report
from tfunsup.autoencoders.losses import reconstruction_error

__all__ = [
    "Autoencoder", "AutoencoderEstimator", "build_autoencoder", "build_conv_autoencoder",
    "build_conv_decoder", "build_conv_encoder", "build_dense_autoencoder",
    "build_dense_decoder", "build_dense_encoder", "latent_kmeans_report", "reconstruction_error",
]
