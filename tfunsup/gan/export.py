"""Export of a trained generator as a SavedModel mapping latents to images."""

import os
import shutil
import tempfile
from pathlib import Path

import keras


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
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"SavedModel path '{path}' exists; pass overwrite=True.")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        generator.export(str(staging / "model"), verbose=False)
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging / "model", path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path
