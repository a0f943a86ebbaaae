"""Source- and target-side augmentation inside the `tf.data` pipeline.

It runs in the input pipeline rather than in the train step: area resizing
has no XLA kernel, and stateless random ops keyed by the batch index keep
runs repeatable whatever the pipeline's parallelism.
"""

import numpy as np
import tensorflow as tf

AUGMENTATIONS = ("standard", "stroke", "affine", "none")
# `"affine"`: the random rotation and scale of `augment_source` on top of
# `"standard"` (degrees, fraction of the size).
AFFINE_ROTATION = 10.0
AFFINE_SCALE = 0.1
# SHOT's target-side augmentation (`SHOT(target_augment=...)`).
TARGET_AUGMENTATIONS = ("none", "affine")


def resolve_augment(augment):
    """The name of a source augmentation setting.

    Args:
        augment: `"standard"` (or True): random low resolution and shifts;
            `"stroke"`: the same plus random stroke thickening (an option
            shaped to thick-stroked targets such as scikit-learn's digits,
            off by default); `"affine"`: the standard one plus a random
            rotation (up to `AFFINE_ROTATION` degrees) and scale (up to
            `AFFINE_SCALE`); `"none"` (or False/None): no augmentation.

    Returns:
        One of `AUGMENTATIONS`.

    Raises:
        ValueError: any other value.
    """
    if augment is True:
        return "standard"
    if augment is False or augment is None:
        return "none"
    if isinstance(augment, str) and augment in AUGMENTATIONS:
        return augment
    raise ValueError(f"Expected augment in {AUGMENTATIONS} (or a bool). "
                     f"Received: augment={augment!r}")


def augment_source(images, seed, max_dilation=0, low_resolution_factor=0.4,
                   low_resolution_rate=0.5, max_shift=0.1, max_rotation=0.0, max_scale=0.0):
    """Random low resolution and random affine moves of a batch of source images.

    With `max_dilation` > 0 each image's strokes are first thickened by a
    random 0..`max_dilation` steps of 3x3 grey dilation (max pooling); this
    imitates thick-stroked targets and is therefore off by default. With
    probability `low_resolution_rate` an image is area-downsampled to
    `low_resolution_factor` of its size and bilinearly upsampled again (as
    `tfunsup.layers.RandomLowResolution`), so sharp source strokes look like
    coarsely sampled target digits; then every image is shifted by up to
    `max_shift` of its size (zero fill), and, when `max_rotation` or
    `max_scale` is > 0, rotated by up to `max_rotation` degrees and scaled
    by a factor in `[1 - max_scale, 1 + max_scale]` about its centre in the
    same resampling (small affine distortions of the kind Simard, Steinkraus
    & Platt 2003 use on MNIST).

    Args:
        images: float32 `(batch, height, width, channels)` in [0, 1], static
            height and width.
        seed: int32 tensor `(2,)`, stateless seed (e.g. `[seed, batch_index]`).
        max_dilation: int >= 0, largest number of stroke-thickening steps.
        low_resolution_factor: float in (0, 1).
        low_resolution_rate: float in [0, 1].
        max_shift: float in [0, 1), largest shift as a fraction of the size.
        max_rotation: float in [0, 180), largest rotation in degrees.
        max_scale: float in [0, 1), largest relative change of size.

    Returns:
        float32 tensor of the same shape, values in [0, 1].
    """
    images = tf.convert_to_tensor(images, tf.float32)
    height, width = images.shape[1], images.shape[2]
    batch = tf.shape(images)[0]
    dilation_seed, low_seed, shift_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 3))
    if max_dilation > 0:
        thickness = tf.random.stateless_uniform((batch, 1, 1, 1), dilation_seed, 0,
                                                max_dilation + 1, dtype=tf.int32)
        dilated = images
        for step in range(1, max_dilation + 1):
            dilated = tf.nn.max_pool2d(dilated, 3, 1, "SAME")
            images = tf.where(thickness >= step, dilated, images)
    if low_resolution_rate > 0:
        low = (max(1, round(height * low_resolution_factor)),
               max(1, round(width * low_resolution_factor)))
        degraded = tf.image.resize(tf.image.resize(images, low, method="area"),
                                   (height, width), method="bilinear")
        pick = tf.random.stateless_uniform((batch, 1, 1, 1), low_seed) < low_resolution_rate
        images = tf.where(pick, degraded, images)
    affine = max_rotation > 0 or max_scale > 0
    if max_shift > 0 or affine:
        shifts = tf.random.stateless_uniform((batch, 2), shift_seed, -max_shift, max_shift)
        dx, dy = shifts[:, 0] * width, shifts[:, 1] * height
        ones, zeros = tf.ones_like(dx), tf.zeros_like(dx)
        # Output pixel (x, y) reads input pixel (x - dx, y - dy).
        transforms = tf.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)
        if affine:
            # A seed of its own (folded from the shift's), so the other
            # draws stay what they are without rotation and scale.
            rotation_seed, scale_seed = tf.unstack(
                tf.random.experimental.stateless_split(shift_seed, 2))
            angle = tf.random.stateless_uniform((batch,), rotation_seed, -max_rotation,
                                                max_rotation) * (np.pi / 180)
            scale = tf.random.stateless_uniform((batch,), scale_seed, 1 - max_scale,
                                                1 + max_scale)
            # Output pixel p reads input pixel R(-angle) (p - c) / scale + c - d,
            # c the image centre, d the shift.
            cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
            cx, cy = (width - 1) / 2, (height - 1) / 2
            transforms = tf.stack([cos, sin, cx - cos * cx - sin * cy - dx,
                                   -sin, cos, cy + sin * cx - cos * cy - dy,
                                   zeros, zeros], axis=1)
        images = tf.raw_ops.ImageProjectiveTransformV3(
            images=images, transforms=transforms, output_shape=tf.constant([height, width]),
            fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
    return tf.clip_by_value(images, 0.0, 1.0)


def augment_waveforms(waveforms, seed, max_speed_change=0.1, max_shift=0.1):
    """Random speed perturbation and time shift of a batch of source waveforms.

    Each waveform is resampled by linear interpolation at a random speed
    factor in `[1 - max_speed_change, 1 + max_speed_change]` around its
    centre (which shifts pitch and formants together, as a different vocal
    tract would; Ko et al., Audio augmentation for speech recognition,
    Interspeech 2015), then shifted by up to `max_shift` of its length (zero
    fill). Keyed by a stateless seed, like `augment_source`.

    Args:
        waveforms: float32 `(batch, samples)` in [-1, 1], static length.
        seed: int tensor `(2,)`, stateless seed (e.g. `[seed, batch_index]`).
        max_speed_change: float in [0, 1).
        max_shift: float in [0, 1).

    Returns:
        float32 tensor of the same shape, values in [-1, 1].
    """
    waveforms = tf.convert_to_tensor(waveforms, tf.float32)
    n = waveforms.shape[1]
    batch = tf.shape(waveforms)[0]
    speed_seed, shift_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    speed = tf.random.stateless_uniform((batch, 1), speed_seed, 1 - max_speed_change,
                                        1 + max_speed_change)
    shift = tf.random.stateless_uniform((batch, 1), shift_seed, -max_shift, max_shift) * n
    centre = (n - 1) / 2.0
    # Output sample t reads input position centre + (t - centre - shift) * speed.
    t = tf.range(n, dtype=tf.float32)[tf.newaxis, :]
    position = centre + (t - centre - shift) * speed
    inside = tf.cast((position >= 0) & (position <= n - 1), tf.float32)
    low = tf.floor(position)
    weight = position - low
    low = tf.cast(low, tf.int32)
    low = tf.clip_by_value(low, 0, n - 1)
    high = tf.clip_by_value(low + 1, 0, n - 1)
    out = ((1 - weight) * tf.gather(waveforms, low, batch_dims=1)
           + weight * tf.gather(waveforms, high, batch_dims=1)) * inside
    return tf.clip_by_value(out, -1.0, 1.0)


def augment_target(images, seed, max_shift=0.1, max_rotation=AFFINE_ROTATION,
                   max_scale=AFFINE_SCALE):
    """Random shifts, rotations and scales of a batch of target images.

    `augment_source`'s affine moves without its random low resolution (the
    target images already are what they are). SHOT's pseudo-labels are
    computed on the unaugmented images; training its feature extractor on
    moved copies asks for the same prediction under small distortions, the
    weak augmentation of FixMatch's pseudo-labelling (Sohn et al. 2020).

    Args:
        images: float32 `(batch, height, width, channels)` in [0, 1], static
            height and width.
        seed: int32 tensor `(2,)`, stateless seed.
        max_shift: float in [0, 1), largest shift as a fraction of the size.
        max_rotation: float in [0, 180), largest rotation in degrees.
        max_scale: float in [0, 1), largest relative change of scale.

    Returns:
        float32 tensor of the same shape, in [0, 1].
    """
    return augment_source(images, seed, low_resolution_rate=0.0, max_shift=max_shift,
                          max_rotation=max_rotation, max_scale=max_scale)
