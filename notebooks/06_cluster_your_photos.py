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
# # Cluster your own photos with an ImageNet backbone
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/<owner>/tfunsup/blob/main/notebooks/06_cluster_your_photos.ipynb)
#
# **What this shows.** Point a pretrained ImageNet backbone (Keras'
# MobileNetV2) at a folder of unlabeled photos: tfunsup lists the files
# (nothing is decoded up front), streams them through one `tf.data` pipeline
# that decodes, centre-crops and resizes each photo to the backbone's input,
# computes the features once, clusters them, and trains a small classifier
# head on the cached features. Every output is keyed by the file path, so you
# can open the photos of each cluster.
#
# **How long.** On a 2-core CPU the features are the slow part (MobileNetV2 at
# 224 px, one forward pass per photo). In CI it runs in
# a small-budget mode (`TFUNSUP_NOTEBOOK_BUDGET=small`) on 300 COIL-20 images
# and 300 CIFAR-10 test JPEGs from the offline data folder.
#
# **On Colab**, run the install cell below, mount your Drive and point `FOLDER` at your
# photos (one sub-folder per class if you have labels to score with, else a
# flat folder). `keras:MobileNetV2` downloads its ImageNet weights
# (`weights="imagenet"`) into Keras' cache on first use; any TF Hub image
# feature vector handle works as the backbone too.

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
# from google.colab import drive; drive.mount("/content/drive")
# FOLDER = "/content/drive/MyDrive/my_photos"
# BACKBONE = "keras:MobileNetV2"  # or a TF Hub handle, e.g.
# "https://tfhub.dev/google/imagenet/mobilenet_v3_small_100_224/feature_vector/5"

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from tfunsup.backbones import load_backbone
from tfunsup.cluster import TransferClustering
from tfunsup.data import extract_features, image_pipeline, load_dataset
from tfunsup.data.shared import data_path
from tfunsup.metrics import clustering_scores

SMALL = os.environ.get("TFUNSUP_NOTEBOOK_BUDGET") == "small"
SEED = 0
BACKBONE = "keras:MobileNetV2"  # ImageNet weights through Keras' cache

# %% [markdown]
# ## 1. A folder is a list of files
# `load_dataset(folder)` lists the images with Keras'
# `image_dataset_from_directory` (sub-folder names become labels, used here
# only to score). COIL-20 has no sub-folders: its object id is in the file
# name, so a `label_pattern` reads it for scoring.

# %%
coil = load_dataset(data_path("coil-20"), label_pattern=r"obj(\d+)__")
print(len(coil), "files, e.g.", coil.ids[:3], "| classes:", len(coil.class_names))
print("looks like:", coil.summary())
if SMALL:
    # In practice, use all 1,440 images.
    coil = coil.subset(np.flatnonzero(coil.labels < 5)[:300])
print(len(coil), "images used")

# %% [markdown]
# ## 2. One pipeline to the backbone's input
# The backbone's `image_spec` says what it takes: 224×224 RGB, centre-cropped
# to its aspect ratio (the ImageNet evaluation protocol). `image_pipeline`
# decodes files in parallel and carries each image's position, so an
# unreadable file is dropped and listed, never fatal.

# %%
backbone = load_backbone(BACKBONE)
print(backbone.spec_name, backbone.image_spec)
images, positions = next(iter(image_pipeline(coil, backbone.image_spec, batch_size=8)))
fig, axes = plt.subplots(1, 8, figsize=(12, 1.8))
for ax, image, position in zip(axes, images.numpy(), positions.numpy()):
    ax.imshow(image)
    ax.set_title(coil.ids[position], fontsize=7)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 3. Features once, then clusters
# `extract_features` runs the frozen backbone over the stream; the result can
# be saved (`save_features`) and passed to `fit(..., features=...)` again to
# try another number of clusters without re-running the backbone.

# %%
features = extract_features(backbone, coil, batch_size=64)
print(features.features.shape, "skipped:", features.skipped)
n_clusters = len(np.unique(coil.labels))
estimator = TransferClustering(BACKBONE, n_clusters, head_epochs=5, seed=SEED, verbose=0)
estimator.fit(coil, features=features)  # no labels
print("COIL-20:", {k: round(v, 3) for k, v in
                   clustering_scores(coil.labels[estimator.index_], estimator.labels_).items()})

# %% [markdown]
# Each row shows the photos the head is most confident about in one cluster.

# %%
def show_clusters(dataset, estimator, per_cluster=8):
    order = np.argsort(-estimator.confidences_)
    rows = np.unique(estimator.labels_)
    fig, axes = plt.subplots(len(rows), per_cluster, figsize=(per_cluster, len(rows)),
                             squeeze=False)
    for row, cluster in enumerate(rows):
        members = [i for i in order if estimator.labels_[i] == cluster][:per_cluster]
        shown = dataset.subset(estimator.index_[members])
        spec = backbone.image_spec
        thumbnails = np.concatenate([x.numpy() for x, _ in image_pipeline(shown, spec, 64)])
        for col in range(per_cluster):
            axes[row, col].axis("off")
            if col < len(thumbnails):
                axes[row, col].imshow(thumbnails[col])
    plt.show()


show_clusters(coil, estimator)

# %% [markdown]
# ## 4. Natural photos: CIFAR-10 test JPEGs
# Tiny 32×32 photos are a hard case for an ImageNet backbone. With no
# backbone given, tfunsup chooses MobileNetV2 and feeds such tiny photos at
# 144×144 rather than 224×224, averaging each image's features with its
# mirror image's (`backbone_choice_` says so). The README's CIFAR-10 table
# gives the numbers on all 10,000 images.

# %%
cifar = load_dataset(data_path("cifar10-test"))
cifar = cifar.subset(np.random.default_rng(SEED).permutation(len(cifar))[
    :300 if SMALL else 2000])  # In practice, use all 10,000.
cifar_estimator = TransferClustering(None, 10, head_epochs=5, seed=SEED, verbose=0)
cifar_estimator.fit(cifar)
print(cifar_estimator.backbone_choice_)
print("CIFAR-10:", {k: round(v, 3) for k, v in clustering_scores(
    cifar.labels[cifar_estimator.index_], cifar_estimator.labels_).items()})
show_clusters(cifar, cifar_estimator)

# %% [markdown]
# ## 5. On the command line
# The same flow, with `assignments.csv` (path, cluster, confidence), a folder
# of symlinks per cluster and the SavedModel classifier:
#
# ```bash
# tfunsup cluster --data my_photos/ --n-clusters 8 --export-clusters symlink --out runs/photos
# ```
