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
# # Unsupervised pretraining → fine-tuning, and source → target transfer
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/<owner>/tfunsup/blob/main/notebooks/03_pretrain_finetune.ipynb)
#
# **What this shows.**
# 1. *Pretraining without labels*: an encoder learns from unlabeled MNIST
#    digits with a contrastive SimCLR objective (two random views of each
#    image should agree), or with an autoencoder objective.
# 2. *Fine-tuning with few labels*: a linear probe on the frozen encoder,
#    then the whole network fine-tuned at a lower learning rate, against the
#    identical network trained from scratch on the same labels: the
#    label-efficiency experiment at 1 %, 5 %, 10 % and 100 % of the labels.
# 3. *Source → target transfer*: a model trained on labeled MNIST (source)
#    is reused on scikit-learn's 8×8 `digits` (target): its layers are the
#    frozen **shared layers**, new **task-specific layers** are trained on a
#    few target labels, then the shared part is unfrozen and fine-tuned.
#
# **Budget.** The full budget trains for minutes on a CPU; a GPU runtime
# (*Runtime → Change runtime type* on Colab) compiles the train steps with
# XLA. In CI it runs in a small-budget mode (`TFUNSUP_NOTEBOOK_BUDGET=small`)
# with tiny budgets, so its numbers there are not meaningful; the README
# records the full `tfunsup finetune` run with its command.

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
from sklearn.model_selection import train_test_split

from tfunsup.data import load_dataset, to_image_spec
from tfunsup.pretraining import EncoderPretrainer, build_augmenter, label_efficiency
from tfunsup.pretraining.label_efficiency import labeled_subset
from tfunsup.source import MNIST_IMAGE_SPEC, ensure_source_model
from tfunsup.transfer import TransferClassifier, build_target_model

SMALL = os.environ.get("TFUNSUP_NOTEBOOK_BUDGET") == "small"
SEED = 0

# %% [markdown]
# ## 1. Data: an unlabeled training split and a labeled test split
# `mnist-5k` is sorted by class, so split with shuffling (stratified).
# Pretraining sees the training images only, without labels.

# %%
mnist = load_dataset("mnist-5k")
images, labels = mnist.images, mnist.labels
if SMALL:
    keep = labeled_subset(labels, 0.2, SEED)  # In practice, use all 5,000.
    images, labels = images[keep], labels[keep]
x_train, x_test, y_train, y_test = train_test_split(
    images, labels, test_size=0.2, stratify=labels, random_state=SEED)
print(x_train.shape, x_test.shape)

# %% [markdown]
# ## 2. SimCLR views
# Each image is augmented twice (random zoom, rotation, translation,
# contrast); the NT-Xent loss pulls the two views of an image together and
# pushes the other images of the batch away.

# %%
augmenter = build_augmenter((28, 28, 1), seed=SEED)
fig, axes = plt.subplots(3, 8, figsize=(8, 3.2))
for col in range(8):
    axes[0, col].imshow(x_train[col, ..., 0], cmap="gray")
    for row in (1, 2):
        view = augmenter(x_train[col:col + 1], training=True)[0, ..., 0]
        axes[row, col].imshow(np.asarray(view), cmap="gray")
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("original (top) and two random views")
plt.show()

# %% [markdown]
# ## 3. Pretraining the encoder (no labels)
# The encoder is the conv encoder of `tfunsup.autoencoders` with a 64-d output.

# %%
pretrainer = EncoderPretrainer("simclr", "conv", latent_dim=64,
                               epochs=1 if SMALL else 30,  # In practice, 30+ epochs.
                               batch_size=256, seed=SEED, verbose=2)
pretrainer.fit(x_train)
encoder = pretrainer.encoder_

# %% [markdown]
# ## 4. Linear probe then fine-tuning, against scratch: label efficiency
# For every label fraction and seed, a class-stratified labeled subset of
# the training split trains two networks with the identical architecture
# (the encoder plus a softmax layer), for the same number of steps:
#
# - **pretrained**: a linear probe on the frozen pretrained encoder
#   (`head_steps` at learning rate 1e-2), then the whole network fine-tuned
#   at a lower learning rate (`fine_tune_steps` at 3e-4);
# - **scratch**: the same network from random weights, trained end to end.
#
# Test accuracy is measured on the held-out split. Each run is a
# `TransferClassifier` (`tfunsup.transfer`); `tfunsup finetune` runs exactly
# this experiment (its default is recorded in the README).

# %%
result = label_efficiency(
    encoder, x_train, y_train, x_test, y_test,
    fractions=(0.05,) if SMALL else (0.01, 0.05, 0.1, 1.0),
    seeds=(0,) if SMALL else (0, 1, 2),
    head_steps=5 if SMALL else 200, fine_tune_steps=5 if SMALL else 100)
for row in result["label_efficiency"]:
    print(f"{100 * row['fraction']:>5g}%  {row['method']:<10}  "
          f"{row['mean_acc']:.3f} ± {row['std_acc']:.3f}  ({row['seeds']} seeds)")

# %%
fig, ax = plt.subplots(figsize=(5, 3.5))
for method in ("pretrained", "scratch"):
    rows = [r for r in result["label_efficiency"] if r["method"] == method]
    ax.errorbar([100 * r["fraction"] for r in rows], [r["mean_acc"] for r in rows],
                yerr=[r["std_acc"] for r in rows], marker="o", capsize=3, label=method)
ax.set_xscale("log")
ax.set_xlabel("labeled fraction (%)")
ax.set_ylabel("test accuracy")
ax.legend()
plt.show()

# %% [markdown]
# The autoencoder objective is the other choice
# (`EncoderPretrainer("autoencoder", ...)`, `tfunsup finetune --method
# autoencoder`); on MNIST-5k it helps far less at 1 % labels than SimCLR
# (see the README for both measured tables).
#
# ## 5. Source → target transfer with shared and task-specific layers
# The source: a CNN trained on labeled MNIST-5k, exported as a TF Hub-style
# SavedModel (trained in ~16 s when absent). The target: scikit-learn's
# `digits`, 8×8 images from other writers, with only 10 labels per class.
# Both models below see the digits in MNIST's framing (20×20 centred in
# 28×28).

# %%
source_path = ensure_source_model()
digits = load_dataset("digits")
framed = np.asarray(to_image_spec(digits.images, MNIST_IMAGE_SPEC))
target_train = labeled_subset(digits.labels, 100 / len(digits), SEED)
target_test = np.setdiff1d(np.arange(len(digits)), target_train)
print(framed.shape, len(target_train), "labeled target images")

# %% [markdown]
# `build_target_model` reuses the source as frozen shared layers and adds
# task-specific layers. With an in-memory Keras source you can also keep
# only its first N layers (`shared_layers=N`); a SavedModel or TF Hub
# handle is shared whole.

# %%
target_model, shared = build_target_model(str(source_path), n_classes=10, head_units=(64,))
print([layer.name for layer in target_model.layers])
print("trainable weights while the shared layers are frozen:",
      [w.path for w in target_model.trainable_weights])

# %%
transfer = TransferClassifier(
    str(source_path), head_units=(64,), head_epochs=5 if SMALL else 60,
    head_learning_rate=3e-3, fine_tune_epochs=2 if SMALL else 20,
    fine_tune_learning_rate=1e-4, batch_size=32, seed=SEED)
transfer.fit(framed[target_train], digits.labels[target_train])
transfer_acc = transfer.score(framed[target_test], digits.labels[target_test])

# From scratch: the source architecture, randomly initialised, same labels and steps.
from tfunsup.source import build_source_cnn  # noqa: E402

_, source_architecture = build_source_cnn(seed=SEED)
baseline = TransferClassifier(source_architecture, scratch=True, head_units=(64,),
                              head_epochs=7 if SMALL else 80, batch_size=32, seed=SEED)
baseline.fit(framed[target_train], digits.labels[target_train])
print(f"transfer (shared + task-specific layers): {transfer_acc:.3f}")
print(f"from scratch:                             "
      f"{baseline.score(framed[target_test], digits.labels[target_test]):.3f}")

# %% [markdown]
# The target model exports as one SavedModel; keep the loaded object
# referenced while you call it.

# %%
path = transfer.export("digits_target_model", overwrite=True)
served = tf.saved_model.load(str(path))
np.testing.assert_allclose(served.serve(tf.constant(framed[:16])).numpy(),
                           transfer.predict_proba(framed[:16]), atol=1e-5)
print("exported", path)

# %% [markdown]
# Shared layers from a Keras model: the pretrained SimCLR encoder's first
# two layers (the convolutions), globally pooled, with a new head.

# %%
partial, partial_shared = build_target_model(encoder, n_classes=10, shared_layers=2)
print("shared output:", partial_shared.output.shape)
print(f"encoder layers reused: {[layer.name for layer in encoder.layers[1:3]]}")
print("trainable (head only):", [w.path for w in partial.trainable_weights])
