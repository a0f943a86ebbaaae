import numpy as np
import pytest

from tfunsup.data import ImageSpec, make_dataset, to_image_spec


def test_to_image_spec_frames_like_mnist():
    images = np.ones((2, 8, 8, 1), np.float32)
    out = to_image_spec(images, ImageSpec(28, 28, 1, content_fraction=20 / 28)).numpy()
    assert out.shape == (2, 28, 28, 1)
    assert out[:, :4].max() == 0.0 and out[:, -4:].max() == 0.0  # zero frame
    np.testing.assert_allclose(out[:, 4:24, 4:24], 1.0, atol=1e-6)


@pytest.mark.parametrize("channels_in, channels_out", [(1, 3), (3, 1), (3, 3)])
def test_to_image_spec_converts_channels(channels_in, channels_out):
    images = np.random.default_rng(0).random((3, 10, 12, channels_in)).astype(np.float32)
    out = to_image_spec(images, ImageSpec(32, 32, channels_out)).numpy()
    assert out.shape == (3, 32, 32, channels_out)
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_make_dataset_shuffles_reproducibly_and_batches():
    images = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1) / 10
    labels = np.arange(10)

    def order(seed):
        return np.concatenate([y.numpy() for _, y in make_dataset(
            images, labels=labels, batch_size=4, shuffle=True, seed=seed)])

    assert sorted(order(1)) == list(range(10))
    np.testing.assert_array_equal(order(1), order(1))
    assert not np.array_equal(order(1), order(2))
    shapes = [x.shape[0] for x, _ in make_dataset(images, labels=labels, batch_size=4)]
    assert shapes == [4, 4, 2]


def test_make_dataset_converts_to_spec():
    images = np.zeros((5, 8, 8, 1), np.float32)
    (batch,) = list(make_dataset(images, ImageSpec(16, 16, 3), batch_size=8, autotune=False))
    assert batch.shape == (5, 16, 16, 3)


def test_make_dataset_shuffles_positions_in_the_order_of_shuffled_rows():
    """Gathering shuffled positions gives the batches (and per-epoch
    reshuffles) of shuffling the rows themselves, without their copy in a
    shuffle buffer."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = rng.random((50, 2, 2, 1)).astype(np.float32)
    labels = np.arange(50)
    tf.random.set_seed(0)
    ours = make_dataset(images, labels=labels, batch_size=8, shuffle=True, seed=3,
                        drop_remainder=True, autotune=False)
    rows = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(
        50, seed=3, reshuffle_each_iteration=True).batch(8, drop_remainder=True)
    assert ours.element_spec == rows.element_spec
    for _ in range(2):  # two epochs: the reshuffle matches too
        for (x, y), (x_rows, y_rows) in zip(ours, rows, strict=True):
            np.testing.assert_array_equal(y.numpy(), y_rows.numpy())
            np.testing.assert_array_equal(x.numpy(), x_rows.numpy())


@pytest.mark.parametrize("shuffle, drop_remainder", [(True, True), (True, False), (False, False)])
def test_make_dataset_without_a_copy_gives_the_same_batches(shuffle, drop_remainder):
    """`copy=False` gathers batches from the NumPy arrays: same batches, same
    element spec, no copy of the arrays kept by TensorFlow."""
    import tensorflow as tf

    rng = np.random.default_rng(1)
    features = rng.random((45, 6)).astype(np.float32)
    labels = rng.integers(0, 3, 45)
    kwargs = dict(labels=labels, batch_size=8, shuffle=shuffle, seed=5, cache=False,
                  drop_remainder=drop_remainder, autotune=False)
    tf.random.set_seed(0)
    copied = make_dataset(features, **kwargs)
    gathered = make_dataset(features, copy=False, **kwargs)
    assert gathered.element_spec == copied.element_spec
    for _ in range(2):
        for (x, y), (x_copied, y_copied) in zip(gathered, copied, strict=True):
            np.testing.assert_array_equal(x.numpy(), x_copied.numpy())
            np.testing.assert_array_equal(y.numpy(), y_copied.numpy())
    (alone,) = list(make_dataset(features[:5], batch_size=8, copy=False))
    np.testing.assert_array_equal(alone.numpy(), features[:5])


def test_make_dataset_without_a_copy_keeps_the_arrays_only_while_it_lives():
    import gc
    import weakref

    features = np.arange(24, dtype=np.float32).reshape(12, 2)
    alive = weakref.ref(features)
    batches = iter(make_dataset(features, batch_size=5, cache=False, copy=False))
    del features
    gc.collect()
    np.testing.assert_array_equal(next(batches).numpy()[:, 0], [0, 2, 4, 6, 8])  # iterator keeps them
    assert alive() is not None
    del batches
    gc.collect()
    assert alive() is None  # TensorFlow's registry of NumPy functions does not
