import numpy as np
import pytest
from PIL import Image

from tfunsup.data import (
    DatasetUnavailableError,
    FileDataset,
    ImageSummary,
    load_dataset,
)


@pytest.mark.parametrize("name, shape, n_classes", [
    ("digits", (1797, 8, 8, 1), 10),
    ("mnist-5k", (5000, 28, 28, 1), 10),
])
def test_bundled_datasets_are_real_and_in_unit_range(name, shape, n_classes):
    data = load_dataset(name)
    assert data.images.shape == shape
    assert data.images.dtype == np.float32
    assert 0.0 == data.images.min() and data.images.max() == 1.0
    assert len(np.unique(data.labels)) == n_classes
    assert data.without_labels().labels is None


def test_keras_dataset_offline_says_it_needs_the_network(monkeypatch):
    import keras

    def offline():
        raise Exception("URL fetch failure on https://storage.googleapis.com/...")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DatasetUnavailableError, match="needs the network"):
        load_dataset("mnist")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown dataset 'mnsit'.*digits"):
        load_dataset("mnsit")


def test_missing_path_is_named():
    with pytest.raises(FileNotFoundError, match="no/such/folder"):
        load_dataset("no/such/folder")


def _write_png(path, value, size=(10, 12)):
    Image.fromarray(np.full(size, value, np.uint8)).save(path)


def test_folder_is_listed_not_decoded_with_labels_from_subfolders(tmp_path):
    for label, value in (("cat", 10), ("dog", 200)):
        (tmp_path / label).mkdir()
        for i in range(3):
            _write_png(tmp_path / label / f"{i}.png", value)
    data = load_dataset(str(tmp_path), image_size=(16, 16), channels=1)
    assert isinstance(data, FileDataset) and "images" not in vars(data)
    assert list(data.ids) == [f"{c}/{i}.png" for c in ("cat", "dog") for i in range(3)]
    assert data.class_names == ("cat", "dog")
    np.testing.assert_array_equal(data.labels, [0, 0, 0, 1, 1, 1])
    # The in-memory view, for flows that want arrays, decodes on demand.
    assert data.images.shape == (6, 16, 16, 1)
    np.testing.assert_allclose(data.images[0].mean(), 10 / 255, atol=1e-4)
    assert data.summary() == ImageSummary(10, 12, 1, True)


def test_flat_folder_has_no_labels_and_a_label_pattern_gives_them(tmp_path):
    for obj in (1, 2, 10):
        for pose in range(2):
            _write_png(tmp_path / f"obj{obj}__{pose}.png", 128)
    data = load_dataset(str(tmp_path), image_size=(8, 8))
    assert data.labels is None and len(data) == 6
    named = load_dataset(str(tmp_path), label_pattern=r"obj(\d+)__")
    assert named.class_names == ("1", "2", "10")
    assert dict(zip(named.ids, named.labels))["obj10__1.png"] == 2
    with pytest.raises(ValueError, match="does not match file"):
        load_dataset(str(tmp_path), label_pattern=r"cat(\d+)")


def test_empty_folder(tmp_path):
    with pytest.raises(ValueError, match="No images found"):
        load_dataset(str(tmp_path))


def test_corrupt_image_is_named_by_the_in_memory_view(tmp_path):
    _write_png(tmp_path / "good.png", 1)
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    data = load_dataset(str(tmp_path))  # listing never decodes
    with pytest.raises(ValueError, match="broken.png"):
        data.images


def test_npz_uint8_and_labels(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, x=np.full((4, 5, 5), 255, np.uint8), y=np.arange(4))
    data = load_dataset(str(path))
    assert data.images.shape == (4, 5, 5, 1) and data.images.max() == 1.0
    np.testing.assert_array_equal(data.labels, np.arange(4))


@pytest.mark.parametrize("x, message", [
    (np.full((2, 4, 4, 1), np.nan, np.float32), "NaN or Inf"),
    (np.zeros((2, 4, 4, 2), np.float32), "1 or 3 channels"),
    (np.zeros((2, 4), np.float32), "rank 4"),
    (np.full((2, 4, 4, 1), 3.0, np.float32), r"values in \[0, 1\]"),
])
def test_npz_bad_arrays(tmp_path, x, message):
    path = tmp_path / "bad.npz"
    np.savez(path, x=x)
    with pytest.raises(ValueError, match=message):
        load_dataset(str(path))


def test_npz_without_x(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, images=np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="no array 'x'"):
        load_dataset(str(path))
