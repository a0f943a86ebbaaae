"""The one input preprocessing both domains go through: a common frame."""

import dataclasses

import numpy as np

from tfunsup.data.audio_spec import AudioSpec
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
        images: float32 `(n, height, width, channels)` in [0, 1], or
            waveforms `(n, samples)` in [-1, 1] (see `fit_waveforms`).
        spec: `ImageSpec` of the network input (`AudioSpec` for waveforms).
        batch_size: images converted at a time.

    Returns:
        float32 numpy array `(n, spec.height, spec.width, spec.channels)`
        (or `(n, spec.n_samples)`).

    Raises:
        ValueError: waveforms with an `ImageSpec` or images with an `AudioSpec`.
    """
    if isinstance(spec, AudioSpec) or images.ndim == 2:
        return fit_waveforms(images, spec)
    target = frame_spec(images.shape[1:], spec)
    if target == ImageSpec(*images.shape[1:]):
        return images.astype(np.float32, copy=False)
    return np.concatenate([to_image_spec(images[i:i + batch_size], target).numpy()
                           for i in range(0, len(images), batch_size)])


def fit_waveforms(waveforms, spec):
    """Brings waveforms to `spec.n_samples`: centred, zero-padded or cropped
    (as `tfunsup.data.audio.fix_length` does in the data pipeline).

    Args:
        waveforms: float32 `(n, samples)` in [-1, 1].
        spec: `AudioSpec` of the network input.

    Returns:
        float32 numpy array `(n, spec.n_samples)`.

    Raises:
        ValueError: `spec` is not an `AudioSpec` or `waveforms` not rank 2.
    """
    if not isinstance(spec, AudioSpec):
        raise ValueError(
            "Waveforms need an audio network: pass an AudioDataset, or "
            "image_spec=AudioSpec(n_samples, sample_rate) with waveform arrays. "
            f"Received: waveforms of shape {np.shape(waveforms)} and image_spec={spec!r}")
    waveforms = np.asarray(waveforms, np.float32)
    if waveforms.ndim != 2:
        raise ValueError(f"Expected waveforms `(n, samples)` for an AudioSpec network. "
                         f"Received shape={waveforms.shape}")
    length, n = waveforms.shape[1], spec.n_samples
    if length == n:
        return waveforms
    if length > n:
        start = (length - n) // 2
        return np.ascontiguousarray(waveforms[:, start:start + n])
    before = (n - length) // 2
    return np.pad(waveforms, [(0, 0), (before, n - length - before)])
