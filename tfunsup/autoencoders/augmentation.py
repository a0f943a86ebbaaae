"""Random small rotations and shifts for autoencoder pretraining (DEC-DA).

Runs in the `tf.data` pipeline; stateless random ops keyed by a per-batch
seed keep runs repeatable whatever the pipeline's parallelism.
"""

import math

import tensorflow as tf


def random_affine(images, seed, max_rotation=10.0, max_shift=0.1):
    """Rotates each image by a random angle about its center, then shifts it.

    One projective-transform op per batch (bilinear, zero fill), as
    Keras' `RandomRotation` and `RandomTranslation` would apply in two.

    Args:
        images: float32 tensor `(batch, height, width, channels)` in [0, 1],
            static height and width.
        seed: int32 tensor `(2,)`, stateless seed (e.g. `[seed, batch_index]`).
        max_rotation: float >= 0, largest rotation in degrees (either way).
        max_shift: float in [0, 1), largest shift as a fraction of the size.

    Returns:
        float32 tensor of the same shape, values in [0, 1].

    Reference:
        Guo, Zhu, Liu, Yin. Deep Embedded Clustering with Data Augmentation.
        ACML 2018 (random rotations and shifts while pretraining).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    height, width = images.shape[1], images.shape[2]
    batch = tf.shape(images)[0]
    angle_seed, shift_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    angle = tf.random.stateless_uniform((batch,), angle_seed, -max_rotation,
                                        max_rotation) * (math.pi / 180.0)
    shifts = tf.random.stateless_uniform((batch, 2), shift_seed, -max_shift, max_shift)
    dx, dy = shifts[:, 0] * width, shifts[:, 1] * height
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    cos, sin = tf.cos(angle), tf.sin(angle)
    # The transform maps each output pixel (x, y) to the input pixel it reads:
    # undo the shift, then rotate by -angle about the center.
    ux, uy = cx + dx, cy + dy
    zeros = tf.zeros_like(angle)
    transforms = tf.stack([cos, sin, cx - cos * ux - sin * uy,
                           -sin, cos, cy + sin * ux - cos * uy, zeros, zeros], axis=1)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.constant([height, width]),
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
    return tf.clip_by_value(images, 0.0, 1.0)


def augmented_dataset(images, batch_size, seed, max_rotation=10.0, max_shift=0.1,
                      shuffle=True):
    """An endless shuffled `tf.data` pipeline of `random_affine` batches.

    Every batch gets its own augmentation seed `[seed, batch_index]`; pass
    `steps_per_epoch` to `fit`.

    Args:
        images: float32 array `(n, height, width, channels)` in [0, 1], or a
            tuple `(images, targets)` whose targets pass through unchanged.
        batch_size: int >= 1.
        seed: int, seeds the shuffle and the augmentation.
        max_rotation: float >= 0, degrees; 0 with `max_shift` 0 turns
            augmentation off.
        max_shift: float in [0, 1).
        shuffle: reshuffle every pass.

    Returns:
        A repeated `tf.data.Dataset` of batches (and targets if given).
    """
    seed = 0 if seed is None else int(seed)
    has_targets = isinstance(images, tuple)
    n = len(images[0]) if has_targets else len(images)
    ds = tf.data.Dataset.from_tensor_slices(images)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).repeat().enumerate()
    augment = max_rotation > 0 or max_shift > 0

    def transform(index, batch):
        x, rest = (batch[0], batch[1:]) if has_targets else (batch, ())
        if augment:
            key = tf.stack([tf.constant(seed, tf.int64), index])
            x = random_affine(x, tf.cast(key % (2 ** 31 - 1), tf.int32),
                              max_rotation, max_shift)
        return (x, *rest) if has_targets else x

    ds = ds.map(transform, num_parallel_calls=1, deterministic=True)
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options).prefetch(2)
