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
