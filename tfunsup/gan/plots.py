"""PNG figures of GAN runs (matplotlib `Figure` objects, no backend switch)."""

import math

import numpy as np
from matplotlib.figure import Figure


def image_grid(images, n_cols=None, padding=1):
    """Tiles images into one array.

    Args:
        images: float array `(n, height, width, channels)` in [0, 1].
        n_cols: images per row; default about `sqrt(n)`.
        padding: pixels between images (value 1, white).

    Returns:
        float32 array `(rows * (height + padding) - padding, cols * (width +
        padding) - padding, channels)`.
    """
    images = np.asarray(images, dtype=np.float32)
    n, height, width, channels = images.shape
    n_cols = n_cols or math.ceil(math.sqrt(n))
    n_rows = math.ceil(n / n_cols)
    grid = np.ones((n_rows * (height + padding) - padding,
                    n_cols * (width + padding) - padding, channels), np.float32)
    for i, image in enumerate(images):
        row, col = divmod(i, n_cols)
        top, left = row * (height + padding), col * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


def save_image_grid(images, path, n_cols=None, title=None, scale=2.0):
    """Writes `image_grid(images)` as a PNG."""
    grid = image_grid(images, n_cols)
    height, width = grid.shape[:2]
    fig = Figure(figsize=(scale * width / 56 + 0.2, scale * height / 56 + 0.5))
    ax = fig.subplots()
    ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid,
              cmap="gray" if grid.shape[-1] == 1 else None, vmin=0.0, vmax=1.0)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def save_loss_curves(history, path, title="GAN losses per epoch"):
    """Plots every logged loss of a `fit` history (a dict of lists) against the epoch."""
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    for name, values in history.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name, marker=".")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
