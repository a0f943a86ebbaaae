"""The one input preprocessing both domains go through: a common frame."""

import dataclasses

import numpy as np

from tfunsup.data.image_spec import ImageSpec
from tfunsup.data.pipeline import to_image_spec


def frame_spec(image_shape, spec):
    """The `ImageSpec` that brings images of `image_shape` into `spec`'s frame.

    Images already at the frame's full size are taken as framed (MNIST
    scans come as a 20x20 digit centred in 28x28): only their channels are
    converted. Images of any other size (tight 8x8 digit crops, photos) are
    resized to the frame's content box (`spec.content_fraction` of it) and
    zero-padded around, as `tfunsup.data.to_image_spec` does.

    Args:
        image_shape: `(height, width, channels)` of the incoming images.
        spec: `ImageSpec` of the network input (the common frame).

    Returns:
        An `ImageSpec` to pass to `tfunsup.data.to_image_spec`.
    """
    if tuple(image_shape[:2]) == (spec.height, spec.width):
        return dataclasses.replace(spec, content_fraction=1.0)
    return spec


def to_common_frame(images, spec, batch_size=2048):
    """Brings a domain's images to the common frame `spec` (see `frame_spec`).

    Both domains go through this same function, so they reach the network at
    the same size, channels, framing and value range ([0, 1]).

    Args:
        images: float32 `(n, height, width, channels)` in [0, 1].
        spec: `ImageSpec` of the network input.
        batch_size: images converted at a time.

    Returns:
        float32 numpy array `(n, spec.height, spec.width, spec.channels)`.
    """
    target = frame_spec(images.shape[1:], spec)
    if target == ImageSpec(*images.shape[1:]):
        return images.astype(np.float32, copy=False)
    return np.concatenate([to_image_spec(images[i:i + batch_size], target).numpy()
                           for i in range(0, len(images), batch_size)])
