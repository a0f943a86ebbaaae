"""Backbone features of a dataset, computed once, saved with their item ids.

`extract_features` streams a dataset through `image_pipeline` and a frozen
backbone; unreadable files are skipped and listed. `save_features` /
`load_features` keep the result as `.npz` beside a key (data fingerprint,
backbone, input spec) so a later run with another K reuses it, and
`merge_features` joins the per-shard files of a split extraction.
"""

import dataclasses
import hashlib
import json
import os
import warnings
import weakref
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfunsup.data.datasets import FileDataset
from tfunsup.data.pipeline import decode_image, image_pipeline
from tfunsup.data.text import TextDataset

FEATURES_FILENAME = "features.npz"
# `batch_size=None` sizes batches to about this many input pixels per backbone
# pass (16 images at 224x224; 8 for a flip-averaged backbone, whose two passes
# run side by side): the backbone's activations, not the images, set peak
# memory, and TensorFlow's CPU allocator keeps the peak for the rest of the
# process. Flip-averaged MobileNetV2 at 224 on 2 cores: the process holds
# 1.0 GiB more after extraction at 32 images a batch, 0.5 at 16, 0.3 at 8,
# at the same speed (32, 34, 34 images/s, medians of 4 alternating runs) and
# with bitwise the same features (checked at 224 and at 144 x 144).
PIXELS_PER_BATCH = 16 * 224 * 224


_FORWARD = weakref.WeakKeyDictionary()  # backbone -> its compiled forward pass


def _forward(backbone):
    """One `tf.function` per backbone (no retracing across calls)."""
    if backbone not in _FORWARD:
        _FORWARD[backbone] = tf.function(lambda x: backbone(x, training=False),
                                         reduce_retracing=True)
    return _FORWARD[backbone]


class FeatureCacheMismatchError(ValueError):
    """A saved feature file belongs to other data, backbone or input spec."""


@dataclasses.dataclass(frozen=True, eq=False)
class Features:
    """Features of the readable items of a dataset.

    Attributes:
        features: float32 `(m, feature_dim)`, one row per kept item.
        index: int64 `(m,)`, positions of the kept items in the dataset,
            increasing.
        skipped: tuple of str, ids of the items that could not be read.
        key: dict identifying data, backbone and input spec.
    """

    features: np.ndarray
    index: np.ndarray
    skipped: tuple
    key: dict


def dataset_fingerprint(dataset):
    """A SHA-1 of the dataset's items: file paths, sizes and modification
    times for a folder; the texts of a `TextDataset`; the array bytes for
    in-memory data."""
    digest = hashlib.sha1()
    if isinstance(dataset, TextDataset):
        for text in dataset.texts:
            digest.update(str(text).encode("utf-8", "replace") + b"\0")
    elif isinstance(dataset, FileDataset):
        for path in dataset.files:
            stat = os.stat(path)
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    else:
        digest.update(np.ascontiguousarray(dataset.images).tobytes())
    return digest.hexdigest()


def feature_key(dataset, backbone_name, spec, sequence_length=None):
    """The cache key of a dataset's features under a backbone and input spec.

    Args:
        dataset: `FileDataset`, `ArrayDataset` or `TextDataset`.
        backbone_name: str naming the backbone (its spec string).
        spec: `ImageSpec` the images are brought to, or None for text.
        sequence_length: tokens per text of a text encoder (None for images).

    Returns:
        dict of JSON-able values.
    """
    return {"data": str(dataset.name), "n_items": len(dataset),
            "fingerprint": dataset_fingerprint(dataset), "backbone": str(backbone_name),
            "image_spec": None if spec is None else dataclasses.asdict(spec),
            "sequence_length": sequence_length}


def find_unreadable(dataset, batch_size=256):
    """Ids of the files `tf.io.decode_image` cannot read (a decode-only pass).

    Args:
        dataset: `FileDataset` (an `ArrayDataset` has none).

    Returns:
        list of str ids.
    """
    if not isinstance(dataset, FileDataset):
        return []
    index = np.arange(len(dataset), dtype=np.int64)
    spec_free = tf.data.Dataset.from_tensor_slices((dataset.files.astype(str), index))
    from tfunsup.data.image_spec import ImageSpec

    native = ImageSpec(None, None, 3)
    readable = (spec_free.map(lambda path, i: (tf.shape(decode_image(path, native))[0], i),
                              num_parallel_calls=tf.data.AUTOTUNE)
                .ignore_errors().map(lambda _, i: i).batch(batch_size))
    seen = np.zeros(len(dataset), bool)
    for batch in readable:
        seen[batch.numpy()] = True
    return [str(i) for i in dataset.ids[~seen]]


def auto_batch_size(spec, maximum=256, passes=1):
    """Images per batch holding about `PIXELS_PER_BATCH` input pixels over
    `passes` backbone passes per image (2 for a flip-averaged backbone,
    `backbone.passes_per_image`)."""
    pixels = (spec.height or 224) * (spec.width or 224) * max(1, int(passes))
    return int(max(1, min(maximum, PIXELS_PER_BATCH // pixels)))


def extract_features(backbone, dataset, *, spec=None, backbone_name=None, batch_size=None,
                     num_shards=1, shard_index=0, cache_dir=None, verbose=0):
    """Runs a frozen backbone over a dataset, streaming, skipping bad files.

    A `TextDataset` goes through a text encoder instead
    (`tfunsup.backbones.text_encoder.encode_texts`: batches padded to their
    longest text, embeddings cached in `cache_dir`).

    Args:
        backbone: keras.Model mapping `(batch, h, w, c)` images in [0, 1] to
            `(batch, feature_dim)` features (from `load_backbone`), or, for a
            `TextDataset`, a text encoder mapping strings `(batch,)` to
            `(batch, feature_dim)` (`modality == "text"`).
        dataset: `FileDataset`, `ArrayDataset` or `TextDataset`.
        spec: `ImageSpec` of the input; default `backbone.image_spec`.
        backbone_name: str for the cache key; default `backbone.spec_name`.
        batch_size: int >= 1, or None for `auto_batch_size` (16 at
            224x224, 8 for a flip-averaged backbone: larger batches are no
            faster on a CPU and their activations dominate peak memory).
        num_shards, shard_index: extract only this worker's share (see
            `image_pipeline`); merge the shards with `merge_features`.
            Images only.
        cache_dir: folder of the text-embedding cache (text only; None: no
            cache).
        verbose: 0 silent, 1 a progress bar.

    Returns:
        `Features`. Peak memory is the feature matrix plus a few batches.

    Raises:
        ValueError: no item of the dataset (or of the shard) is readable;
            a text dataset with an image backbone or the reverse, or with
            `num_shards > 1`.
    """
    is_text = getattr(backbone, "modality", None) == "text"
    if isinstance(dataset, TextDataset) or is_text:
        return _text_features(backbone, dataset, is_text, backbone_name, batch_size,
                              num_shards, cache_dir, verbose)
    spec = spec or backbone.image_spec
    batch_size = batch_size or auto_batch_size(
        spec, passes=getattr(backbone, "passes_per_image", 1))
    backbone_name = backbone_name or getattr(backbone, "spec_name", backbone.name)
    key = dict(feature_key(dataset, backbone_name, spec), num_shards=num_shards,
               shard_index=shard_index)
    forward = _forward(backbone)
    pipeline = image_pipeline(dataset, spec, batch_size, num_shards=num_shards,
                              shard_index=shard_index)
    expected = len(range(shard_index, len(dataset), num_shards))
    progress = None
    if verbose:
        import keras

        progress = keras.utils.Progbar(expected, unit_name="image")
    features, index, filled = None, np.empty(expected, np.int64), 0
    for images, positions in pipeline:
        batch = forward(images).numpy()
        if features is None:
            features = np.empty((expected, batch.shape[1]), np.float32)
        features[filled:filled + len(batch)] = batch
        index[filled:filled + len(batch)] = positions.numpy()
        filled += len(batch)
        if progress is not None:
            progress.update(filled)
    mine = np.arange(shard_index, len(dataset), num_shards)
    kept = index[:filled]
    skipped = tuple(str(i) for i in dataset.ids[np.setdiff1d(mine, kept)])
    if filled == 0:
        where = dataset.root if isinstance(dataset, FileDataset) else dataset.name
        raise ValueError(
            f"No readable image in '{where}'" + (f" (shard {shard_index} of {num_shards})"
                                                 if num_shards > 1 else "")
            + f": all {expected} files failed to decode, e.g. '{skipped[0]}'.")
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5
                                          else "")
        warnings.warn(f"Skipped {len(skipped)} unreadable file(s): {shown}.", stacklevel=2)
    return Features(features[:filled], kept, skipped, key)


def _text_features(encoder, dataset, is_text, backbone_name, batch_size, num_shards,
                   cache_dir, verbose):
    if not (is_text and isinstance(dataset, TextDataset)):
        what = "a text encoder" if is_text else "an image backbone"
        raise ValueError(
            f"Expected a text encoder for text data and an image backbone for images. "
            f"Received: {what} '{getattr(encoder, 'spec_name', encoder.name)}' with a "
            f"{type(dataset).__name__}.")
    if num_shards != 1:
        raise ValueError(f"Sharded extraction is for images. Received: num_shards={num_shards} "
                         "with text (text embeddings are cached instead).")
    from tfunsup.backbones.text_encoder import encode_texts

    backbone_name = backbone_name or getattr(encoder, "spec_name", encoder.name)
    key = dict(feature_key(dataset, backbone_name, None,
                           getattr(encoder, "sequence_length", None)),
               num_shards=1, shard_index=0)
    embeddings = encode_texts(encoder, list(dataset.texts), batch_size=batch_size or 32,
                              cache_dir=cache_dir, verbose=bool(verbose))
    return Features(embeddings, np.arange(len(dataset), dtype=np.int64), (), key)


def save_features(path, result, ids):
    """Writes `Features` to an `.npz` (`features`, `index`, `ids` of the kept
    items, `skipped`, `key` as JSON).

    Args:
        path: file path.
        result: `Features`.
        ids: the dataset's ids (`dataset.ids`), to store the kept ones.
    """
    np.savez(path, features=result.features, index=result.index,
             ids=np.asarray(ids)[result.index].astype(str),
             skipped=np.array(result.skipped, dtype=str), key=json.dumps(result.key))
    return Path(path)


def load_features(path):
    """Reads a file written by `save_features`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a tfunsup feature file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Feature file '{path}' does not exist.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return Features(archive["features"], archive["index"].astype(np.int64),
                            tuple(str(s) for s in archive["skipped"]),
                            json.loads(str(archive["key"])))
    except (KeyError, ValueError, OSError) as error:
        raise ValueError(f"'{path}' is not a tfunsup feature file: {error}") from error


def _same_source(key, expected):
    fields = ("data", "n_items", "fingerprint", "backbone", "image_spec", "sequence_length")
    return all(key.get(f) == expected.get(f) for f in fields)


def merge_features(parts, expected_key=None):
    """Joins per-shard `Features` into the single-process result.

    Args:
        parts: list of `Features`, one per shard (any order).
        expected_key: optional key (`feature_key(...)`) they must match.

    Returns:
        `Features` with rows in dataset order.

    Raises:
        FeatureCacheMismatchError: parts of different data/backbones, a
            missing or repeated shard, or a mismatch with `expected_key`.
    """
    if not parts:
        raise ValueError("Expected at least one feature file. Received none.")
    reference = parts[0].key
    for part in parts:
        if not _same_source(part.key, reference):
            raise FeatureCacheMismatchError(
                "Feature files come from different data, backbones or input specs: "
                f"{part.key} vs {reference}.")
    if expected_key is not None and not _same_source(reference, expected_key):
        diff = [f for f in ("data", "n_items", "fingerprint", "backbone", "image_spec",
                            "sequence_length")
                if reference.get(f) != expected_key.get(f)]
        raise FeatureCacheMismatchError(
            f"Saved features do not match this run ({', '.join(diff)} differ): saved "
            f"{ {f: reference.get(f) for f in diff} }, now { {f: expected_key.get(f) for f in diff} }.")
    num_shards = reference.get("num_shards", 1)
    shards = sorted(part.key.get("shard_index", 0) for part in parts)
    if shards != list(range(num_shards)):
        raise FeatureCacheMismatchError(
            f"Expected shards 0..{num_shards - 1} exactly once. Received shards {shards}.")
    index = np.concatenate([p.index for p in parts])
    order = np.argsort(index, kind="stable")
    if len(parts) == 1 and np.array_equal(order, np.arange(len(order))):
        features = parts[0].features  # one file in order: no copies of the matrix
    else:
        features = np.concatenate([p.features for p in parts])[order]
    skipped = tuple(s for p in parts for s in p.skipped)
    key = {k: v for k, v in reference.items() if k not in ("num_shards", "shard_index")}
    return Features(features, index[order], skipped, dict(key, num_shards=1, shard_index=0))
