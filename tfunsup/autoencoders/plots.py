"""Figures of the autoencoder flows (matplotlib `Figure` objects, no backend switch)."""

from matplotlib.figure import Figure


def show_image(ax, image, title=None):
    """Draws one `(height, width, channels)` image in [0, 1] without axes."""
    ax.imshow(image[..., 0] if image.shape[-1] == 1 else image,
              cmap="gray" if image.shape[-1] == 1 else None, vmin=0.0, vmax=1.0)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=7)


def save_reconstructions(images, reconstructions, path, title=None):
    """Saves a PNG with originals (top row) above their reconstructions (bottom row).

    Args:
        images: float32 `(n, height, width, channels)` in [0, 1], n <= ~16.
        reconstructions: float32 array of the same shape.
        path: PNG file to write.
        title: figure title.
    """
    n = len(images)
    fig = Figure(figsize=(n * 0.9, 2.1))
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        show_image(axes[0, i], images[i])
        show_image(axes[1, i], reconstructions[i])
    axes[0, 0].set_ylabel("original", fontsize=7)
    axes[1, 0].set_ylabel("reconstruction", fontsize=7)
    fig.suptitle(title or "Held-out images (top) and their reconstructions (bottom)",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
