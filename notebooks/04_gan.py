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
# **What this shows.** We train a DCGAN (non-saturating GAN loss) and a WGAN-GP
# (Wasserstein loss, gradient penalty at uniform random interpolates) on 5,000
# unlabeled MNIST digits, watch a fixed-latent sample grid improve epoch by
# epoch, and then *measure* the samples: FID and KID in the feature space of
# our MNIST-5k source model, and the Inception Score under our MNIST-5k digit
# classifier (10 is the maximum). Uniform noise and real digits are scored the
# same way, so every number has a floor and a ceiling next to it. Finally the
# generator is exported as a SavedModel that maps latent vectors to images.
# The labels are never used for training; they only score.
#
# **How long.** About 4 minutes for the DCGAN and 6 for the WGAN-GP on a 2-core CPU at the
# full budget. In CI it runs in a small-budget mode
# (`TFUNSUP_NOTEBOOK_BUDGET=small`): a subset, one epoch, tiny networks.
#
# **On Colab**, install tfunsup first (uncomment), then pick *Runtime → GPU*:

# %%
# !pip install -q "tfunsup @ git+https://github.com/<your-account>/tfunsup"

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from tfunsup.data import load_dataset
from tfunsup.gan import export_generator, sample_latents, train_gan
from tfunsup.gan.plots import image_grid
from tfunsup.metrics.generative import (
    classifier_inception_score,
    generative_scores,
    load_classifier,
    load_feature_extractor,
)

SMALL = os.environ.get("TFUNSUP_NOTEBOOK_BUDGET") == "small"
SEED = 0

# %% [markdown]
# ## The data: 5,000 real MNIST digits, labels set aside
#
# `mnist-5k` holds 500 digits per class, sorted by class; the GAN pipeline
# shuffles them. Images are float32 in [0, 1], shape `(n, 28, 28, 1)`.

# %%
data = load_dataset("mnist-5k")
images = data.images
if SMALL:
    images = images[np.random.default_rng(SEED).permutation(len(images))[:1024]]
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
# Pass `backup_dir=...` to resume an interrupted run, `jit_compile=True` for
# XLA (faster on GPUs, slower on CPUs).

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
print(f"{'images':<15}{'FID':>9}{'KID':>9}{'IS':>7}")
for name, s in rows.items():
    print(f"{name:<15}{s['fid']:>9.2f}{s['kid']:>9.3f}{s['inception_score']:>7.2f}")
print(f"{'real digits':<15}{'':>9}{'':>9}{real_is:>7.2f}")
print("share of each digit among the DCGAN samples:",
      np.round(rows["DCGAN"]["class_fractions"], 3))

# %% [markdown]
# ## WGAN-GP
#
# The critic minimises `E[C(G(z))] - E[C(x)] + 10 E[(||grad C(x_hat)|| - 1)^2]`
# at `x_hat = x + u (G(z) - x)`, `u ~ U[0, 1]` per sample (the keras-io example
# draws `u` from a normal distribution instead), with a norm that stays
# differentiable at 0 (no NaN when a gradient vanishes). It makes `n_critic`
# critic updates per generator update, each on fresh real images.

# %%
budget = dict(epochs=1, width=4) if SMALL else dict(epochs=60, width=32)  # In practice: 60+
wgan, wgan_history = train_gan(images, objective="wgan-gp", n_critic=5, batch_size=32,
                               ema_decay=0.999, discriminator_width=budget["width"], seed=SEED,
                               verbose=0 if SMALL else 2, **budget)
rows["WGAN-GP"] = generative_scores(real, wgan.generate(len(real), seed=1),
                                    feature_extractor=extractor, classifier=classifier)
for name, s in rows.items():
    print(f"{name:<15}{s['fid']:>9.2f}{s['kid']:>9.3f}{s['inception_score']:>7.2f}")

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
path = export_generator(dcgan, "runs/notebook_gan_generator", overwrite=True)
reloaded = tf.saved_model.load(str(path))
latents = sample_latents(16, dcgan.latent_dim, seed=3)
from_saved_model = reloaded.serve(latents).numpy()
in_memory = dcgan.sampler()(latents, training=False).numpy()
print("max difference SavedModel vs in-memory:", float(np.abs(from_saved_model - in_memory).max()))

# %% [markdown]
# **From the command line** the same run (with a backup to resume from, the
# sample grid per epoch, loss curves and `metrics.json`) is
# `tfunsup gan --loss gan` or `tfunsup gan --loss wgan-gp`.
