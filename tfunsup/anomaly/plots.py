"""Figures of the anomaly flow (matplotlib, Agg backend)."""

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tfunsup.autoencoders.plots import show_image  # noqa: E402


def save_score_histograms(scores, labels, path, aucs=None):
    """One histogram panel per normal class: scores of normal vs. anomalous test images.

    Args:
        scores: dict `{normal_class: float array (n_test,)}`.
        labels: int `(n_test,)` true classes of the test images.
        path: PNG file to write.
        aucs: optional `{normal_class: ROC-AUC}` shown in the titles.
    """
    classes = sorted(scores)
    cols = min(5, len(classes))
    rows = int(np.ceil(len(classes) / cols))
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(cols * 2.4, rows * 2.0))
    for ax, c in zip(axes.flat, classes):
        s = np.log10(np.maximum(scores[c], 1e-8))
        bins = np.linspace(s.min(), s.max(), 30)
        ax.hist(s[labels != c], bins=bins, alpha=0.6, density=True, label="anomalous")
        ax.hist(s[labels == c], bins=bins, alpha=0.6, density=True, label="normal")
        ax.set_title(f"normal = {c}" + (f", AUC {aucs[c]:.3f}" if aucs else ""), fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(classes):]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=6)
    fig.supxlabel("log10 reconstruction error (anomaly score)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def save_worst_reconstructed(images, scores, labels, path, per_class=8):
    """Per normal class, the test images with the highest anomaly scores.

    Args:
        images: float32 `(n_test, height, width, channels)` in [0, 1].
        scores: dict `{normal_class: float array (n_test,)}`.
        labels: int `(n_test,)` true classes, shown above each image.
        path: PNG file to write.
        per_class: images per row.
    """
    classes = sorted(scores)
    fig, axes = plt.subplots(len(classes), per_class, squeeze=False,
                             figsize=(per_class * 0.8, len(classes) * 0.95))
    for row, c in enumerate(classes):
        worst = np.argsort(-scores[c], kind="stable")[:per_class]
        for col, i in enumerate(worst):
            show_image(axes[row, col], images[i], title=f"{labels[i]}")
        axes[row, 0].set_ylabel(f"normal {c}", fontsize=7)
    fig.suptitle("Highest reconstruction errors per detector (true class above)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
