"""Differentiable augmentation of the discriminator's inputs (DiffAugment).

Applied to real and generated images alike, in the discriminator and the
generator updates, so that the discriminator does not memorise a small
training set while the generator still learns from undistorted targets.

Reference:
    Zhao, Liu, Lin, Zhu, Han. Differentiable Augmentation for Data-Efficient
    GAN Training. NeurIPS 2020.
"""

import tensorflow as tf

POLICIES = ("translation", "cutout")


def check_policy(policy):
    """`policy` ("translation", "cutout", "translation,cutout" or None) as a tuple."""
    if policy is None or policy == "":
        return ()
    names = tuple(p.strip() for p in str(policy).split(","))
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"Expected augmentations among {POLICIES}. Received: augment={policy!r}")
    return names


def translate(images, seed, ratio=0.125):
    """Shifts each image by up to `ratio` of its size in both directions, with
    zero padding (a per-sample gather, so it is differentiable).

    Args:
        images: float tensor `(batch, height, width, channels)`.
        seed: stateless seed, int32/int64 tensor of shape `(2,)`.
        ratio: maximal shift as a fraction of the height / width.

    Returns:
        Tensor of the same shape and dtype.
    """
    height, width = images.shape[1], images.shape[2]
    max_h, max_w = max(int(height * ratio + 0.5), 1), max(int(width * ratio + 0.5), 1)
    batch = tf.shape(images)[0]
    shift_h = tf.random.stateless_uniform((batch, 1), seed, -max_h, max_h + 1, tf.int32)
    shift_w = tf.random.stateless_uniform((batch, 1), seed + 1, -max_w, max_w + 1, tf.int32)
    padded = tf.pad(images, [[0, 0], [max_h, max_h], [max_w, max_w], [0, 0]])
    rows = tf.range(height)[None, :] + max_h - shift_h
    cols = tf.range(width)[None, :] + max_w - shift_w
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, cols, axis=2, batch_dims=1)


def cutout(images, seed, ratio=0.5):
    """Zeroes one random square of `ratio` times the image size per image.

    Args:
        images: float tensor `(batch, height, width, channels)`.
        seed: stateless seed, tensor of shape `(2,)`.
        ratio: side of the square as a fraction of the height / width.

    Returns:
        Tensor of the same shape and dtype.
    """
    height, width = images.shape[1], images.shape[2]
    size_h, size_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    batch = tf.shape(images)[0]
    top = tf.random.stateless_uniform((batch, 1, 1), seed, 0, height + 1 - size_h, tf.int32)
    left = tf.random.stateless_uniform((batch, 1, 1), seed + 1, 0, width + 1 - size_w, tf.int32)
    rows = tf.range(height)[None, :, None]
    cols = tf.range(width)[None, None, :]
    inside = ((rows >= top) & (rows < top + size_h)) & ((cols >= left) & (cols < left + size_w))
    return images * tf.cast(~inside, images.dtype)[..., None]


def diff_augment(images, policy, seed):
    """Applies the augmentations of `policy` (a tuple from `check_policy`) in order."""
    for i, name in enumerate(policy):
        step_seed = seed + tf.constant([0, 7919], seed.dtype) * (i + 1)
        images = translate(images, step_seed) if name == "translation" else cutout(
            images, step_seed)
    return images
