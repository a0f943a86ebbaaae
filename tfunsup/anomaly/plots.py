"""Figures of the anomaly flow (matplotlib)."""

import matplotlib.pyplot as plt
import numpy as np

from tfunsup.autoencoders.plots import show_image


def plot_score_histograms(scores, is_anomaly, aucs=None, log=False):
    """One histogram panel per normal class: scores of normal vs. anomalous test items.

    Args:
        scores: dict `{normal_class: float array (n_test,)}`.
        is_anomaly: dict `{normal_class: bool array (n_test,)}`, the truth.
        aucs: optional `{normal_class: ROC-AUC}` shown in the titles.
        log: histogram of log10 scores (reconstruction errors).

    Returns:
        The matplotlib `Figure`.
    """
    classes = sorted(scores)
    cols = min(5, len(classes))
    rows = int(np.ceil(len(classes) / cols))
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(cols * 2.4, rows * 2.0))
    for ax, c in zip(axes.flat, classes):
        s = np.asarray(scores[c], np.float64)
        s = np.log10(np.maximum(s, 1e-8)) if log else s
        truth = np.asarray(is_anomaly[c], bool)
        bins = np.linspace(s.min(), s.max(), 30)
        ax.hist(s[truth], bins=bins, alpha=0.6, density=True, label="anomalous")
        ax.hist(s[~truth], bins=bins, alpha=0.6, density=True, label="normal")
        ax.set_title(f"normal = {c}" + (f", AUC {aucs[c]:.3f}" if aucs else ""), fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(classes):]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=6)
    fig.supxlabel(("log10 " if log else "") + "anomaly score", fontsize=8)
    fig.tight_layout()
    return fig


def save_score_histograms(scores, is_anomaly, path, aucs=None, log=False):
    """`plot_score_histograms` saved as a PNG at `path`."""
    fig = plot_score_histograms(scores, is_anomaly, aucs, log)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def save_score_distribution(scores, path, threshold=None, is_anomaly=None):
    """One histogram of anomaly scores saved as a PNG at `path`: normal vs.
    anomalous items when the truth is known, else all items; the decision
    threshold as a vertical line.

    Args:
        scores: float array `(n,)`.
        path: PNG file to write.
        threshold: optional float.
        is_anomaly: optional bool array `(n,)`.
    """
    scores = np.asarray(scores, np.float64)
    fig, ax = plt.subplots(figsize=(4.0, 2.6))
    bins = np.linspace(scores.min(), scores.max(), 40)
    if is_anomaly is None:
        ax.hist(scores, bins=bins, alpha=0.7, label="scored items")
    else:
        truth = np.asarray(is_anomaly, bool)
        ax.hist(scores[truth], bins=bins, alpha=0.6, density=True, label="anomalous")
        ax.hist(scores[~truth], bins=bins, alpha=0.6, density=True, label="normal")
    if threshold is not None:
        ax.axvline(threshold, color="red", linestyle="--", linewidth=1, label="threshold")
    ax.set_xlabel("anomaly score", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def save_top_anomalies(images, scores, labels, path, per_class=8):
    """Per normal class, the test images with the highest anomaly scores.

    Args:
        images: dict `{normal_class: float32 (n_test, height, width, channels)}`.
        scores: dict `{normal_class: float array (n_test,)}`.
        labels: dict `{normal_class: int array (n_test,)}`, true classes
            shown above each image.
        path: PNG file to write.
        per_class: images per row.
    """
    classes = sorted(scores)
    fig, axes = plt.subplots(len(classes), per_class, squeeze=False,
                             figsize=(per_class * 0.8, len(classes) * 0.95))
    for row, c in enumerate(classes):
        worst = np.argsort(-scores[c], kind="stable")[:per_class]
        for col, i in enumerate(worst):
            show_image(axes[row, col], images[c][i], title=f"{labels[c][i]}")
        axes[row, 0].set_ylabel(f"normal {c}", fontsize=7)
    fig.suptitle("Highest anomaly scores per detector (true class above)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_ranked_images(paths, scores, threshold=None, n=8, size=96):
    """The `n` most and `n` least anomalous image files with their scores.

    Args:
        paths: file paths sorted from most to least anomalous.
        scores: float array of the same order.
        threshold: optional decision threshold (flagged images get a red
            title).
        n: images per row.
        size: pixels a side each image is shown at.

    Returns:
        The matplotlib `Figure`.
    """
    import tensorflow as tf

    from tfunsup.data import ImageSpec, decode_image

    n = min(n, len(paths))
    spec = ImageSpec(size, size, channels=3, crop_to_aspect_ratio=True)
    rows = [("most anomalous", range(n)),
            ("least anomalous", range(len(paths) - 1, len(paths) - 1 - n, -1))]
    fig, axes = plt.subplots(2, n, squeeze=False, figsize=(n * 1.2, 2 * 1.45))
    for r, (name, picks) in enumerate(rows):
        for col, i in enumerate(picks):
            image = decode_image(tf.constant(str(paths[i])), spec).numpy()
            flagged = threshold is not None and scores[i] > threshold
            show_image(axes[r, col], image, title=f"{scores[i]:.3g}")
            axes[r, col].title.set_color("red" if flagged else "black")
        axes[r, 0].set_ylabel(name, fontsize=7)
    fig.suptitle("Anomaly scores (red: above the threshold)", fontsize=8)
    fig.tight_layout()
    return fig


def save_ranked_images(paths, scores, path, threshold=None, n=8):
    """`plot_ranked_images` saved as a PNG at `path`."""
    fig = plot_ranked_images(paths, scores, threshold, n)
    fig.savefig(path, dpi=90)
    plt.close(fig)
