import numpy as np
import pytest
import tensorflow as tf

from tfunsup.autoencoders.augmentation import augmented_dataset, random_affine


def _blob(size=21, center=(10, 10), radius=3):
    yy, xx = np.mgrid[:size, :size]
    image = ((yy - center[0]) ** 2 + (xx - center[1]) ** 2 <= radius ** 2).astype(np.float32)
    return image[None, :, :, None]


def _center_of_mass(images):
    yy, xx = np.mgrid[:images.shape[1], :images.shape[2]]
    mass = images[..., 0].sum((1, 2))
    return np.stack([(images[..., 0] * yy).sum((1, 2)) / mass,
                     (images[..., 0] * xx).sum((1, 2)) / mass], 1)


def test_no_rotation_no_shift_is_identity():
    x = np.random.default_rng(0).uniform(size=(4, 9, 7, 1)).astype(np.float32)
    out = random_affine(x, tf.constant([1, 2]), max_rotation=0.0, max_shift=0.0).numpy()
    np.testing.assert_allclose(out, x, atol=1e-6)


def test_rotation_keeps_a_centered_blob_in_place():
    x = np.repeat(_blob(), 8, axis=0)
    out = random_affine(x, tf.constant([3, 4]), max_rotation=30.0, max_shift=0.0).numpy()
    np.testing.assert_allclose(_center_of_mass(out), 10.0, atol=0.05)
    np.testing.assert_allclose(out.sum((1, 2, 3)), x.sum((1, 2, 3)), rtol=0.05)


def test_rotation_turns_a_bar():
    x = np.zeros((16, 21, 21, 1), np.float32)
    x[:, 10, 2:19] = 1.0  # horizontal bar through the center
    out = random_affine(x, tf.constant([5, 6]), max_rotation=45.0, max_shift=0.0).numpy()
    off_row = out[:, [4, 16], :, 0].sum((1, 2))
    assert np.all(off_row < x[:, [4, 16], :, 0].sum((1, 2)) + 1.5)  # stays within +-45 deg
    assert np.mean(off_row > 0.1) > 0.5  # most bars tilted


def test_shifts_are_bounded_and_random():
    x = np.repeat(_blob(), 64, axis=0)
    out = random_affine(x, tf.constant([7, 8]), max_rotation=0.0, max_shift=0.1).numpy()
    moved = _center_of_mass(out) - 10.0
    assert np.all(np.abs(moved) <= 0.1 * 21 + 0.05)
    assert np.abs(moved).max() > 1.0 and np.std(moved[:, 1]) > 0.5
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_same_seed_same_batch_other_seed_other_batch():
    x = np.repeat(_blob(), 4, axis=0)
    a = random_affine(x, tf.constant([1, 1])).numpy()
    np.testing.assert_array_equal(a, random_affine(x, tf.constant([1, 1])).numpy())
    assert not np.allclose(a, random_affine(x, tf.constant([1, 2])).numpy())


@pytest.mark.parametrize("with_targets", [False, True])
def test_augmented_dataset_repeats_and_keeps_targets(with_targets):
    x = np.repeat(_blob(), 10, axis=0)
    targets = np.arange(10, dtype=np.float32)[:, None]
    data = (x, targets) if with_targets else x
    batches = list(augmented_dataset(data, 4, seed=0).take(6))
    assert len(batches) == 6  # 3 batches per pass, repeated
    if with_targets:
        seen = np.concatenate([b[1].numpy()[:, 0] for b in batches[:3]])
        np.testing.assert_array_equal(np.sort(seen), np.arange(10))
        assert batches[0][0].shape == (4, 21, 21, 1)
    else:
        assert batches[0].shape == (4, 21, 21, 1)
