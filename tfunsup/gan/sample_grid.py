"""A Keras callback that draws the generator's images for fixed latents after every epoch."""

from pathlib import Path

import keras
import numpy as np


class SampleGrid(keras.callbacks.Callback):
    """Generates images from the same latent vectors after each epoch.

    Uses the model's `sampler()` (the weight-averaged generator of a `GAN`
    with `ema_decay`), else its `generator`.

    Fixed latents make the grids comparable across epochs (and across a
    resumed run). Each grid is kept in `grids` and, with a `directory`,
    written as `samples_epoch_{epoch:03d}.png` (epochs counted from 1).

    Args:
        latents: float32 array `(n, latent_dim)` of fixed latent vectors,
            e.g. `tfunsup.gan.sample_latents(64, latent_dim, seed=0)`.
        directory: folder for the PNGs, or None to keep the grids in memory only.
        every: int >= 1; draw every `every` epochs (and after the last one).

    Attributes:
        grids: dict `{epoch: float32 array (n, height, width, channels)}`.
    """

    def __init__(self, latents, directory=None, every=1):
        super().__init__()
        self.latents = np.asarray(latents, dtype=np.float32)
        if self.latents.ndim != 2 or len(self.latents) < 1:
            raise ValueError(
                f"Expected latents of shape (n, latent_dim). Received shape={self.latents.shape}")
        if every < 1:
            raise ValueError(f"Expected every >= 1. Received: every={every}")
        self.directory = Path(directory) if directory is not None else None
        self.every = every
        self.grids = {}

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") if self.params else None
        if (epoch + 1) % self.every and epoch + 1 != last:
            return
        generator = self.model.sampler() if hasattr(self.model, "sampler") else self.model.generator
        images = np.asarray(generator(self.latents, training=False))
        self.grids[epoch + 1] = images
        if self.directory is not None:
            from tfunsup.gan.plots import save_image_grid

            self.directory.mkdir(parents=True, exist_ok=True)
            save_image_grid(images, self.directory / f"samples_epoch_{epoch + 1:03d}.png",
                            title=f"epoch {epoch + 1}")
