"""Export of a trained generator as a SavedModel mapping latents to images."""

import keras

from tfunsup.utils.export import export_atomically


def export_generator(generator, path, overwrite=False):
    """Exports a generator as a SavedModel, atomically.

    The SavedModel's `serve` function (and `serving_default` signature, input
    `latents`, output `output_0`) maps float32 latent vectors `(n,
    latent_dim)` to float32 images `(n, height, width, channels)` in [0, 1],
    with the generator in inference mode (batch-norm moving statistics).
    Reload it with `obj = tf.saved_model.load(path); obj.serve(latents)`.

    Args:
        generator: the generator `keras.Model`, or a `GAN` (its `sampler()`:
            the weight-averaged generator when it keeps one).
        path: destination folder.
        overwrite: replace an existing `path`.

    Returns:
        `Path` of the SavedModel.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
    """
    if hasattr(generator, "sampler"):
        generator = generator.sampler()
    if not isinstance(generator, keras.Model):
        raise ValueError(f"Expected a keras.Model generator or a GAN. Received: {generator!r}")
    return export_atomically(generator, path, overwrite=overwrite)
