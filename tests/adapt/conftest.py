"""Fixtures shared by the image adaptation tests."""

import numpy as np
import pytest

from tfunsup.data import load_dataset


@pytest.fixture(scope="module")
def domains():
    """Small real slices: 256 labeled MNIST-5k digits (source) and 128 sklearn
    digits (target), as `(source_images, source_labels, target_images,
    target_labels)`."""
    rng = np.random.default_rng(0)
    source = load_dataset("mnist-5k")
    target = load_dataset("digits")
    i = rng.permutation(len(source))[:256]
    j = rng.permutation(len(target))[:128]
    return source.images[i], source.labels[i], target.images[j], target.labels[j]
