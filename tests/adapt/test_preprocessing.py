import numpy as np
import pytest
import tensorflow as tf

from tfunsup.adapt.augmentation import AUGMENTATIONS, augment_source, resolve_augment
from tfunsup.adapt.network import DEFAULT_IMAGE_SPEC
from tfunsup.adapt.preprocessing import frame_spec, to_common_frame
from tfunsup.data import load_dataset


def test_both_domains_reach_the_same_frame_size_and_range():
    mnist = load_dataset("mnist-5k").images[:50]
    digits = load_dataset("digits").images[:50]
    framed_mnist = to_common_frame(mnist, DEFAULT_IMAGE_SPEC)
    framed_digits = to_common_frame(digits, DEFAULT_IMAGE_SPEC)
    assert framed_mnist.shape == framed_digits.shape[:0] + (50, 28, 28, 1)
    assert framed_digits.shape == (50, 28, 28, 1)
    # MNIST is already framed (28x28): unchanged. Digits: 8x8 -> 20x20 box, zero border of 4.
    np.testing.assert_array_equal(framed_mnist, mnist)
    assert framed_digits[:, :4].max() == 0 and framed_digits[:, -4:].max() == 0
    assert framed_digits[:, 4:24, 4:24].max() > 0.9
    for framed in (framed_mnist, framed_digits):
        assert framed.dtype == np.float32 and framed.min() >= 0 and framed.max() <= 1


def test_frame_spec_converts_channels_of_framed_images_only():
    rgb = np.random.default_rng(0).uniform(size=(3, 28, 28, 3)).astype(np.float32)
    assert frame_spec(rgb.shape[1:], DEFAULT_IMAGE_SPEC).content_fraction == 1.0
    assert to_common_frame(rgb, DEFAULT_IMAGE_SPEC).shape == (3, 28, 28, 1)
    assert frame_spec((8, 8, 1), DEFAULT_IMAGE_SPEC) == DEFAULT_IMAGE_SPEC


def test_source_augmentation_is_repeatable_and_stays_in_range():
    images = load_dataset("mnist-5k").images[:16]
    seed = tf.constant([0, 3], tf.int64)
    a = augment_source(images, seed).numpy()
    b = augment_source(images, seed).numpy()
    c = augment_source(images, tf.constant([0, 4], tf.int64)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == images.shape and a.min() >= 0 and a.max() <= 1
    assert not np.array_equal(a, images)


def test_stroke_thickening_is_opt_in():
    images = load_dataset("mnist-5k").images[:16]
    seed = tf.constant([0, 3], tf.int64)
    plain = augment_source(images, seed, low_resolution_rate=0, max_shift=0).numpy()
    np.testing.assert_array_equal(plain, images)
    thick = augment_source(images, seed, max_dilation=2, low_resolution_rate=0,
                           max_shift=0).numpy()
    # Dilation only ever adds ink, and some of the 16 images get thicker strokes.
    assert (thick >= images).all() and thick.sum() > images.sum()


def _blob_positions(images):
    """Centre of mass `(row, col)` of each image's ink, relative to the image centre."""
    grid = np.arange(28, dtype=np.float64) - 13.5
    ink = images[..., 0].astype(np.float64)
    mass = ink.sum(axis=(1, 2))
    return np.stack([(ink * grid[None, :, None]).sum(axis=(1, 2)) / mass,
                     (ink * grid[None, None, :]).sum(axis=(1, 2)) / mass], axis=1)


def test_affine_augmentation_rotates_and_scales_about_the_centre():
    # A 2x2 blob of ink 8 pixels above the image centre, 16 copies.
    images = np.zeros((16, 28, 28, 1), np.float32)
    images[:, 5:7, 13:15] = 1.0
    seed = tf.constant([0, 3], tf.int64)
    plain = dict(low_resolution_rate=0, max_shift=0)
    before = _blob_positions(images)
    # Off by default: the shift's draws do not change when they are turned on at 0.
    mnist = load_dataset("mnist-5k").images[:16]
    np.testing.assert_array_equal(
        augment_source(mnist, seed, low_resolution_rate=0, max_rotation=0,
                       max_scale=0).numpy(),
        augment_source(mnist, seed, low_resolution_rate=0).numpy())
    # Rotation keeps the blob's distance from the centre and turns it by up
    # to max_rotation degrees, by different angles across the batch.
    turned = _blob_positions(augment_source(images, seed, max_rotation=45, **plain).numpy())
    np.testing.assert_allclose(np.linalg.norm(turned, axis=1), np.linalg.norm(before, axis=1),
                               atol=0.3)
    angles = np.degrees(np.arctan2(turned[:, 1], -turned[:, 0]))
    assert np.abs(angles).max() <= 45 + 3 and np.ptp(angles) > 20, angles
    # Scale moves it along its own direction, by a factor within 1 +- max_scale.
    scaled = _blob_positions(augment_source(images, seed, max_scale=0.2, **plain).numpy())
    np.testing.assert_allclose(scaled[:, 1], before[:, 1], atol=0.3)
    ratio = scaled[:, 0] / before[:, 0]
    assert (ratio > 0.8 - 0.05).all() and (ratio < 1.2 + 0.05).all() and np.ptp(ratio) > 0.1


def test_augment_settings():
    assert resolve_augment(True) == "standard" and resolve_augment(False) == "none"
    assert [resolve_augment(a) for a in AUGMENTATIONS] == list(AUGMENTATIONS)
    with pytest.raises(ValueError, match="Received: augment='thick'"):
        resolve_augment("thick")
