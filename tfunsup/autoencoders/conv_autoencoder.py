"""Convolutional encoder, decoder and autoencoder builders (Keras functional)."""

import math

import keras

from tfunsup.autoencoders.dense_autoencoder import (
    build_autoencoder,
    check_image_shape,
    check_latent_dim,
)


def _check_filters(filters):
    filters = tuple(filters)
    if not filters or any(int(f) < 1 for f in filters):
        raise ValueError(
            f"Expected filters: a non-empty tuple of ints >= 1. Received: filters={filters}")
    return tuple(int(f) for f in filters)


def _padded_size(size, n_downsamplings):
    step = 2 ** n_downsamplings
    return int(math.ceil(size / step) * step)


def build_conv_encoder(input_shape, latent_dim, filters=(32, 64), name="encoder"):
    """Builds a convolutional encoder: strided 3x3 convolutions, then a dense latent layer.

    The input is zero-padded to a multiple of `2 ** len(filters)` first, so
    any image size works (28x28 MNIST, 8x8 digits, 32x32 CIFAR, ...).

    Args:
        input_shape: `(height, width, channels)` of the images.
        latent_dim: int >= 1, size of the latent code.
        filters: filters of each stride-2 convolution (each halves the size).
        name: model name.

    Returns:
        A functional `keras.Model` with input `"images"`, float32
        `(batch, height, width, channels)` in [0, 1], and output float32
        `(batch, latent_dim)` latent codes (linear).

    Raises:
        ValueError: on a bad `input_shape`, `latent_dim` or `filters`.
    """
    height, width, channels = check_image_shape(input_shape)
    latent_dim = check_latent_dim(latent_dim)
    filters = _check_filters(filters)
    n = len(filters)
    padded = (_padded_size(height, n), _padded_size(width, n))
    images = keras.Input(shape=(height, width, channels), name="images")
    x = images
    if padded != (height, width):
        x = keras.layers.ZeroPadding2D(
            ((0, padded[0] - height), (0, padded[1] - width)), name="pad")(x)
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, 3, strides=2, padding="same", activation="relu",
                                name=f"conv_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    latent = keras.layers.Dense(latent_dim, name="latent")(x)
    return keras.Model(images, latent, name=name)


def build_conv_decoder(latent_dim, output_shape, filters=(64, 32), name="decoder"):
    """Builds a convolutional decoder mirroring `build_conv_encoder`.

    Args:
        latent_dim: int >= 1, size of the latent code.
        output_shape: `(height, width, channels)` of the reconstructed images.
        filters: filters of each stride-2 transposed convolution (each
            doubles the size); pass the encoder's filters reversed.
        name: model name.

    Returns:
        A functional `keras.Model` with input `"latent"`, float32
        `(batch, latent_dim)`, and output float32 `(batch, height, width,
        channels)` in [0, 1] (sigmoid).

    Raises:
        ValueError: on a bad `output_shape`, `latent_dim` or `filters`.
    """
    height, width, channels = check_image_shape(output_shape)
    latent_dim = check_latent_dim(latent_dim)
    filters = _check_filters(filters)
    n = len(filters)
    padded = (_padded_size(height, n), _padded_size(width, n))
    start = (padded[0] // 2 ** n, padded[1] // 2 ** n)
    latent = keras.Input(shape=(latent_dim,), name="latent")
    x = keras.layers.Dense(start[0] * start[1] * filters[0], activation="relu",
                           name="project")(latent)
    x = keras.layers.Reshape((*start, filters[0]), name="reshape")(x)
    for i, f in enumerate(filters):
        x = keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu",
                                         name=f"deconv_{i}")(x)
    x = keras.layers.Conv2D(channels, 3, padding="same", activation="sigmoid",
                            name="reconstruction")(x)
    if padded != (height, width):
        x = keras.layers.Cropping2D(((0, padded[0] - height), (0, padded[1] - width)),
                                    name="crop")(x)
    return keras.Model(latent, x, name=name)


def build_conv_autoencoder(input_shape, latent_dim, filters=(32, 64), noise_stddev=0.0,
                           seed=None):
    """Builds a convolutional autoencoder from a conv encoder and decoder.

    Args:
        input_shape: `(height, width, channels)` of the images.
        latent_dim: int >= 1, size of the latent code.
        filters: encoder filters; the decoder uses them reversed.
        noise_stddev: float >= 0; Gaussian noise added to the input in
            training only (denoising autoencoder), 0 for none.
        seed: int seed of the noise.

    Returns:
        `(autoencoder, encoder, decoder)`: three functional `keras.Model`s
        sharing weights. `autoencoder` maps images `(batch, height, width,
        channels)` in [0, 1] to reconstructions of the same shape; train it
        with `compile(loss="mse")` or wrap the encoder and decoder in
        `tfunsup.autoencoders.Autoencoder`.

    Raises:
        ValueError: on a bad argument.
    """
    encoder = build_conv_encoder(input_shape, latent_dim, filters)
    decoder = build_conv_decoder(latent_dim, input_shape, tuple(reversed(tuple(filters))))
    return build_autoencoder(encoder, decoder, noise_stddev, seed), encoder, decoder
