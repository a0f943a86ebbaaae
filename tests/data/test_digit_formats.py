"""IDX and USPS readers: the real shared files, and tiny synthetic files for
the error paths."""

import gzip

import numpy as np
import pytest

from tfunsup.data import dataset_names, load_dataset
from tfunsup.data.digit_formats import load_idx_images, read_idx, read_usps
from tfunsup.data.shared import DATA_DIR_ENV, SharedDataMissingError

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
USPS_TRAIN_COUNTS = [1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644]  # zip.info.txt
USPS_TEST_COUNTS = [359, 264, 198, 166, 200, 160, 170, 147, 166, 177]


def _idx_bytes(array, code=0x08):
    header = bytes([0, 0, code, array.ndim])
    header += np.asarray(array.shape, ">u4").tobytes()
    return header + array.tobytes()


def _write(path, payload, compress=False):
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


@pytest.fixture
def data_dir(shared_data, monkeypatch):
    folder = shared_data()
    monkeypatch.setenv(DATA_DIR_ENV, str(folder))
    return folder


def test_names_are_listed():
    assert {"mnist-test", "usps", "usps-test", "mnist"} <= set(dataset_names())


@pytest.mark.parametrize("name, split, shape, counts", [
    ("mnist-test", "train", (10_000, 28, 28, 1), MNIST_TEST_COUNTS),
    ("usps", "train", (7_291, 16, 16, 1), USPS_TRAIN_COUNTS),
    ("usps-test", "train", (2_007, 16, 16, 1), USPS_TEST_COUNTS),
    ("usps", "all", (9_298, 16, 16, 1),
     list(np.add(USPS_TRAIN_COUNTS, USPS_TEST_COUNTS))),
])
def test_real_digit_sets(data_dir, name, split, shape, counts):
    data = load_dataset(name, split=split)
    assert data.images.shape == shape and data.images.dtype == np.float32
    assert data.images.min() == 0.0 and data.images.max() == 1.0
    # Digits are mostly background with a bright stroke.
    assert 0.05 < data.images.mean() < 0.35
    assert data.labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(data.labels), counts)
    assert data.class_names == tuple("0123456789")


def test_real_files_by_path(data_dir):
    mnist = load_dataset(str(data_dir / "mnist-test" / "t10k-images-idx3-ubyte.gz"))
    assert mnist.images.shape == (10_000, 28, 28, 1)
    np.testing.assert_array_equal(np.bincount(mnist.labels), MNIST_TEST_COUNTS)
    usps = load_dataset(str(data_dir / "usps" / "zip.test.gz"))
    np.testing.assert_array_equal(usps.images, load_dataset("usps-test").images)
    raw = read_idx(data_dir / "mnist-test" / "t10k-labels-idx1-ubyte.gz")
    assert raw.shape == (10_000,) and raw.dtype == np.uint8


def test_missing_data_folder_names_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    for name in ("mnist-test", "usps", "usps-test"):
        with pytest.raises(SharedDataMissingError, match=DATA_DIR_ENV):
            load_dataset(name)


@pytest.mark.parametrize("compress", [False, True])
def test_synthetic_idx_round_trip_with_labels_beside(tmp_path, compress):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    suffix = ".gz" if compress else ""
    path = _write(tmp_path / f"x-images-idx3-ubyte{suffix}", _idx_bytes(images), compress)
    _write(tmp_path / f"x-labels-idx1-ubyte{suffix}",
           _idx_bytes(np.array([2, 0, 1], np.uint8)), compress)
    np.testing.assert_array_equal(read_idx(path), images)
    data = load_dataset(str(path))
    assert data.images.shape == (3, 4, 5, 1)
    np.testing.assert_allclose(data.images[..., 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.labels, [2, 0, 1])


def test_idx_float_and_int_types_are_big_endian(tmp_path):
    values = np.array([[0.25, 1.0], [0.5, 0.0]], ">f4")
    path = _write(tmp_path / "f.idx", _idx_bytes(values, code=0x0D))
    out = read_idx(path)
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, values)
    ints = np.array([70000, -3], ">i4")
    np.testing.assert_array_equal(read_idx(_write(tmp_path / "i.idx", _idx_bytes(ints, 0x0C))),
                                  [70000, -3])


def test_idx_without_labels_file(tmp_path):
    path = _write(tmp_path / "images.idx", _idx_bytes(np.zeros((2, 3, 3), np.uint8)))
    assert load_idx_images(path).labels is None


@pytest.mark.parametrize("payload, message", [
    (b"\x01\x02\x08\x01\x00\x00\x00\x01\x00", "not an IDX file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown IDX type code.*0x7"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated"),
    (_idx_bytes(np.zeros((2, 3, 3), np.uint8))[:-1], "does not match its IDX header"),
])
def test_bad_idx_files_are_named(tmp_path, payload, message):
    path = _write(tmp_path / "broken-idx3-ubyte", payload)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert "broken-idx3-ubyte" in str(info.value)


def test_labels_count_mismatch_and_wrong_rank(tmp_path):
    images = _write(tmp_path / "a-images-idx3-ubyte", _idx_bytes(np.zeros((3, 2, 2), np.uint8)))
    short = _write(tmp_path / "short", _idx_bytes(np.zeros(2, np.uint8)))
    with pytest.raises(ValueError, match="short"):
        load_idx_images(images, short)
    with pytest.raises(ValueError, match="rank 3"):
        load_idx_images(short)


def test_gzip_corrupt_file_is_named(tmp_path):
    path = _write(tmp_path / "bad.gz", gzip.compress(b"\x00\x00\x08\x01")[:8])
    with pytest.raises(ValueError, match="bad.gz"):
        read_idx(path)


def test_missing_idx_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        read_idx(tmp_path / "nope")


def _usps_line(label, value=-1.0, n=256):
    return f"{label} " + " ".join(f"{value:.4f}" for _ in range(n))


def test_synthetic_usps_maps_to_unit_range(tmp_path):
    path = _write(tmp_path / "zip.tiny.gz",
                  (_usps_line(3, -1.0) + "\n" + _usps_line(7, 1.0) + "\n\n").encode(), True)
    images, labels = read_usps(path)
    assert images.shape == (2, 16, 16, 1) and images.dtype == np.float32
    np.testing.assert_array_equal(labels, [3, 7])
    assert images[0].max() == 0.0 and images[1].min() == 1.0
    assert load_dataset(str(path)).images.shape == (2, 16, 16, 1)


@pytest.mark.parametrize("text, message", [
    (_usps_line(3, n=255), "line 1: expected a label and 256 values"),
    (_usps_line(3) + "\n" + _usps_line(12), "line 2: expected a digit label 0-9"),
    (_usps_line(3, 2.0), r"values in \[-1, 1\]"),
    ("", "no USPS digits"),
])
def test_bad_usps_files_are_named(tmp_path, text, message):
    path = _write(tmp_path / "zip.bad", text.encode())
    with pytest.raises(ValueError, match=message) as info:
        read_usps(path)
    assert "zip.bad" in str(info.value)


def test_unknown_file_format_is_named(tmp_path):
    path = _write(tmp_path / "notes.bin", b"\xff\xfe random bytes")
    with pytest.raises(ValueError, match="Unknown dataset file.*notes.bin"):
        load_dataset(str(path))
