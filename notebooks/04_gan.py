# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # GANs that are measured: DCGAN and WGAN-GP on MNIST, with FID, KID and Inception Score
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/<owner>/tfunsup/blob/main/notebooks/04_gan.ipynb)
#
# **What this shows.** We train a DCGAN (non-saturating GAN loss) on 5,000
# unlabeled MNIST digits, watch a fixed-latent sample grid improve epoch by
# epoch, then condition it on k-means pseudo-labels of the same images (the
# `tfunsup gan` default) and train a cluster-conditioned WGAN-GP (Wasserstein
# loss, gradient penalty at uniform random interpolates). We *measure* the
# samples: FID and KID in the feature space of
# our MNIST-5k source model, and the Inception Score under our MNIST-5k digit
# classifier (10 is the maximum). Uniform noise and real digits are scored the
# same way, so every number has a floor and a ceiling next to it. Finally the
# generator is exported as a SavedModel that maps latent vectors to images.
# The labels are never used for training; they only score.
#
# **Budget.** The full budget trains each GAN for minutes on a CPU; a GPU
# runtime (*Runtime → Change runtime type* on Colab) runs the same code. In
# CI it runs in a small-budget mode (`TFUNSUP_NOTEBOOK_BUDGET=small`): a
# subset, one epoch, tiny networks.

# %%
# Colab or a fresh environment: install tfunsup from its repository. The URL
# is set once, here; the install is skipped when tfunsup already imports
# (a clone installed with `pip install -e .`).
REPO_URL = "git+https://github.com/<owner>/tfunsup"

import importlib.util
import subprocess
import sys

if importlib.util.find_spec("tfunsup") is None:
    if "<owner>" in REPO_URL:
        raise RuntimeError(f"Set REPO_URL to the tfunsup repository. Received: {REPO_URL}")
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", REPO_URL])

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from tfunsup.data import load_dataset
from tfunsup.gan import (
    cluster_latents,
    export_generator,
    kmeans_pseudo_labels,
    sample_latents,
    train_gan,
)
from tfunsup.gan.plots import image_grid
from tfunsup.metrics import cluster_purity
from tfunsup.metrics.generative import (
    classifier_inception_score,
    generative_scores,
    load_classifier,
    load_feature_extractor,
    nearest_neighbor_scores,
)
from tfunsup.source import ensure_source_model

SMALL = os.environ.get("TFUNSUP_NOTEBOOK_BUDGET") == "small"
SEED = 0

# %% [markdown]
# ## The data: 5,000 real MNIST digits, labels set aside
#
# `mnist-5k` holds 500 digits per class, sorted by class; the GAN pipeline
# shuffles them. Images are float32 in [0, 1], shape `(n, 28, 28, 1)`.

# %%
data = load_dataset("mnist-5k")
images, labels = data.images, data.labels
if SMALL:
    keep = np.random.default_rng(SEED).permutation(len(images))[:1024]
    images, labels = images[keep], labels[keep]
print(images.shape, images.dtype, float(images.min()), float(images.max()))

plt.figure(figsize=(4, 4))
plt.imshow(image_grid(images[np.random.default_rng(1).permutation(len(images))[:64]])[..., 0],
           cmap="gray")
plt.axis("off")
plt.title("real digits")
plt.show()

# %% [markdown]
# ## Train a DCGAN
#
# `train_gan` checks the input, builds a DCGAN generator (transposed
# convolutions, batch norm) and discriminator (strided convolutions, leaky
# ReLU) for the images' shape, and fits the `GAN` model on a shuffled
# `tf.data` pipeline with `TerminateOnNaN` and a `SampleGrid` callback of 64
# fixed latents. Each train step makes one discriminator update and one
# generator update, each with its own `tf.GradientTape` (the generator update
# reuses the images just generated for the discriminator, as PyTorch's DCGAN
# example does). Samples come from an exponential moving average of the
# generator's weights (`ema_decay`).
# Pass `backup_dir=...` to resume an interrupted run. The train step is
# XLA-compiled on a GPU by default (`jit_compile="auto"`, off on CPUs, where
# XLA measured slower for this step); `mixed_precision="auto"` adds
# `mixed_float16` on a GPU.

# %%
# The `tfunsup gan` defaults; the small budget only checks that the notebook runs.
budget = dict(epochs=1, width=4) if SMALL else dict(epochs=40, width=32)  # In practice: 40+
dcgan, dcgan_history = train_gan(images, objective="gan", batch_size=32, ema_decay=0.999,
                                 discriminator_width=budget["width"], seed=SEED,
                                 verbose=0 if SMALL else 2, **budget)

# %%
grids = dcgan.sample_grid.grids
shown = sorted(grids)[:: max(1, len(grids) // 4)] + ([max(grids)] if len(grids) > 1 else [])
fig, axes = plt.subplots(1, len(shown), figsize=(3.2 * len(shown), 3.4), squeeze=False)
for ax, epoch in zip(axes[0], shown):
    ax.imshow(image_grid(grids[epoch][:36])[..., 0], cmap="gray")
    ax.set_title(f"epoch {epoch}")
    ax.axis("off")
plt.suptitle("DCGAN samples of the same 36 latents")
plt.show()

plt.figure(figsize=(5, 3))
for name, values in dcgan_history.items():
    plt.plot(np.arange(1, len(values) + 1), values, label=name, marker=".")
plt.xlabel("epoch")
plt.legend()
plt.title("DCGAN losses")
plt.show()

# %% [markdown]
# ## Measure the samples
#
# - **FID** (Heusel et al. 2017): Fréchet distance between Gaussians fitted to
#   real and generated features; 0 for identical statistics.
# - **KID** (Bińkowski et al. 2018): unbiased squared MMD with a cubic kernel;
#   near 0 (possibly slightly negative) for the same distribution.
# - **Inception Score** (Salimans et al. 2016) under a digit classifier:
#   high when each sample is confidently one digit and all digits appear.
#
# For MNIST the features are our MNIST-5k source model's (a domain model, the
# usual practice for digits); pass `load_feature_extractor("keras:InceptionV3")`
# or a TF Hub handle for natural images.

# %%
n_samples = 500 if SMALL else 5000
ensure_source_model()  # trains the MNIST-5k source model if it is missing (once)
extractor = load_feature_extractor()
classifier = load_classifier()
real = images[np.random.default_rng(SEED).permutation(len(images))[:n_samples]]
noise = np.random.default_rng(2).random(real.shape, dtype=np.float32)
rows = {
    "DCGAN": generative_scores(real, dcgan.generate(len(real), seed=1),
                               feature_extractor=extractor, classifier=classifier),
    "uniform noise": generative_scores(real, noise, feature_extractor=extractor,
                                       classifier=classifier),
}
real_is = classifier_inception_score(real, classifier)["inception_score"]
print(f"{'images':<20}{'FID':>9}{'KID':>9}{'IS':>7}")
for name, s in rows.items():
    print(f"{name:<20}{s['fid']:>9.2f}{s['kid']:>9.3f}{s['inception_score']:>7.2f}")
print(f"{'real digits':<20}{'':>9}{'':>9}{real_is:>7.2f}")
print("share of each digit among the DCGAN samples:",
      np.round(rows["DCGAN"]["class_fractions"], 3))

# %% [markdown]
# ## Condition on pseudo-labels: the `tfunsup gan` default
#
# The unconditional DCGAN's weakest samples are malformed digits halfway
# between two classes. Without any labels we can still tell the GAN *which
# kind* of image to draw: k-means on the pixels (after PCA) splits the images
# into 50 clusters — more than the 10 digits, so each cluster is nearly pure
# — and their ids become **pseudo-labels**. The generator gets the cluster
# as a one-hot code, picked by its first latent coordinate (so it still maps
# plain N(0, I) latents to images, drawing clusters in proportion to their
# sizes), and a projection discriminator (Miyato & Koyama 2018) scores each
# image against its cluster. This is the clustering variant of Lucic et al.
# (2019). The true labels only score the clusters (purity: the share of
# images in their cluster's majority digit).

# %%
n_clusters = 20 if SMALL else 50
pseudo_labels = kmeans_pseudo_labels(images, n_clusters, seed=SEED)
print(f"{n_clusters} clusters, purity {cluster_purity(labels, pseudo_labels):.3f}, "
      f"sizes {np.bincount(pseudo_labels).min()}-{np.bincount(pseudo_labels).max()}")

budget = dict(epochs=1, width=4) if SMALL else dict(epochs=40, width=32)
conditioned, _ = train_gan(images, objective="gan", batch_size=32, ema_decay=0.999,
                           discriminator_width=budget["width"], seed=SEED,
                           pseudo_labels=pseudo_labels, verbose=0 if SMALL else 2, **budget)
rows["DCGAN, 50 clusters"] = generative_scores(
    real, conditioned.generate(len(real), seed=1), feature_extractor=extractor,
    classifier=classifier)
for name, s in rows.items():
    print(f"{name:<20}{s['fid']:>9.2f}{s['kid']:>9.3f}{s['inception_score']:>7.2f}")

# %% [markdown]
# Each row below is one cluster: `cluster_latents` places latents in chosen
# clusters. Within a row the digit stays the same and the style varies.

# %%
shown_clusters = np.arange(10)
grid_latents = cluster_latents(np.repeat(shown_clusters, 8), conditioned.latent_dim,
                               conditioned.cluster_prior, seed=4)
per_cluster = conditioned.sampler().predict(grid_latents, verbose=0)
plt.figure(figsize=(4, 5))
plt.imshow(image_grid(per_cluster, n_cols=8)[..., 0], cmap="gray")
plt.axis("off")
plt.title("8 samples of each of 10 clusters")
plt.show()

# %% [markdown]
# **Are the samples copies?** A generator conditioned on clusters of ~100
# images could memorise them. `nearest_neighbor_scores` compares each sample's
# pixel distance to its nearest training image with the training images'
# distances to each other: copies would sit far closer (ratio well below 1).

# %%
copying = nearest_neighbor_scores(images, conditioned.generate(len(real), seed=1))
print({k: round(v, 3) for k, v in copying.items()})

# %% [markdown]
# ## WGAN-GP, cluster-conditioned
#
# The critic minimises `E[C(G(z))] - E[C(x)] + 10 E[(||grad C(x_hat)|| - 1)^2]`
# at `x_hat = x + u (G(z) - x)`, `u ~ U[0, 1]` per sample (the keras-io example
# draws `u` from a normal distribution instead), with a norm that stays
# differentiable at 0 (no NaN when a gradient vanishes). It makes `n_critic`
# critic updates per generator update, each on fresh real images; generated
# images get the clusters of the real images they are compared with, so the
# interpolates are of one cluster too.

# %%
budget = dict(epochs=1, width=4) if SMALL else dict(epochs=60, width=32)
wgan, wgan_history = train_gan(images, objective="wgan-gp", n_critic=5, batch_size=32,
                               ema_decay=0.999, discriminator_width=budget["width"], seed=SEED,
                               pseudo_labels=pseudo_labels, verbose=0 if SMALL else 2,
                               **budget)
rows["WGAN-GP, 50 clusters"] = generative_scores(
    real, wgan.generate(len(real), seed=1), feature_extractor=extractor, classifier=classifier)
for name, s in rows.items():
    print(f"{name:<20}{s['fid']:>9.2f}{s['kid']:>9.3f}{s['inception_score']:>7.2f}")

plt.figure(figsize=(4, 4))
plt.imshow(image_grid(wgan.sample_grid.grids[max(wgan.sample_grid.grids)])[..., 0], cmap="gray")
plt.axis("off")
plt.title("WGAN-GP samples")
plt.show()

# %% [markdown]
# ## Export the generator and use it without tfunsup
#
# The SavedModel's `serve` signature maps float32 latents `(n, latent_dim)` to
# images `(n, 28, 28, 1)` in [0, 1]. Keep the loaded object referenced while
# you call it.

# %%
path = export_generator(conditioned, "runs/notebook_gan_generator", overwrite=True)
reloaded = tf.saved_model.load(str(path))
latents = sample_latents(16, conditioned.latent_dim, seed=3)
from_saved_model = reloaded.serve(latents).numpy()
in_memory = conditioned.sampler()(latents, training=False).numpy()
print("max difference SavedModel vs in-memory:", float(np.abs(from_saved_model - in_memory).max()))

# %% [markdown]
# **From the command line** the same run (with a backup to resume from, the
# sample grid per epoch, loss curves and `metrics.json`) is
# `tfunsup gan --loss gan` or `tfunsup gan --loss wgan-gp` (conditioned on 50
# clusters), and `tfunsup gan --n-clusters 0` for the unconditional DCGAN.
