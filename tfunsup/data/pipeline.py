"""`tf.data` input pipelines that bring images to a backbone's `ImageSpec`."""

import dataclasses
import os
import weakref

import numpy as np
import tensorflow as tf

from tfunsup.data.image_spec import ImageSpec


def to_image_spec(images, spec):
    """Resizes, frames or crops, and converts channels of images.

    Args:
        images: float32 tensor `(batch, height, width, channels)` or one
            image `(height, width, channels)`, values in [0, 1], channels 1
            or 3.
        spec: `ImageSpec` of the target input.

    Returns:
        float32 tensor of the same rank with size `(spec.height,
        spec.width)` and `spec.channels` channels, in [0, 1]. With
        `spec.crop_to_aspect_ratio` the largest centred window of the target
        aspect ratio is resized (bilinear, antialiased); otherwise the whole
        image is resized to `content_fraction` of the input and zero-padded
        around. No resize when `spec.height` is None.
    """
    import keras

    x = tf.convert_to_tensor(images, tf.float32)
    channels = x.shape[-1]
    if spec.channels == 3 and channels == 1:
        x = tf.image.grayscale_to_rgb(x)
    elif spec.channels == 1 and channels == 3:
        x = tf.image.rgb_to_grayscale(x)
    if spec.height is None or spec.width is None:
        return x
    if spec.crop_to_aspect_ratio:
        x = keras.ops.image.resize(x, (spec.height, spec.width), interpolation="bilinear",
                                   antialias=True, crop_to_aspect_ratio=True)
        return tf.clip_by_value(x, 0.0, 1.0)
    content = (max(1, round(spec.height * spec.content_fraction)),
               max(1, round(spec.width * spec.content_fraction)))
    if tuple(x.shape[-3:-1]) != content:
        x = tf.image.resize(x, content, method="bilinear", antialias=True)
    if content != (spec.height, spec.width):
        top = (spec.height - content[0]) // 2
        left = (spec.width - content[1]) // 2
        padding = [[top, spec.height - content[0] - top],
                   [left, spec.width - content[1] - left], [0, 0]]
        x = tf.pad(x, ([[0, 0]] if x.shape.rank == 4 else []) + padding)
    return tf.clip_by_value(x, 0.0, 1.0)


def decode_image(path, spec):
    """Reads and decodes one image file and brings it to `spec`.

    BMP, GIF (first frame), JPEG and PNG, 8 or 16 bit, grey, RGB or RGBA
    (alpha dropped), through `tf.io.decode_image`.

    Args:
        path: scalar string tensor, the file path.
        spec: `ImageSpec`; `height`/`width` None keeps the file's size.

    Returns:
        float32 tensor `(height, width, spec.channels)` in [0, 1].
    """
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, dtype=tf.float32,
                               expand_animations=False)
    return to_image_spec(image, spec)


def parallel_calls():
    """Cores this process may run on (the fixed parallelism of
    `image_pipeline`)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _without_autotune(ds):
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def image_pipeline(dataset, spec, batch_size=128, *, num_shards=1, shard_index=0,
                   ignore_errors=True):
    """The one `tf.data` road from a dataset's items to a backbone's input.

    Files are decoded in parallel and resized straight to `spec` (nothing is
    decoded up front, so memory does not grow with the number of files);
    arrays are sliced and converted per batch. Each image travels with its
    item position, so the caller knows which items came through: an
    unreadable file is dropped (`Dataset.ignore_errors`) instead of aborting
    the run, and is the position missing from the output.

    Parallelism is fixed, not autotuned: `parallel_calls()` decoding calls
    (one per schedulable core) and 2 prefetched batches. With tf.data
    autotuning on, deleting the iterator at the end of a pass waited for its
    autotune thread, up to 4.4 s in 3 of 8 passes over 256 photos on the
    loaded 2-core machine, which put `extract_features` at 0.71 of a bare
    forward pass in `benchmarks/bench_cluster_scale.py` (512 photos).
    Decoding and resizing cost about 5 % of a flip-averaged MobileNetV2
    pass, so one call per core keeps up.

    Args:
        dataset: `tfunsup.data.FileDataset` or `ArrayDataset`.
        spec: `ImageSpec` of the backbone input. A file dataset needs a
            fixed size; a None height/width falls back to 224.
        batch_size: int >= 1.
        num_shards: int >= 1; split the items across this many workers
            (`tf.data.Dataset.shard`: worker `i` gets items i, i + N, ...).
        shard_index: int in [0, num_shards), this worker's share.
        ignore_errors: drop unreadable files (True) or raise (False).

    Returns:
        A `tf.data.Dataset` of `(images, index)` batches: float32
        `(batch, height, width, channels)` in [0, 1] and int64 `(batch,)`
        positions in `dataset`.

    Raises:
        ValueError: bad `batch_size`, `num_shards` or `shard_index`.
    """
    from tfunsup.data.datasets import FileDataset

    if batch_size < 1:
        raise ValueError(f"Expected batch_size >= 1. Received: batch_size={batch_size}")
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise ValueError(
            "Expected num_shards >= 1 and 0 <= shard_index < num_shards. Received: "
            f"num_shards={num_shards}, shard_index={shard_index}")
    index = np.arange(len(dataset), dtype=np.int64)
    if isinstance(dataset, FileDataset):
        if spec.height is None or spec.width is None:
            spec = dataclasses.replace(spec, height=224, width=224)
        items = tf.data.Dataset.from_tensor_slices((dataset.files.astype(str), index))
        if num_shards > 1:
            items = items.shard(num_shards, shard_index)
        ds = items.map(lambda path, i: (decode_image(path, spec), i),
                       num_parallel_calls=parallel_calls(), deterministic=True)
        if ignore_errors:
            ds = ds.ignore_errors()
        ds = ds.batch(batch_size)
    else:
        items = tf.data.Dataset.from_tensor_slices((dataset.images, index))
        if num_shards > 1:
            items = items.shard(num_shards, shard_index)
        ds = items.batch(batch_size).map(lambda x, i: (to_image_spec(x, spec), i),
                                         num_parallel_calls=parallel_calls(),
                                         deterministic=True)
    return _without_autotune(ds.prefetch(2))


def make_dataset(images, spec=None, *, labels=None, batch_size=128, shuffle=False,
                 seed=None, cache=True, repeat=False, drop_remainder=False,
                 autotune=True, copy=True):
    """Builds a batched `tf.data.Dataset` from in-memory images.

    Args:
        images: float32 array `(n, height, width, channels)` in [0, 1].
        spec: `ImageSpec` to convert to, or None to keep the images as they are.
        labels: optional array `(n,)` (or `(n, k)`); yields `(images, labels)`.
        batch_size: int >= 1.
        shuffle: reshuffle every epoch, reproducibly from `seed`.
        seed: int seed of the shuffle.
        cache: cache converted batches (only when not shuffling).
        repeat: repeat forever.
        drop_remainder: drop the last partial batch.
        autotune: use tf.data autotuning. With `False`, prefetch a fixed 2
            batches; on small CPU machines that avoids a stall at every epoch
            start while the previous iterator's autotune thread shuts down.
        copy: copy the arrays into TensorFlow once (True), or gather each
            batch from the NumPy arrays (`tf.numpy_function`; False), for
            arrays as large as 50,000 feature vectors: TensorFlow's CPU
            allocator keeps the memory of a freed tensor for later tensors,
            so a copy would stay in the process. The same batches either way.

    Returns:
        A `tf.data.Dataset` of float32 batches (and labels if given).
    """
    if batch_size < 1:
        raise ValueError(f"Expected batch_size >= 1. Received: batch_size={batch_size}")
    elements = images if labels is None else (images, labels)
    if not copy:
        ds = tf.data.Dataset.range(len(images))
        if shuffle:
            ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        gather, keep_alive = _numpy_gather(elements, batch_size if drop_remainder else None)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder).map(gather)
    elif shuffle:
        # Shuffle positions and gather each batch: the same order as
        # shuffling the rows (a shuffle's order depends on its seed and n,
        # not on the elements), without a shuffle buffer holding a second
        # copy of the data (200 MB for 40,000 MobileNetV2 features).
        tensors = tf.nest.map_structure(tf.convert_to_tensor, elements)
        ds = tf.data.Dataset.range(len(images)).shuffle(
            len(images), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder).map(
            lambda i: tf.nest.map_structure(lambda t: tf.gather(t, i), tensors))
    else:
        ds = tf.data.Dataset.from_tensor_slices(elements).batch(
            batch_size, drop_remainder=drop_remainder)
    if spec is not None:
        convert = (lambda x: to_image_spec(x, spec)) if labels is None else (
            lambda x, y: (to_image_spec(x, spec), y))
        ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if cache and not shuffle:
        ds = ds.cache()
    if repeat:
        ds = ds.repeat()
    if autotune:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    else:
        options = tf.data.Options()
        options.autotune.enabled = False
        ds = ds.with_options(options).prefetch(2)
    if not copy:
        ds._tfunsup_arrays = keep_alive  # later datasets and iterators keep ds
    return ds


class _KeepAlive:
    """Holds the arrays a `copy=False` dataset gathers from (attribute of the
    dataset, so they live exactly as long as it and its iterators)."""

    __slots__ = ("arrays",)

    def __init__(self, arrays):
        self.arrays = arrays


def _numpy_gather(elements, batch_size):
    """`(positions -> rows of each array, keep_alive)`: rows gathered in NumPy,
    no copy of the arrays in TensorFlow.

    TensorFlow keeps every function passed to `tf.numpy_function` in a
    registry after its dataset is gone, so the function holds the arrays
    only weakly; the dataset holds them (`keep_alive`).
    """
    arrays = tf.nest.map_structure(np.asarray, elements)
    flat = tf.nest.flatten(arrays)
    refs = [weakref.ref(a) for a in flat]
    dtypes = [tf.as_dtype(a.dtype) for a in flat]
    shapes = [(batch_size,) + a.shape[1:] for a in flat]

    def gather(positions):
        return [ref()[positions] for ref in refs]

    def fn(positions):
        rows = tf.numpy_function(gather, [positions], dtypes, stateful=False)
        for row, shape in zip(rows, shapes):
            row.set_shape(shape)
        return tf.nest.pack_sequence_as(arrays, rows)

    return fn, _KeepAlive(flat)


__all__ = ["ImageSpec", "decode_image", "image_pipeline", "make_dataset", "to_image_spec"]
