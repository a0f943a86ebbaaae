"""PNG figures written by the CLI flows (matplotlib `Figure` objects)."""

import numpy as np
from matplotlib.figure import Figure


def _show(ax, image):
    ax.imshow(image[..., 0] if image.shape[-1] == 1 else image,
              cmap="gray" if image.shape[-1] == 1 else None, vmin=0.0, vmax=1.0)
    ax.set_xticks([])
    ax.set_yticks([])


def save_cluster_montage(images, assignments, path, per_cluster=10, order=None):
    """One row per cluster with up to `per_cluster` of its images.

    Args:
        images: float32 `(n, height, width, channels)` in [0, 1], or a
            function `load(index) -> images` for an int array of positions,
            called once with only the images shown (so a folder of 50,000
            photos decodes `per_cluster` thumbnails per cluster, not all).
        assignments: int `(n,)` cluster index per image.
        path: PNG file to write.
        per_cluster: images shown per row.
        order: optional `(n,)` ranking key; smallest first within a cluster
            (e.g. distance to the cluster centre, or minus the confidence).
    """
    assignments = np.asarray(assignments)
    clusters = np.unique(assignments)
    shown = []
    for cluster in clusters:
        members = np.flatnonzero(assignments == cluster)
        if order is not None:
            members = members[np.argsort(order[members], kind="stable")]
        shown.append(members[:per_cluster])
    if callable(images):
        flat = np.concatenate(shown)
        decoded = images(flat)
        lookup = {int(i): decoded[j] for j, i in enumerate(flat)}
    else:
        lookup = {int(i): images[i] for members in shown for i in members}
    fig = Figure(figsize=(per_cluster * 0.8, len(clusters) * 0.85))
    axes = fig.subplots(len(clusters), per_cluster, squeeze=False)
    for row, (cluster, members) in enumerate(zip(clusters, shown)):
        for col in range(per_cluster):
            ax = axes[row, col]
            if col < members.size:
                _show(ax, lookup[int(members[col])])
            else:
                ax.axis("off")
        size = int(np.sum(assignments == cluster))
        axes[row, 0].set_ylabel(f"{cluster}\n(n={size})", rotation=0,
                                labelpad=22, fontsize=7, va="center")
    fig.suptitle("Sample images per cluster", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def save_embedding(features, assignments, path, method="pca", seed=0, title=None):
    """2-D PCA or t-SNE scatter of features coloured by cluster.

    Args:
        features: float `(n, d)`.
        assignments: int `(n,)` colours.
        path: PNG file to write.
        method: `"pca"` or `"tsne"` (scikit-learn).
        seed: random state of the projection.
    """
    if method == "tsne":
        from sklearn.manifold import TSNE

        points = TSNE(2, random_state=seed, init="pca").fit_transform(features)
    elif method == "pca":
        from sklearn.decomposition import PCA

        points = PCA(2, random_state=seed).fit_transform(features)
    else:
        raise ValueError(f"Expected method 'pca' or 'tsne'. Received: method={method!r}")
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    n_colours = len(np.unique(assignments))
    # One distinct colour and one legend entry per cluster up to 20 clusters;
    # beyond that a continuous map without a legend.
    cmap = "tab10" if n_colours <= 10 else "tab20" if n_colours <= 20 else "turbo"
    scatter = ax.scatter(points[:, 0], points[:, 1], c=assignments, cmap=cmap, s=6)
    if n_colours <= 20:
        ax.legend(*scatter.legend_elements(num=None), title="cluster", fontsize=7,
                  loc="best", markerscale=0.8, ncols=2 if n_colours > 10 else 1)
    ax.set_title(title or f"Backbone features ({method.upper()}), coloured by cluster")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def save_top_terms(terms, assignments, path, per_cluster=8):
    """One panel per cluster with its top terms as horizontal bars: the
    text analogue of `save_cluster_montage`.

    Args:
        terms: dict `{cluster: [(term, score), ...]}` best first, from
            `tfunsup.cluster.top_terms.top_terms`.
        assignments: int `(n,)` cluster index per text (for the sizes).
        path: PNG file to write.
        per_cluster: terms shown per cluster.
    """
    assignments = np.asarray(assignments)
    clusters = sorted(terms)
    n_cols = min(len(clusters), 5)
    n_rows = int(np.ceil(len(clusters) / n_cols))
    fig = Figure(figsize=(2.6 * n_cols, 0.25 * per_cluster * n_rows + 0.6 * n_rows))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for ax in axes.flat[len(clusters):]:
        ax.axis("off")
    for ax, cluster in zip(axes.flat, clusters):
        shown = terms[cluster][:per_cluster]
        ax.barh(np.arange(len(shown)), [score for _, score in shown], color="tab:blue")
        ax.set_yticks(np.arange(len(shown)), [term for term, _ in shown], fontsize=7)
        ax.invert_yaxis()
        ax.set_xticks([])
        ax.set_title(f"cluster {cluster} (n={int(np.sum(assignments == cluster))})",
                     fontsize=8)
    fig.suptitle("Top terms per cluster (class-based TF-IDF)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
