"""Audio datasets: a folder of `.wav` files, listed, decoded in `tf.data`.

`load_audio_dataset` lists a folder's wav files without decoding them;
labels come from sub-folder names or from a regular expression on the file
names (and, for speech, a second pattern names each recording's speaker).
`audio_pipeline` is the one `tf.data` road from the files to waveforms:
`tf.audio.decode_wav`, mixed to mono, centred and zero-padded or cropped
to a fixed number of samples, float32 in [-1, 1]. Every output is keyed by
`AudioDataset.ids` (paths relative to the folder).

The Free Spoken Digit Dataset (FSDD) has a name: `load_dataset("fsdd")`,
with a speaker selection `load_dataset("fsdd", speakers=["theo"])` or the
spec string `"fsdd:theo,yweweler"` (what a CLI flag takes).
"""

import dataclasses
import functools
import os
import warnings
import wave
from pathlib import Path

import numpy as np

from tfunsup.data.datasets import pattern_values, relative_ids

AUDIO_EXTENSIONS = (".wav",)
DEFAULT_DURATION = 1.0  # seconds; covers > 99 % of FSDD's recordings

FSDD_NAME = "fsdd"
FSDD_SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
# The held-out (target) speakers of the speech benchmark, fixed by a rule
# chosen before any model was trained: the last two names alphabetically.
FSDD_TARGET_SPEAKERS = FSDD_SPEAKERS[-2:]
FSDD_SOURCE_SPEAKERS = FSDD_SPEAKERS[:-2]
# `{digit}_{speaker}_{index}.wav`
FSDD_LABEL_PATTERN = r"(?:^|/)(\d)_[^/_]+_\d+\.wav$"
FSDD_SPEAKER_PATTERN = r"(?:^|/)\d_([^/_]+)_\d+\.wav$"
# Shorthands for the benchmark's split: "fsdd-source" / "fsdd-target".
FSDD_SPLITS = {"fsdd-source": FSDD_SOURCE_SPEAKERS, "fsdd-target": FSDD_TARGET_SPEAKERS}


@dataclasses.dataclass(frozen=True, eq=False)
class AudioDataset:
    """A folder of wav recordings, listed but not decoded.

    Args:
        root: `Path` of the folder.
        files: str array `(n,)` of absolute file paths.
        labels: int64 array `(n,)` (from sub-folder names or a label
            pattern) or None. Labels only ever score.
        name: str, the name or path it was loaded from.
        class_names: tuple of str or None.
        speakers: str array `(n,)` of each recording's speaker (from a
            speaker pattern) or None.
        sample_rate: int, Hz, the rate every file must have.
        duration: float > 0, seconds every waveform is padded or cropped to.
        skipped: tuple of str, ids of files left out because they could not
            be decoded (see `readable`).
    """

    root: Path
    files: np.ndarray
    labels: np.ndarray | None
    name: str
    class_names: tuple | None = None
    speakers: np.ndarray | None = None
    sample_rate: int = 8000
    duration: float = DEFAULT_DURATION
    skipped: tuple = ()

    def __len__(self):
        return len(self.files)

    @property
    def n_samples(self):
        """int, samples per waveform: `round(sample_rate * duration)`."""
        return int(round(self.sample_rate * self.duration))

    @functools.cached_property
    def ids(self):
        """Paths relative to `root`, POSIX style (str array `(n,)`)."""
        return relative_ids(self.root, self.files)

    @functools.cached_property
    def waveforms(self):
        """All recordings decoded: float32 `(n, n_samples)` in [-1, 1].

        Raises:
            ValueError: naming the files that cannot be decoded (use
                `readable()` to leave them out instead).
        """
        out, seen = _decode_all(self)
        if not seen.all():
            bad = self.files[~seen]
            raise ValueError(f"Cannot read wav file '{bad[0]}'" + (
                f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
                + "; dataset.readable() leaves unreadable files out.")
        return out

    def readable(self):
        """The same dataset without the files that cannot be decoded.

        Decodes every file once (the result keeps the waveforms). Files
        that `tf.audio.decode_wav` rejects, or whose sample rate differs
        from `sample_rate`, are left out and listed in `skipped` (with a
        warning), as feature extraction skips unreadable images.

        Returns:
            An `AudioDataset` of the readable items, `waveforms` decoded.

        Raises:
            ValueError: no file is readable.
        """
        out, seen = _decode_all(self)
        bad = tuple(str(i) for i in self.ids[~seen])
        if seen.all():
            vars(self)["waveforms"] = out
            return self
        if not seen.any():
            raise ValueError(f"No readable wav file in '{self.root}': all {len(self)} "
                             f"failed to decode, e.g. '{bad[0]}'.")
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        warnings.warn(f"Skipped {len(bad)} unreadable wav file(s): {shown}.", stacklevel=2)
        kept = self.subset(np.flatnonzero(seen))
        kept = dataclasses.replace(kept, skipped=self.skipped + bad)
        vars(kept)["waveforms"] = out[seen]
        return kept

    def subset(self, index):
        """The items at positions `index` (int array), as an `AudioDataset`."""
        index = np.asarray(index, np.int64)
        subset = dataclasses.replace(
            self, files=self.files[index],
            labels=None if self.labels is None else self.labels[index],
            speakers=None if self.speakers is None else self.speakers[index])
        if "waveforms" in vars(self):
            vars(subset)["waveforms"] = self.waveforms[index]
        return subset

    def select_speakers(self, speakers):
        """The recordings of the given speakers.

        Args:
            speakers: iterable of str, speaker names (see `speakers`).

        Returns:
            An `AudioDataset`.

        Raises:
            ValueError: the dataset has no speakers, or a name is unknown.
        """
        if isinstance(speakers, str):
            speakers = [speakers]
        speakers = list(speakers)
        if self.speakers is None:
            raise ValueError(f"Dataset '{self.name}' has no speakers (load it with a "
                             "speaker_pattern). Received: speakers={speakers}")
        known = sorted(set(self.speakers.tolist()))
        unknown = [s for s in speakers if s not in known]
        if unknown or not speakers:
            raise ValueError(f"Unknown speakers {unknown} in '{self.name}'. Expected a "
                             f"non-empty list from {known}. Received: speakers={speakers}")
        return self.subset(np.flatnonzero(np.isin(self.speakers, speakers)))

    def without_labels(self):
        """The same recordings with `labels=None`."""
        unlabeled = dataclasses.replace(self, labels=None, class_names=None)
        if "waveforms" in vars(self):
            vars(unlabeled)["waveforms"] = self.waveforms
        return unlabeled


def fix_length(waveform, n_samples):
    """Centres a waveform in `n_samples`: zero-pads both sides or crops the middle.

    Args:
        waveform: float32 tensor `(samples,)`.
        n_samples: int >= 1.

    Returns:
        float32 tensor `(n_samples,)`.
    """
    import tensorflow as tf

    length = tf.shape(waveform)[0]
    start = tf.maximum(0, (length - n_samples) // 2)
    waveform = waveform[start:start + n_samples]
    missing = n_samples - tf.shape(waveform)[0]
    before = missing // 2
    waveform = tf.pad(waveform, [[before, missing - before]])
    return tf.ensure_shape(waveform, (n_samples,))


def decode_wav(path, n_samples, sample_rate=None):
    """Reads one wav file: mono float32 in [-1, 1], `n_samples` long.

    `tf.audio.decode_wav` (16-bit PCM), channels averaged to mono, then
    `fix_length`.

    Args:
        path: scalar string tensor, the file path.
        n_samples: int >= 1.
        sample_rate: int or None; when given, a file at another rate fails
            (an `InvalidArgumentError`, so `tf.data` can skip it).

    Returns:
        float32 tensor `(n_samples,)`.
    """
    import tensorflow as tf

    audio, rate = tf.audio.decode_wav(tf.io.read_file(path))
    if sample_rate is not None:
        tf.debugging.assert_equal(rate, tf.constant(sample_rate, tf.int32),
                                  message="sample rate differs from the dataset's")
    return fix_length(tf.reduce_mean(audio, axis=-1), n_samples)


def audio_pipeline(dataset, batch_size=256, *, ignore_errors=True):
    """The `tf.data` road from an `AudioDataset`'s files to waveforms.

    Files are decoded in parallel (nothing up front); each waveform travels
    with its item position, and an unreadable file is dropped
    (`Dataset.ignore_errors`): it is the position missing from the output.

    Args:
        dataset: `AudioDataset`.
        batch_size: int >= 1.
        ignore_errors: drop unreadable files (True) or raise (False).

    Returns:
        A `tf.data.Dataset` of `(waveforms, index)` batches: float32
        `(batch, dataset.n_samples)` in [-1, 1] and int64 `(batch,)`.

    Raises:
        ValueError: bad `batch_size`.
    """
    import tensorflow as tf

    if batch_size < 1:
        raise ValueError(f"Expected batch_size >= 1. Received: batch_size={batch_size}")
    index = np.arange(len(dataset), dtype=np.int64)
    items = tf.data.Dataset.from_tensor_slices((dataset.files.astype(str), index))
    n_samples, rate = dataset.n_samples, dataset.sample_rate
    ds = items.map(lambda path, i: (decode_wav(path, n_samples, rate), i),
                   num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if ignore_errors:
        ds = ds.ignore_errors()
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _decode_all(dataset):
    out = np.zeros((len(dataset), dataset.n_samples), np.float32)
    seen = np.zeros(len(dataset), bool)
    for batch, index in audio_pipeline(dataset):
        out[index.numpy()] = batch.numpy()
        seen[index.numpy()] = True
    return out, seen


def is_audio_data(path):
    """Whether `path` is a folder whose files (at any depth) include `.wav`
    files and no images."""
    from tfunsup.data.datasets import IMAGE_EXTENSIONS

    path = Path(path).expanduser()
    if not path.is_dir():
        return False
    suffixes = {Path(name).suffix.lower() for _, _, names in os.walk(path, followlinks=True)
                for name in names if not name.startswith(".")}
    return bool(suffixes & set(AUDIO_EXTENSIONS)) and not suffixes & set(IMAGE_EXTENSIONS)


def _list_wav_files(path):
    """`(files, class_names)`: sorted sub-folders are classes when there are
    any (their wav files, sorted, below each), else the folder's wav files."""
    classes = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    roots = [(path / c, i) for i, c in enumerate(classes)] or [(path, None)]
    files, labels = [], []
    for root, label in roots:
        found = sorted(os.path.join(folder, name)
                       for folder, _, names in os.walk(root, followlinks=True)
                       for name in names
                       if name.lower().endswith(AUDIO_EXTENSIONS) and not name.startswith("."))
        files.extend(found)
        labels.extend([label] * len(found))
    return files, (np.array(labels, np.int64) if classes else None), tuple(classes) or None


def _read_sample_rate(file):
    try:
        with wave.open(str(file), "rb") as handle:
            return handle.getframerate()
    except (wave.Error, EOFError, OSError) as error:
        raise ValueError(f"Cannot read the wav header of '{file}' to find the sample rate "
                         f"({error}); pass sample_rate=.") from error


def load_audio_dataset(path, *, label_pattern=None, speaker_pattern=None, sample_rate=None,
                       duration=DEFAULT_DURATION, name=None):
    """Lists a folder of wav recordings (nothing is decoded).

    Args:
        path: str or `Path` of the folder. With sub-folders, each sorted
            sub-folder is a class and the wav files below it its items;
            without, the folder's wav files are items without labels.
        label_pattern: optional regular expression with one group, searched
            in each file's path relative to the folder; the group is the
            label (FSDD: `FSDD_LABEL_PATTERN`, the digit of
            `7_theo_12.wav`). Overrides sub-folder labels. Numeric labels
            sort as numbers.
        speaker_pattern: optional regular expression with one group naming
            each recording's speaker (FSDD: `FSDD_SPEAKER_PATTERN`).
        sample_rate: int Hz, or None to read it from the first file's header.
        duration: float > 0, seconds each waveform is padded/cropped to.
        name: str recorded as the dataset's name; default the path.

    Returns:
        An `AudioDataset`.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: no wav files, a pattern that is invalid or does not
            match every file, a bad `duration` or `sample_rate`.
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"Audio folder '{path}' does not exist.")
    if not (isinstance(duration, (int, float)) and duration > 0):
        raise ValueError(f"Expected duration > 0 (seconds). Received: duration={duration!r}")
    files, labels, class_names = _list_wav_files(path)
    if not files:
        raise ValueError(f"No wav files found in folder '{path}' (looked for "
                         f"{', '.join(AUDIO_EXTENSIONS)}).")
    files = np.array(files)
    if label_pattern is not None:
        values = pattern_values(path, files, label_pattern, "label_pattern")
        unique = sorted(set(values), key=lambda v: (0, int(v), v) if v.isdigit() else (1, 0, v))
        lookup = {value: i for i, value in enumerate(unique)}
        labels = np.array([lookup[v] for v in values], np.int64)
        class_names = tuple(unique)
    speakers = None
    if speaker_pattern is not None:
        speakers = np.array(pattern_values(path, files, speaker_pattern, "speaker_pattern"))
    if sample_rate is None:
        sample_rate = _read_sample_rate(files[0])
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 1:
        raise ValueError(f"Expected an integer sample_rate >= 1. Received: "
                         f"sample_rate={sample_rate!r}")
    return AudioDataset(path, files, labels, name or str(path), class_names, speakers,
                        sample_rate=sample_rate, duration=float(duration))


def parse_fsdd_spec(spec):
    """The speakers an FSDD spec string selects, or None for all.

    `"fsdd"` -> None; `"fsdd:theo,yweweler"` -> `("theo", "yweweler")`;
    `"fsdd-source"` / `"fsdd-target"` -> the benchmark's four source /
    two target speakers (`FSDD_SOURCE_SPEAKERS`, `FSDD_TARGET_SPEAKERS`).

    Raises:
        ValueError: not an FSDD spec, or an empty speaker list.
    """
    if spec in FSDD_SPLITS:
        return FSDD_SPLITS[spec]
    if spec == FSDD_NAME:
        return None
    if not spec.startswith(FSDD_NAME + ":"):
        raise ValueError(f"Expected 'fsdd', 'fsdd:<speaker>,...', 'fsdd-source' or "
                         f"'fsdd-target'. Received: {spec!r}")
    speakers = tuple(s.strip() for s in spec[len(FSDD_NAME) + 1:].split(",") if s.strip())
    if not speakers:
        raise ValueError(f"Expected speakers after 'fsdd:', e.g. 'fsdd:theo,yweweler'. "
                         f"Received: {spec!r}")
    return speakers


def is_fsdd_spec(name):
    """Whether `name` is an FSDD dataset name or spec string."""
    return isinstance(name, str) and (name in (FSDD_NAME, *FSDD_SPLITS)
                                      or name.startswith(FSDD_NAME + ":"))


def load_fsdd(speakers=None, *, duration=DEFAULT_DURATION):
    """The Free Spoken Digit Dataset from the offline data folder.

    3,000 recordings (16-bit mono 8 kHz) of the digits 0-9, 50 each by six
    speakers; `fsdd/recordings/{digit}_{speaker}_{index}.wav` under
    `tfunsup.data.shared.data_path()`. Labels are the digits, `speakers`
    the names.

    Args:
        speakers: None for all, or an iterable of speaker names
            (`FSDD_SPEAKERS`).
        duration: seconds each waveform is padded/cropped to (1 s covers
            more than 99 % of the recordings).

    Returns:
        An `AudioDataset` named `"fsdd"` or `"fsdd:<speaker>,..."`.

    Raises:
        SharedDataMissingError: the folder is not there.
        ValueError: an unknown speaker.
    """
    from tfunsup.data.shared import data_path

    folder = data_path("fsdd", "recordings")
    data = load_audio_dataset(folder, label_pattern=FSDD_LABEL_PATTERN,
                              speaker_pattern=FSDD_SPEAKER_PATTERN, duration=duration,
                              name=FSDD_NAME)
    if speakers is None:
        return data
    speakers = [speakers] if isinstance(speakers, str) else list(speakers)
    data = data.select_speakers(speakers)
    return dataclasses.replace(data, name=f"{FSDD_NAME}:{','.join(speakers)}")


__all__ = ["AudioDataset", "FSDD_SOURCE_SPEAKERS", "FSDD_SPEAKERS", "FSDD_TARGET_SPEAKERS",
           "audio_pipeline", "decode_wav", "fix_length", "is_audio_data", "load_audio_dataset",
           "load_fsdd", "parse_fsdd_spec"]
