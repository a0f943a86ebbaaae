"""DCGAN-style generator and discriminator builders (architecture only, no loss)."""

import keras

from tfunsup.gan.conditioning import ClusterCode
from tfunsup.layers import FusedBatchNormalization

# Smallest feature map the generator starts from / the discriminator ends at.
_MIN_BASE_SIZE = 4
_MAX_STAGES = 4


def _check_image_shape(image_shape):
    shape = tuple(image_shape)
    if len(shape) != 3 or any(not isinstance(d, int) or d < 1 for d in shape):
        raise ValueError(
            "Expected image_shape `(height, width, channels)` of positive ints. "
            f"Received: image_shape={image_shape}")
    if shape[2] not in (1, 3):
        raise ValueError(f"Expected 1 or 3 channels. Received: image_shape={image_shape}")
    return shape


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Expected {name} >= 1. Received: {name}={value!r}")


def upsampling_stages(image_shape):
    """Number of stride-2 stages between the base feature map and the image.

    Height and width are halved while both stay even and the result stays
    >= 4 (28 -> 14 -> 7: 2 stages; 32 -> 16 -> 8 -> 4: 3 stages), at most 4.

    Args:
        image_shape: `(height, width, channels)`.

    Returns:
        int in [0, 4].
    """
    height, width, _ = _check_image_shape(image_shape)
    stages = 0
    while (stages < _MAX_STAGES and height % 2 == 0 and width % 2 == 0
           and min(height, width) // 2 >= _MIN_BASE_SIZE):
        height, width, stages = height // 2, width // 2, stages + 1
    return stages


BATCH_NORMS = ("keras", "fused")


def _batch_norm(kind, name, dtype):
    if kind not in BATCH_NORMS:
        raise ValueError(f"Expected batch_norm in {BATCH_NORMS}. Received: batch_norm={kind!r}")
    cls = FusedBatchNormalization if kind == "fused" else keras.layers.BatchNormalization
    return cls(name=name, dtype=dtype)


def build_generator(image_shape=(28, 28, 1), latent_dim=64, width=16, dtype=None,
                    name="generator", cluster_prior=None, batch_norm="keras"):
    """Builds a DCGAN generator from latent vectors to images.

    A dense projection to a small feature map, a stride-1 transposed
    convolution at that size, then stride-2 transposed convolutions halving
    the filters, each followed by batch norm and leaky ReLU; the last
    transposed convolution outputs the image through a sigmoid (the batch
    norm's class: `batch_norm`). For 28x28 with `width=16`:
    `latent -> 7x7x64 -> 7x7x32 -> 14x14x16 -> 28x28xC`.

    Args:
        image_shape: `(height, width, channels)` of the images, channels 1 or 3.
        latent_dim: int >= 1. Size of the latent vectors.
        width: int >= 1. Filters of the last hidden layer (doubling towards
            the projection).
        dtype: dtype policy of the hidden layers, e.g. `"mixed_float16"`
            (GPU) or `"mixed_bfloat16"` (TPU, recent CPUs); None for the
            global policy. The output stays float32.
        name: model name.
        cluster_prior: None (unconditional), or the `(n_clusters,)` cluster
            frequencies of a cluster-conditioned generator: the first latent
            coordinate then picks the cluster (`conditioning.ClusterCode`,
            one-hot) and the other `latent_dim - 1` drive the image.
        batch_norm: `"keras"` (`keras.layers.BatchNormalization`) or
            `"fused"` (`tfunsup.layers.FusedBatchNormalization`, the same
            layer trained with TensorFlow's fused kernels; see
            `benchmarks/bench_gan.py` for what it gains on your machine).

    Returns:
        A functional `keras.Model` with input `"latents"` float32
        `(batch, latent_dim)` and output float32 `(batch, height, width,
        channels)` in [0, 1].

    Raises:
        ValueError: on a bad `image_shape`, `latent_dim` or `width`.

    Reference:
        Radford, Metz, Chintala. Unsupervised Representation Learning with
        Deep Convolutional Generative Adversarial Networks. ICLR 2016.
    """
    height, image_width, channels = _check_image_shape(image_shape)
    _check_positive("latent_dim", latent_dim)
    _check_positive("width", width)
    if cluster_prior is not None and latent_dim < 2:
        raise ValueError("Expected latent_dim >= 2 with cluster_prior (the first coordinate "
                         f"picks the cluster). Received: latent_dim={latent_dim}")
    stages = upsampling_stages(image_shape)
    base_h, base_w = height >> stages, image_width >> stages
    filters = width * 2 ** max(stages, 1)

    latents = keras.Input(shape=(latent_dim,), name="latents")
    x = latents
    if cluster_prior is not None:
        x = ClusterCode(cluster_prior, name="cluster_code")(x)
    x = keras.layers.Dense(base_h * base_w * filters, use_bias=False, name="project",
                           dtype=dtype)(x)
    x = _batch_norm(batch_norm, "project_bn", dtype)(x)
    x = keras.layers.LeakyReLU(0.2, dtype=dtype)(x)
    x = keras.layers.Reshape((base_h, base_w, filters), dtype=dtype)(x)
    for stage in range(stages):
        filters //= 2
        strides = 1 if stage == 0 else 2
        x = keras.layers.Conv2DTranspose(filters, 4, strides=strides, padding="same",
                                         use_bias=False, name=f"up{stage}", dtype=dtype)(x)
        x = _batch_norm(batch_norm, f"up{stage}_bn", dtype)(x)
        x = keras.layers.LeakyReLU(0.2, dtype=dtype)(x)
    x = keras.layers.Conv2DTranspose(channels, 4, strides=2 if stages else 1, padding="same",
                                     name="to_image", dtype=dtype)(x)
    # The sigmoid in float32 under a mixed-precision policy (Keras guide).
    images = keras.layers.Activation("sigmoid", dtype="float32", name="images")(x)
    return keras.Model(latents, images, name=name)


NORMALIZATIONS = (None, "batch", "layer", "spectral")


def build_discriminator(image_shape=(28, 28, 1), width=32, dropout=0.0, normalization=None,
                        dtype=None, name="discriminator", n_clusters=None, batch_norm="keras"):
    """Builds a DCGAN discriminator (or WGAN critic) from images to one logit.

    Stride-2 convolutions with leaky ReLU (slope 0.2), doubling the filters,
    one more stride-2 3x3 convolution, then a dense layer to one unnormalised
    score. No batch norm, so it also serves as a WGAN-GP critic (the gradient
    penalty is per sample). For 28x28 with `width=32`:
    `28x28xC -> 14x14x32 -> 7x7x64 -> 4x4x128 -> 1`.

    Args:
        image_shape: `(height, width, channels)` of the images.
        width: int >= 1. Filters of the first convolution.
        dropout: float in [0, 1). Dropout after each 4x4 convolution.
        dtype: dtype policy of the hidden layers (see `build_generator`);
            the logits stay float32.
        name: model name.
        n_clusters: None (unconditional), or int >= 2: a projection
            discriminator for cluster-conditioned GANs, with a second input
            `"labels"` int32 `(batch,)` and logits `dense(h) + <embed(label),
            h>` on the last features `h` (Miyato & Koyama 2018).
        batch_norm: the layer of `normalization="batch"`, `"keras"` or
            `"fused"` (see `build_generator`).

    Returns:
        A functional `keras.Model` with input `"images"` float32 `(batch,
        height, width, channels)` in [0, 1] (rescaled to [-1, 1] inside)
        (and `"labels"` with `n_clusters`) and output float32 `(batch, 1)`
        logits.

    Raises:
        ValueError: on a bad `image_shape`, `width`, `dropout` or `n_clusters`.

    Reference:
        Miyato, Koyama. cGANs with Projection Discriminator. ICLR 2018.
    """
    image_shape = _check_image_shape(image_shape)
    _check_positive("width", width)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"Expected dropout in [0, 1). Received: dropout={dropout}")
    if batch_norm not in BATCH_NORMS:
        raise ValueError(
            f"Expected batch_norm in {BATCH_NORMS}. Received: batch_norm={batch_norm!r}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"Expected normalization in {NORMALIZATIONS}. "
                         f"Received: normalization={normalization!r}")
    if n_clusters is not None and (isinstance(n_clusters, bool) or not isinstance(
            n_clusters, int) or n_clusters < 2):
        raise ValueError(f"Expected n_clusters >= 2 or None. Received: n_clusters={n_clusters!r}")
    stages = max(upsampling_stages(image_shape), 1)

    def conv(x, filters, kernel, name, first=False):
        layer = keras.layers.Conv2D(filters, kernel, strides=2, padding="same", name=name,
                                    dtype=dtype)
        if normalization == "spectral":
            layer = keras.layers.SpectralNormalization(layer, name=f"{name}_sn", dtype=dtype)
        x = layer(x)
        if normalization == "batch" and not first:
            x = _batch_norm(batch_norm, f"{name}_bn", dtype)(x)
        elif normalization == "layer" and not first:
            x = keras.layers.LayerNormalization(name=f"{name}_ln", dtype=dtype)(x)
        return keras.layers.LeakyReLU(0.2, dtype=dtype)(x)

    images = keras.Input(shape=image_shape, name="images")
    x = keras.layers.Rescaling(2.0, offset=-1.0, dtype=dtype)(images)
    filters = width
    for stage in range(stages):
        x = conv(x, filters, 4, f"down{stage + 1}", first=stage == 0)
        if dropout:
            x = keras.layers.Dropout(dropout, dtype=dtype)(x)
        filters *= 2
    x = conv(x, filters, 3, f"down{stages + 1}")
    x = keras.layers.Flatten(dtype=dtype)(x)
    if n_clusters is None:
        logits = keras.layers.Dense(1, dtype="float32", name="logits")(x)
        return keras.Model(images, logits, name=name)
    labels = keras.Input(shape=(), dtype="int32", name="labels")
    score = keras.layers.Dense(1, dtype="float32", name="score")(x)
    embedded = keras.layers.Embedding(n_clusters, x.shape[-1], name="cluster_embedding",
                                      dtype=dtype)(labels)
    projection = keras.layers.Dot(axes=1, dtype="float32", name="projection")([embedded, x])
    logits = keras.layers.Add(dtype="float32", name="logits")([score, projection])
    return keras.Model([images, labels], logits, name=name)
