"""Readers for the standard digit sets' own file formats: IDX and USPS text.

MNIST ships as IDX files (big-endian header, then raw values) and the USPS
zip-code digits of Hastie, Tibshirani & Friedman as gzipped text, one digit
per line: the label, then 256 grey values in [-1, 1] for a 16x16 image.
`load_dataset("mnist-test")`, `"usps"` and `"usps-test"` find them in the
offline data folder (`tfunsup.data.shared.data_path`); `load_dataset` also
takes the path of an IDX images file or of a USPS `.gz` file.
"""

import gzip
from pathlib import Path

import numpy as np

from tfunsup.data.datasets import DIGIT_DATASETS, ArrayDataset
from tfunsup.data.shared import data_path
from tfunsup.data.validation import check_images, check_labels

DIGIT_CLASS_NAMES = tuple(str(c) for c in range(10))

# IDX type code (third magic byte) -> big-endian numpy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
USPS_SIDE = 16


def _read_bytes(path):
    """The file's bytes, gunzipped when it starts with the gzip magic."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"File '{path}' does not exist.")
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise ValueError(f"Cannot decompress gzip file '{path}': {error}") from error
    return raw


def read_idx(path):
    """Reads an IDX file (the MNIST format), gzipped or plain.

    The header is two zero bytes, a type code (0x08 uint8, 0x09 int8,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of
    dimensions, then one big-endian uint32 size per dimension.

    Args:
        path: str or `pathlib.Path` of an `.idx*-ubyte` file, optionally
            gzip-compressed (detected from its first bytes, not its name).

    Returns:
        numpy array of the header's shape, in native byte order (uint8 for
        MNIST images `(n, 28, 28)` and labels `(n,)`).

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: bad magic number, unknown type code, or a payload whose
            size does not match the header's dimensions; the message names
            the file.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"'{path}' is not an IDX file: expected the magic number to start "
            f"with two zero bytes. Received first bytes={raw[:4]!r}")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(
            f"'{path}' has an unknown IDX type code. Expected one of "
            f"{', '.join(hex(c) for c in _IDX_DTYPES)}. Received: {hex(code)}")
    if ndim == 0:
        raise ValueError(f"'{path}' declares 0 dimensions in its IDX header.")
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise ValueError(
            f"'{path}' is truncated: its IDX header declares {ndim} dimensions "
            f"but the file has only {len(raw)} bytes.")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    payload = len(raw) - header_end
    if payload != expected:
        raise ValueError(
            f"'{path}' does not match its IDX header: shape {shape} of "
            f"{dtype.name} needs {expected} bytes of data. Received {payload} bytes.")
    data = np.frombuffer(raw, dtype, offset=header_end).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def idx_labels_path(images_path):
    """The labels file MNIST names beside an images file, or None.

    `t10k-images-idx3-ubyte.gz` -> `t10k-labels-idx1-ubyte.gz` (same
    folder), when that file exists.
    """
    images_path = Path(images_path)
    name = images_path.name
    if "images-idx3" not in name:
        return None
    candidate = images_path.with_name(name.replace("images-idx3", "labels-idx1"))
    return candidate if candidate.is_file() else None


def load_idx_images(images_path, labels_path=None, name=None):
    """Loads an IDX images file (and its labels) as an `ArrayDataset`.

    Args:
        images_path: an IDX file of rank 3 `(n, height, width)` or rank 4
            `(n, height, width, channels)`; uint8 values are divided by 255,
            float values must already be in [0, 1].
        labels_path: an IDX file of rank 1 with `n` integer labels; None
            looks for MNIST's `*-labels-idx1-ubyte[.gz]` beside the images
            and leaves the labels out when there is none.
        name: the dataset name to record; defaults to the images path.

    Returns:
        `ArrayDataset` with float32 images `(n, height, width, channels)` in
        [0, 1] and int64 labels or None.

    Raises:
        FileNotFoundError: a file does not exist.
        ValueError: a malformed file, wrong rank, or a label count that does
            not match the image count (the message names the file).
    """
    images_path = Path(images_path)
    x = read_idx(images_path)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"Expected an IDX images file of rank 3 `(n, height, width)` or 4 in "
            f"'{images_path}'. Received shape={x.shape}")
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    images = check_images(x, name=f"images in '{images_path}'")
    if labels_path is None:
        labels_path = idx_labels_path(images_path)
    labels = None
    if labels_path is not None:
        y = read_idx(labels_path)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(
                f"Expected an IDX labels file of rank 1 with integers in "
                f"'{labels_path}'. Received shape={y.shape}, dtype={y.dtype}")
        labels = check_labels(y, len(images), name=f"labels in '{labels_path}'")
    class_names = DIGIT_CLASS_NAMES if labels is not None and labels.max() <= 9 else None
    return ArrayDataset(images, labels, name or str(images_path), class_names)


def read_usps(path):
    """Reads a USPS text file (Hastie, Tibshirani & Friedman's `zip.*`).

    Each non-empty line holds the digit (0-9) and 256 grey values in
    [-1, 1], row by row for a 16x16 image.

    Args:
        path: str or `pathlib.Path`, gzip-compressed (`zip.train.gz`) or
            plain text.

    Returns:
        `(images, labels)`: float32 `(n, 16, 16, 1)` mapped to [0, 1] by
        `(v + 1) / 2`, and int64 `(n,)`.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: a line without 257 numbers, a label outside 0-9, or
            values outside [-1, 1]; the message names the file and line.
    """
    path = Path(path)
    raw = _read_bytes(path)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as error:
        raise ValueError(f"'{path}' is not a USPS text file: {error}") from error
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 1 + USPS_SIDE * USPS_SIDE:
            raise ValueError(
                f"'{path}' line {number}: expected a label and "
                f"{USPS_SIDE * USPS_SIDE} values. Received {len(fields)} fields.")
        try:
            rows.append([float(v) for v in fields])
        except ValueError as error:
            raise ValueError(f"'{path}' line {number}: {error}") from error
    if not rows:
        raise ValueError(f"'{path}' holds no USPS digits.")
    table = np.asarray(rows, np.float64)
    labels = table[:, 0]
    if not np.all((labels == np.round(labels)) & (labels >= 0) & (labels <= 9)):
        bad = int(np.flatnonzero((labels != np.round(labels)) | (labels < 0) | (labels > 9))[0])
        raise ValueError(
            f"'{path}' line {bad + 1}: expected a digit label 0-9. Received {labels[bad]:g}")
    values = table[:, 1:]
    low, high = values.min(), values.max()
    if low < -1.0 - 1e-6 or high > 1.0 + 1e-6:
        raise ValueError(
            f"'{path}': expected USPS values in [-1, 1]. Received [{low:g}, {high:g}]")
    images = np.clip((values + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)
    return images.reshape(-1, USPS_SIDE, USPS_SIDE, 1), labels.astype(np.int64)


def load_usps_file(path, name=None):
    """`read_usps` as an `ArrayDataset` (labels 0-9, class names "0".."9")."""
    images, labels = read_usps(path)
    return ArrayDataset(images, labels, name or str(path), DIGIT_CLASS_NAMES)


def load_digit_dataset(name, split="train"):
    """Loads a standard digit set from the offline data folder.

    Args:
        name: `"mnist-test"` (MNIST's 10,000 test digits, 28x28),
            `"usps"` (USPS, 16x16; `split` picks train 7,291, test 2,007 or
            all 9,298) or `"usps-test"` (the 2,007 USPS test digits).
        split: `"train"`, `"test"` or `"all"`; only read for `"usps"`.

    Returns:
        `ArrayDataset` with float32 images `(n, height, width, 1)` in [0, 1]
        and int64 labels 0-9.

    Raises:
        tfunsup.data.shared.SharedDataMissingError: the files are not in the
            data folder (the message names `TFUNSUP_DATA_DIR`).
        ValueError: unknown name or split.
    """
    if name == "mnist-test":
        images = data_path("mnist-test", "t10k-images-idx3-ubyte.gz")
        labels = data_path("mnist-test", "t10k-labels-idx1-ubyte.gz")
        return load_idx_images(images, labels, name="mnist-test")
    if name == "usps-test":
        return load_usps_file(data_path("usps", "zip.test.gz"), name="usps-test")
    if name == "usps":
        if split not in ("train", "test", "all"):
            raise ValueError(
                f"Expected split 'train', 'test' or 'all'. Received: split={split!r}")
        if split != "all":
            return load_usps_file(data_path("usps", f"zip.{split}.gz"),
                                  name="usps" if split == "train" else "usps-test")
        train, test = (read_usps(data_path("usps", f"zip.{s}.gz")) for s in ("train", "test"))
        return ArrayDataset(np.concatenate([train[0], test[0]]),
                            np.concatenate([train[1], test[1]]), "usps-all",
                            DIGIT_CLASS_NAMES)
    raise ValueError(
        f"Unknown digit dataset. Expected one of {', '.join(DIGIT_DATASETS)}. "
        f"Received: name={name!r}")


def sniff_digit_file(path):
    """`"idx"`, `"usps"` or None: which digit format a file is in.

    Looks at the first bytes only (after gunzipping): an IDX header starts
    with two zero bytes and a known type code; a USPS line starts with a
    digit label followed by numbers.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(2)
    opener = gzip.open if head == _GZIP_MAGIC else open
    try:
        with opener(path, "rb") as handle:
            start = handle.read(64)
    except (OSError, EOFError):
        return None
    if len(start) >= 4 and start[:2] == b"\x00\x00" and start[2] in _IDX_DTYPES:
        return "idx"
    fields = start.split()
    if len(fields) >= 2 and fields[0][:1].isdigit():
        try:
            float(fields[0]), float(fields[1])
        except ValueError:
            return None
        return "usps"
    return None


def load_digit_file(path):
    """Loads an IDX images file or a USPS text file by sniffing its format.

    Raises:
        ValueError: the file is in neither format.
    """
    kind = sniff_digit_file(path)
    if kind == "idx":
        return load_idx_images(path)
    if kind == "usps":
        return load_usps_file(path)
    raise ValueError(
        f"Unknown dataset file '{path}': expected a folder of images, a .npz "
        "file, an IDX images file (MNIST format) or a USPS text file.")
