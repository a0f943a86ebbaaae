"""Figures of domain adaptation: source and target features before and after."""

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _project(features, method, seed):
    if method == "tsne":
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        perplexity = min(30.0, max(2.0, (len(features) - 1) / 3))
        # One OpenMP thread: on a busy 2-core machine two spinning threads made
        # t-SNE of 600 points take 40 s instead of 3 s.
        with threadpool_limits(1):
            return TSNE(2, perplexity=perplexity, init="pca",
                        random_state=seed).fit_transform(features)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=seed).fit_transform(features)
    raise ValueError(f"Expected method 'pca' or 'tsne'. Received: method={method!r}")


def save_domain_embedding(panels, path, source_labels=None, target_labels=None,
                          method="tsne", seed=0):
    """Scatter plots of source and target features, one column per model.

    Top row: coloured by domain (well-adapted features mix the two);
    bottom row (when labels are given): coloured by class, source as dots
    and target as crosses (labels only colour the points).

    Args:
        panels: list of `(title, source_features, target_features)`, float
            arrays `(n_s, d)` and `(n_t, d)`, e.g. before and after adaptation.
        path: PNG file to write.
        source_labels, target_labels: optional int `(n_s,)` / `(n_t,)`.
        method: `"tsne"` or `"pca"` (scikit-learn), fitted per panel on both
            domains together.
        seed: random state of the projection.

    Raises:
        ValueError: an unknown `method`.
    """
    if method not in ("tsne", "pca"):
        raise ValueError(f"Expected method 'pca' or 'tsne'. Received: method={method!r}")
    by_class = source_labels is not None and target_labels is not None
    rows = 2 if by_class else 1
    fig, axes = plt.subplots(rows, len(panels), squeeze=False,
                             figsize=(4.2 * len(panels), 4.0 * rows))
    for col, (title, source, target) in enumerate(panels):
        points = _project(np.concatenate([source, target]), method, seed)
        src, tgt = points[:len(source)], points[len(source):]
        ax = axes[0, col]
        ax.scatter(src[:, 0], src[:, 1], s=5, alpha=0.5, c="tab:blue", label="source")
        ax.scatter(tgt[:, 0], tgt[:, 1], s=5, alpha=0.5, c="tab:orange", label="target")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, markerscale=2, loc="best")
        if by_class:
            ax = axes[1, col]
            ax.scatter(src[:, 0], src[:, 1], s=5, alpha=0.4, c=source_labels, cmap="tab10",
                       vmin=0, vmax=9, marker="o")
            scatter = ax.scatter(tgt[:, 0], tgt[:, 1], s=9, alpha=0.7, c=target_labels,
                                 cmap="tab10", vmin=0, vmax=9, marker="x", linewidths=0.6)
            ax.set_title(f"{title}: by class (o source, x target)", fontsize=8)
            ax.legend(*scatter.legend_elements(), fontsize=6, loc="best", markerscale=0.7)
        for ax in axes[:, col]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"Source and target features ({method.upper()})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
