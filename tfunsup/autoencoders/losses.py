"""Reconstruction losses (pure functions)."""

from keras import ops


def reconstruction_error(images, reconstructions):
    """Per-sample mean squared reconstruction error.

    .. math::
        e(x) = \\frac{1}{d} \\|x - D(E(x))\\|^2

    over the d = height * width * channels values of each image.

    Args:
        images: float32 tensor `(batch, height, width, channels)`.
        reconstructions: float32 tensor of the same shape.

    Returns:
        float32 tensor `(batch,)`.
    """
    squared = ops.square(ops.subtract(images, reconstructions))
    return ops.mean(squared, axis=tuple(range(1, len(squared.shape))))
