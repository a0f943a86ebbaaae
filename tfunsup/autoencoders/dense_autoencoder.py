"""Dense (fully connected) encoder, decoder and autoencoder builders (Keras functional)."""

import math
import numbers

import keras


def check_latent_dim(latent_dim):
    """Returns `latent_dim` as an int; raises ValueError unless it is >= 1."""
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, numbers.Integral):
        raise ValueError(f"Expected an integer latent_dim. Received: latent_dim={latent_dim!r}")
    if latent_dim < 1:
        raise ValueError(f"Expected latent_dim >= 1. Received: latent_dim={latent_dim}")
    return int(latent_dim)


def check_image_shape(shape, name="input_shape"):
    """Returns `(height, width, channels)` as ints; raises ValueError otherwise."""
    shape = tuple(shape)
    if len(shape) != 3 or any(s is None or int(s) < 1 for s in shape) or shape[2] not in (1, 3):
        raise ValueError(
            f"Expected {name} `(height, width, channels)` with sizes >= 1 and 1 or 3 "
            f"channels. Received: {name}={shape}")
    return tuple(int(s) for s in shape)


def check_noise_stddev(noise_stddev):
    """Raises ValueError unless `noise_stddev` is a finite float >= 0."""
    if not (isinstance(noise_stddev, numbers.Real) and math.isfinite(noise_stddev)
            and noise_stddev >= 0):
        raise ValueError(f"Expected noise_stddev >= 0. Received: noise_stddev={noise_stddev!r}")
    return float(noise_stddev)


def _check_units(hidden_units):
    hidden_units = tuple(hidden_units)
    if any(int(u) < 1 for u in hidden_units):
        raise ValueError(f"Expected hidden_units >= 1. Received: hidden_units={hidden_units}")
    return tuple(int(u) for u in hidden_units)


def build_dense_encoder(input_shape, latent_dim, hidden_units=(256, 128), name="encoder"):
    """Builds a dense encoder: flatten, ReLU layers, a linear latent layer.

    Args:
        input_shape: `(height, width, channels)` of the images.
        latent_dim: int >= 1, size of the latent code.
        hidden_units: sizes of the hidden ReLU layers.
        name: model name.

    Returns:
        A functional `keras.Model` with input `"images"`, float32
        `(batch, height, width, channels)` in [0, 1], and output float32
        `(batch, latent_dim)`.

    Raises:
        ValueError: on a bad `input_shape`, `latent_dim` or `hidden_units`.
    """
    shape = check_image_shape(input_shape)
    latent_dim = check_latent_dim(latent_dim)
    images = keras.Input(shape=shape, name="images")
    x = keras.layers.Flatten(name="flatten")(images)
    for i, units in enumerate(_check_units(hidden_units)):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    latent = keras.layers.Dense(latent_dim, name="latent")(x)
    return keras.Model(images, latent, name=name)


def build_dense_decoder(latent_dim, output_shape, hidden_units=(128, 256), name="decoder"):
    """Builds a dense decoder: ReLU layers, then a sigmoid layer reshaped to images.

    Args:
        latent_dim: int >= 1, size of the latent code.
        output_shape: `(height, width, channels)` of the reconstructions.
        hidden_units: sizes of the hidden ReLU layers (the encoder's reversed).
        name: model name.

    Returns:
        A functional `keras.Model` with input `"latent"`, float32
        `(batch, latent_dim)`, and output float32 `(batch, height, width,
        channels)` in [0, 1].

    Raises:
        ValueError: on a bad `output_shape`, `latent_dim` or `hidden_units`.
    """
    shape = check_image_shape(output_shape, "output_shape")
    latent_dim = check_latent_dim(latent_dim)
    latent = keras.Input(shape=(latent_dim,), name="latent")
    x = latent
    for i, units in enumerate(_check_units(hidden_units)):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    x = keras.layers.Dense(math.prod(shape), activation="sigmoid", name="reconstruction")(x)
    outputs = keras.layers.Reshape(shape, name="reshape")(x)
    return keras.Model(latent, outputs, name=name)


def build_autoencoder(encoder, decoder, noise_stddev=0.0, seed=None, name="autoencoder"):
    """Chains an encoder and a decoder into one functional autoencoder.

    .. math::
        \\min_{E, D} \\; \\mathbb{E}_x \\|x - D(E(\\tilde{x}))\\|^2

    with :math:`\\tilde{x} = x + \\epsilon`, :math:`\\epsilon \\sim
    N(0, \\sigma^2)` in training when `noise_stddev` = σ > 0 (denoising), else
    :math:`\\tilde{x} = x`.

    Args:
        encoder: `keras.Model`, images -> `(batch, latent_dim)`.
        decoder: `keras.Model`, `(batch, latent_dim)` -> images.
        noise_stddev: float >= 0, training-time input noise.
        seed: int seed of the noise.
        name: model name.

    Returns:
        A functional `keras.Model` with input `"images"` whose layers are
        the encoder and decoder themselves (shared weights).

    Reference:
        Vincent et al. Extracting and Composing Robust Features with
        Denoising Autoencoders. ICML 2008.
    """
    noise_stddev = check_noise_stddev(noise_stddev)
    images = keras.Input(shape=encoder.inputs[0].shape[1:], name="images")
    x = images
    if noise_stddev > 0:
        x = keras.layers.GaussianNoise(noise_stddev, seed=seed, name="noise")(x)
    reconstructions = decoder(encoder(x))
    return keras.Model(images, reconstructions, name=name)


def build_dense_autoencoder(input_shape, latent_dim, hidden_units=(256, 128),
                            noise_stddev=0.0, seed=None):
    """Builds a dense autoencoder from a dense encoder and decoder.

    Args:
        input_shape: `(height, width, channels)` of the images.
        latent_dim: int >= 1, size of the latent code.
        hidden_units: encoder hidden sizes; the decoder uses them reversed.
        noise_stddev: float >= 0, training-time input noise (denoising).
        seed: int seed of the noise.

    Returns:
        `(autoencoder, encoder, decoder)`: functional `keras.Model`s sharing
        weights (see `build_conv_autoencoder`).

    Raises:
        ValueError: on a bad argument.
    """
    encoder = build_dense_encoder(input_shape, latent_dim, hidden_units)
    decoder = build_dense_decoder(latent_dim, input_shape, tuple(reversed(tuple(hidden_units))))
    return build_autoencoder(encoder, decoder, noise_stddev, seed), encoder, decoder
