"""Train a DCGAN / WGAN-GP on in-memory images: checks, networks, strategy,
`tf.data`, callbacks (samples, backup, NaN guard) and `fit` in one call."""

import keras
import numpy as np

from tfunsup.data import check_images, make_dataset
from tfunsup.gan.augment import check_policy
from tfunsup.gan.gan import GAN, OBJECTIVES, default_optimizers, sample_latents
from tfunsup.gan.networks import build_discriminator, build_generator
from tfunsup.gan.sample_grid import SampleGrid
from tfunsup.training import (
    op_determinism,
    resolve_mixed_precision,
    training_callbacks,
)
from tfunsup.training.acceleration import PRECISIONS
from tfunsup.utils.reproducibility import get_strategy, set_seed


def _loss_scaled(objective, d_optimizer, g_optimizer, fused):
    """The optimizers (defaults filled in) wrapped in dynamic loss scaling."""
    default_d, default_g = default_optimizers(objective, fused=fused)
    return (keras.optimizers.LossScaleOptimizer(d_optimizer or default_d),
            keras.optimizers.LossScaleOptimizer(g_optimizer or default_g))


def _check_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"Expected {name} >= {minimum}. Received: {name}={value!r}")


def check_gan_arguments(images, *, objective="gan", latent_dim=64, width=32, epochs=1,
                        batch_size=32, n_critic=None, pseudo_labels=None):
    """Validates `train_gan` arguments before any work starts.

    Returns:
        `(images, n_critic, pseudo_labels)`: float32 `(n, height, width,
        channels)` images, the resolved number of critic updates per
        generator update, and int32 `(n,)` pseudo-labels or None.

    Raises:
        ValueError: naming the offending argument and value.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"Expected objective in {OBJECTIVES}. Received: objective={objective!r}")
    _check_int("latent_dim", latent_dim)
    _check_int("width", width)
    _check_int("epochs", epochs)
    _check_int("batch_size", batch_size)
    if n_critic is None:
        n_critic = 5 if objective == "wgan-gp" else 1
    _check_int("n_critic", n_critic)
    images = check_images(images)
    if batch_size * n_critic > len(images):
        detail = f" x n_critic={n_critic}" if n_critic > 1 else ""
        raise ValueError(
            f"Expected batch_size{detail} <= the number of images ({len(images)}). "
            f"Received: batch_size={batch_size}")
    if pseudo_labels is not None:
        pseudo_labels = check_pseudo_labels(pseudo_labels, len(images))
        if latent_dim < 2:
            raise ValueError("Expected latent_dim >= 2 with pseudo_labels (the first latent "
                             f"coordinate picks the cluster). Received: latent_dim={latent_dim}")
    return images, n_critic, pseudo_labels


def check_pseudo_labels(pseudo_labels, n_images):
    """Pseudo-labels as int32 `(n,)`, each of >= 2 clusters 0..K-1 non-empty.

    Raises:
        ValueError: wrong shape or length, non-integer or negative values,
            fewer than 2 clusters, or an empty cluster.
    """
    labels = np.asarray(pseudo_labels)
    if labels.ndim != 1 or len(labels) != n_images:
        raise ValueError(f"Expected pseudo_labels of shape ({n_images},), one per image. "
                         f"Received shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ValueError("Expected pseudo_labels of non-negative integers (cluster ids). "
                         f"Received dtype {labels.dtype}, minimum {labels.min()}")
    counts = np.bincount(labels)
    if len(counts) < 2 or np.any(counts == 0):
        raise ValueError("Expected pseudo_labels with clusters 0..K-1, K >= 2, none empty. "
                         f"Received cluster sizes {counts.tolist()}")
    return labels.astype(np.int32)


def train_gan(images, *, objective="gan", latent_dim=64, width=32, discriminator_width=None,
              dropout=0.0, normalization=None, epochs=40, batch_size=32, n_critic=None,
              gp_weight=10.0, ema_decay=0.999, augment=None, d_optimizer=None, g_optimizer=None,
              seed=0, deterministic=False, strategy=None, jit_compile="auto",
              mixed_precision=None, fused_kernels=False, steps_per_execution=1,
              backup_dir=None, pseudo_labels=None,
              sample_dir=None, grid_latents=None, callbacks=None, verbose=0):
    """Trains a DCGAN-style GAN (or WGAN-GP) on unlabeled images.

    Builds `build_generator` / `build_discriminator` for the images' shape
    and a `GAN` under `strategy`, then fits it on a shuffled `tf.data`
    pipeline of batches of `batch_size * n_critic` images (the last partial
    batch is dropped), with `TerminateOnNaN`, a `SampleGrid` of 64 fixed
    latents, and `BackupAndRestore` when `backup_dir` is given: a run
    interrupted after some epochs continues from the last finished epoch when
    called again with the same arguments (the backup is deleted when training
    completes).

    The defaults are the networks and budget of `tfunsup gan`, which also
    conditions on `pseudo_labels=kmeans_pseudo_labels(images, 50)` (the
    README measures both on MNIST-5k, with the command next to each score).

    Args:
        images: float32 array `(n, height, width, channels)` in [0, 1]
            (rank 3 is taken as grayscale).
        objective: `"gan"` (non-saturating DCGAN) or `"wgan-gp"`.
        latent_dim: int >= 1. Size of the latent vectors.
        width: int >= 1. Generator width (see `build_generator`).
        discriminator_width: int >= 1; default `width` (see
            `build_discriminator`).
        dropout: discriminator dropout in [0, 1).
        normalization: discriminator normalization, None, `"batch"` (DCGAN),
            `"layer"` or `"spectral"` (see `build_discriminator`); not
            `"batch"` for WGAN-GP, whose penalty is per sample.
        epochs: int >= 1. Passes over the images.
        batch_size: int >= 1. Images per discriminator update;
            `batch_size * n_critic` must not exceed the number of images.
        n_critic: discriminator updates per generator update (default 1 for
            `"gan"`, 5 for `"wgan-gp"`).
        gp_weight: gradient-penalty weight (WGAN-GP).
        ema_decay: decay of the generator's weight average used for sampling
            and export (see `GAN`), or None for the last weights.
        augment: DiffAugment policies for the discriminator's inputs, e.g.
            `"translation"` (see `GAN`), or None.
        d_optimizer, g_optimizer: optimizers, default `default_optimizers`.
        seed: int; seeds the weights, shuffling and latents. None: unseeded.
        deterministic: bool; TensorFlow op determinism during training, so a
            seeded run repeats bit for bit on CPU (without XLA); the previous
            setting is restored on return.
        strategy: `tf.distribute.Strategy`; default the current one.
        jit_compile: XLA for the train step: `True`, `False`, or `"auto"`
            (XLA on a single GPU/TPU, off on CPUs, where it measured slower;
            see `tfunsup.training.resolve_jit_compile`).
        mixed_precision: None or `"float32"`, `"float16"` (GPUs:
            `mixed_float16` hidden layers, optimizers wrapped in
            `keras.optimizers.LossScaleOptimizer`), `"bfloat16"` (TPUs and
            CPUs with bfloat16 instructions: `mixed_bfloat16`, no loss
            scaling; float32 with a warning on other CPUs) or `"auto"`
            (`mixed_float16` on a GPU, `mixed_bfloat16` on a TPU, float32 on
            CPUs; see `tfunsup.training.resolve_mixed_precision`). Weights,
            generated images and logits stay float32.
        fused_kernels: bool; `tfunsup.layers.FusedBatchNormalization` and
            `tfunsup.optimizers.FusedAdam` (TensorFlow's fused kernels)
            instead of Keras' `BatchNormalization` and `Adam`.
        steps_per_execution: int >= 1. Train steps per call of the compiled
            train function (Keras `compile`): fewer Python round trips per
            step; callbacks then see every `steps_per_execution`-th batch.
        backup_dir: folder for `keras.callbacks.BackupAndRestore`, or None.
        pseudo_labels: None (unconditional), or int `(n,)` cluster ids of the
            images, e.g. from `tfunsup.gan.kmeans_pseudo_labels` (never the
            true labels: the flow is unsupervised): trains a cluster-
            conditioned GAN (a generator with `cluster_prior` = the cluster
            frequencies, a projection discriminator; see `GAN`).
        sample_dir: folder for the per-epoch sample-grid PNGs, or None.
        grid_latents: float32 `(n, latent_dim)` latents of the sample grid;
            default 64 from `sample_latents(64, latent_dim, seed)`.
        callbacks: more Keras callbacks.
        verbose: Keras `fit` verbosity.

    Returns:
        `(gan, history)`: the trained `GAN` and the `fit` history dict (lists
        of per-epoch `d_loss`, `g_loss` and, for WGAN-GP, `gradient_penalty`).
        `gan.sample_grid` is the `SampleGrid` callback (its `grids`).

    Raises:
        ValueError: before training, on images not in [0, 1] or of a wrong
            rank, `latent_dim < 1`, a batch larger than the data, etc.
    """
    images, n_critic, pseudo_labels = check_gan_arguments(
        images, objective=objective, latent_dim=latent_dim, width=width, epochs=epochs,
        batch_size=batch_size, n_critic=n_critic, pseudo_labels=pseudo_labels)
    if discriminator_width is None:
        discriminator_width = width
    _check_int("discriminator_width", discriminator_width)
    _check_int("steps_per_execution", steps_per_execution)
    if mixed_precision not in PRECISIONS:
        raise ValueError(f"Expected mixed_precision in {tuple(PRECISIONS)}. "
                         f"Received: mixed_precision={mixed_precision!r}")
    if objective == "wgan-gp" and normalization == "batch":
        raise ValueError("Expected normalization other than 'batch' for WGAN-GP (its "
                         "gradient penalty is per sample). Received: normalization='batch'")
    check_policy(augment)
    policy = resolve_mixed_precision(mixed_precision, gpu_float16=True)
    set_seed(seed)
    strategy = get_strategy(strategy)
    cluster_prior = n_clusters = None
    if pseudo_labels is not None:
        counts = np.bincount(pseudo_labels)
        cluster_prior, n_clusters = counts / counts.sum(), len(counts)
    batch_norm = "fused" if fused_kernels else "keras"
    with op_determinism(deterministic):
        with strategy.scope():
            generator = build_generator(images.shape[1:], latent_dim, width, dtype=policy,
                                        cluster_prior=cluster_prior, batch_norm=batch_norm)
            discriminator = build_discriminator(images.shape[1:], discriminator_width,
                                                dropout, normalization, dtype=policy,
                                                n_clusters=n_clusters, batch_norm=batch_norm)
            gan = GAN(generator, discriminator, objective=objective, n_critic=n_critic,
                      gp_weight=gp_weight, ema_decay=ema_decay, augment=augment, seed=seed)
            if d_optimizer is None or g_optimizer is None:
                default_d, default_g = default_optimizers(objective, fused=fused_kernels)
                d_optimizer = d_optimizer or default_d
                g_optimizer = g_optimizer or default_g
            if policy == "mixed_float16":
                d_optimizer, g_optimizer = _loss_scaled(objective, d_optimizer, g_optimizer,
                                                        fused_kernels)
            gan.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer,
                        jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        dataset = make_dataset(images, labels=pseudo_labels, batch_size=batch_size * n_critic,
                               shuffle=True, seed=seed, drop_remainder=True, autotune=False)
        latents = grid_latents if grid_latents is not None else sample_latents(
            64, latent_dim, seed or 0)
        grid = SampleGrid(latents, sample_dir)
        history = gan.fit(dataset, epochs=epochs, verbose=verbose,
                          callbacks=training_callbacks(backup_dir, [grid, *(callbacks or [])]),
                          shuffle=False)  # the dataset reshuffles itself
    gan.sample_grid = grid
    return gan, history.history
