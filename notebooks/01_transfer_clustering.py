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
# # Transfer clustering: cluster unlabeled digits with a model trained elsewhere
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/<owner>/tfunsup/blob/main/notebooks/01_transfer_clustering.ipynb)
#
# **What this shows.** A CNN trained on labeled MNIST (28×28 scans) is transferred
# to scikit-learn's `digits` (8×8 block counts from other writers): its features
# cluster the digits without any of their labels, and the clusters become a
# classifier that exports as one SavedModel. We compare with plain k-means on
# raw pixels.
#
# **How long.** About 1–2 minutes on a 2-core CPU (the first run also trains the
# source model). In CI it runs in a small-budget mode
# (`TFUNSUP_NOTEBOOK_BUDGET=small`) on a subset.

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
from sklearn.cluster import KMeans

from tfunsup.backbones import load_backbone
from tfunsup.cluster import TransferClustering
from tfunsup.data import load_dataset
from tfunsup.metrics import clustering_scores
from tfunsup.source import ensure_source_model

SMALL = os.environ.get("TFUNSUP_NOTEBOOK_BUDGET") == "small"
SEED = 0

# %% [markdown]
# ## 1. Unlabeled target data
# `load_dataset` returns float32 images `(n, height, width, channels)` in [0, 1].
# The labels come along only so we can *score* at the end; nothing below
# trains on them.

# %%
digits = load_dataset("digits")
images, labels = digits.images, digits.labels
if SMALL:
    images, labels = images[:600], labels[:600]  # In practice, use all 1,797.
print(images.shape, images.dtype, images.min(), images.max())

fig, axes = plt.subplots(1, 10, figsize=(10, 1.2))
for ax, image in zip(axes, images[:10]):
    ax.imshow(image[..., 0], cmap="gray")
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 2. The baseline: k-means on raw pixels

# %%
baseline = KMeans(10, n_init=10, random_state=SEED).fit_predict(images.reshape(len(images), -1))
print("k-means on pixels:", clustering_scores(labels, baseline))

# %% [markdown]
# ## 3. A pretrained backbone
#
# Offline, the backbone is our MNIST-5k source model: a small CNN trained on
# 5,000 labeled MNIST digits, exported as a TF Hub-style feature-vector
# SavedModel. It loads through exactly the same code as a TF Hub handle.
#
# **On Colab with the network**, any TF Hub / Kaggle Models image feature
# vector works the same way, e.g.
# `backbone = "https://tfhub.dev/google/imagenet/mobilenet_v3_small_100_224/feature_vector/5"`
# (set `TFHUB_CACHE_DIR` to a Drive folder to keep the download), or a Keras
# Application such as `"keras:EfficientNetV2B0"`. Pick a feature-vector model
# (not a classifier) whose training data resembles yours; ImageNet models
# expect natural RGB photos, so grayscale digits are converted to 3 channels
# and resized for them automatically.

# %%
backbone_spec = str(ensure_source_model())  # trains for ~16 s when absent
backbone = load_backbone(backbone_spec)
print("input spec:", backbone.image_spec)
print("features:", backbone.output_shape)

# %% [markdown]
# The source model expects MNIST's framing: a 20×20 digit centred in 28×28
# (`content_fraction = 20/28`); the pipeline resizes and pads the 8×8 digits
# to it.
#
# ## 4. Cluster, then turn the clusters into a classifier
#
# `fit` extracts features, clusters them (k-means on a UMAP embedding of the
# features, N2D's manifold step), trains a linear SVM and a softmax head on
# the confident pseudo-labels, and refines them in balanced self-labeling
# rounds while fine-tuning the backbone.

# %%
estimator = TransferClustering(
    backbone_spec, n_clusters=10,
    head_epochs=3 if SMALL else 15,  # In practice, 15 epochs.
    seed=SEED, verbose=0,
).fit(images)

print("clustering stage:", clustering_scores(labels, estimator.pseudo_label_history_[0]))
print("SVM on features: ", estimator.score(images, labels, method="svm"))
print("softmax head:    ", estimator.score(images, labels))

# %% [markdown]
# ## 5. What the clusters look like

# %%
fig, axes = plt.subplots(10, 8, figsize=(6, 7.5))
for cluster in range(10):
    members = np.flatnonzero(estimator.labels_ == cluster)[:8]
    for col in range(8):
        ax = axes[cluster, col]
        ax.axis("off")
        if col < members.size:
            ax.imshow(images[members[col], ..., 0], cmap="gray")
plt.suptitle("8 images of each cluster")
plt.show()

# %% [markdown]
# ## 6. Export and reload
# Backbone and head export together as one SavedModel that takes images at
# their native size (the resize/framing is inside).

# %%
import tensorflow as tf  # noqa: E402

path = estimator.export("runs/notebook_classifier", overwrite=True)
reloaded = tf.saved_model.load(str(path))
probabilities = reloaded.serve(images[:100]).numpy()
print("same predictions after reload:",
      np.array_equal(probabilities.argmax(1), estimator.predict(images[:100])))

# %% [markdown]
# ## 7. Your own images
# `load_dataset("path/to/folder")` reads a folder of images (labels from
# sub-folders if there are any), and `load_dataset("data.npz")` an array `x`.
# From the shell, the same flow is one command:
#
# ```bash
# tfunsup cluster --data path/to/folder --backbone keras:EfficientNetV2B0 --n-clusters 5 --out runs/mine
# ```
