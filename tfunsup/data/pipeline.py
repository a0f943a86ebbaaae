"""`tf.data` input pipelines that bring images to a backbone's `ImageSpec`."""

import tensorflow as tf

from tfunsup.data.image_spec import ImageSpec


def to_image_spec(images, spec):
    """Resizes, frames and converts channels of an image batch.

    Args:
        images: float32 tensor `(batch, height, width, channels)` in [0, 1],
            channels 1 or 3.
        spec: `ImageSpec` of the target input.

    Returns:
        float32 tensor `(batch, spec.height, spec.width, spec.channels)` in
        [0, 1]; the image is resized to `content_fraction` of the input and
        zero-padded around (no resize when `spec.height` is None).
    """
    x = tf.convert_to_tensor(images, tf.float32)
    channels = x.shape[-1]
    if spec.channels == 3 and channels == 1:
        x = tf.image.grayscale_to_rgb(x)
    elif spec.channels == 1 and channels == 3:
        x = tf.image.rgb_to_grayscale(x)
    if spec.height is None or spec.width is None:
        return x
    content = (max(1, round(spec.height * spec.content_fraction)),
               max(1, round(spec.width * spec.content_fraction)))
    if tuple(x.shape[1:3]) != content:
        x = tf.image.resize(x, content, method="bilinear", antialias=True)
    if content != (spec.height, spec.width):
        top = (spec.height - content[0]) // 2
        left = (spec.width - content[1]) // 2
        x = tf.pad(x, [[0, 0], [top, spec.height - content[0] - top],
                       [left, spec.width - content[1] - left], [0, 0]])
    return tf.clip_by_value(x, 0.0, 1.0)


def make_dataset(images, spec=None, *, labels=None, batch_size=128, shuffle=False,
                 seed=None, cache=True, repeat=False, drop_remainder=False,
                 autotune=True):
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

    Returns:
        A `tf.data.Dataset` of float32 batches (and labels if given).
    """
    if batch_size < 1:
        raise ValueError(f"Expected batch_size >= 1. Received: batch_size={batch_size}")
    elements = images if labels is None else (images, labels)
    ds = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if spec is not None:
        convert = (lambda x: to_image_spec(x, spec)) if labels is None else (
            lambda x, y: (to_image_spec(x, spec), y))
        ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if cache and not shuffle:
        ds = ds.cache()
    if repeat:
        ds = ds.repeat()
    if autotune:
        return ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options).prefetch(2)


__all__ = ["ImageSpec", "make_dataset", "to_image_spec"]
