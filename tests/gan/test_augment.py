"""DiffAugment: translation and cutout keep shapes, move / erase the right
pixels, and let gradients through to the generator."""

import numpy as np
import pytest
import tensorflow as tf

from tfunsup.gan.augment import check_policy, cutout, diff_augment, translate

SEED = tf.constant([3, 4], tf.int64)


def test_translation_shifts_each_image_within_the_bound():
    images = np.zeros((64, 16, 16, 1), np.float32)
    images[:, 7, 9, 0] = 1.0  # one lit pixel per image
    shifted = translate(tf.constant(images), SEED, ratio=0.125).numpy()
    assert shifted.shape == images.shape
    assert np.all(shifted.sum(axis=(1, 2, 3)) == 1.0)  # 2-pixel shifts keep it inside
    rows, cols = np.nonzero(shifted[..., 0])[1:]
    assert np.all(np.abs(rows - 7) <= 2) and np.all(np.abs(cols - 9) <= 2)
    assert len({(r, c) for r, c in zip(rows, cols)}) > 5  # per-sample shifts


def test_cutout_zeroes_one_square_of_half_the_size():
    images = tf.ones((32, 8, 8, 1))
    erased = cutout(images, SEED, ratio=0.5).numpy()
    assert np.all((erased == 0).sum(axis=(1, 2, 3)) == 16)


def test_augmentation_is_differentiable():
    x = tf.Variable(tf.random.stateless_uniform((4, 8, 8, 1), [0, 1]))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(diff_augment(x, ("translation", "cutout"), SEED))
    gradient = tape.gradient(y, x).numpy()
    assert gradient.shape == (4, 8, 8, 1)
    assert set(np.unique(gradient)) <= {0.0, 1.0} and gradient.sum() > 0


@pytest.mark.parametrize("policy, expected", [
    (None, ()), ("translation", ("translation",)),
    ("translation,cutout", ("translation", "cutout")),
])
def test_check_policy(policy, expected):
    assert check_policy(policy) == expected


def test_unknown_policy_raises():
    with pytest.raises(ValueError, match="augment='color'"):
        check_policy("color")
