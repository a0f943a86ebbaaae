"""Estimating the number of clusters K from the data (no labels).

`estimate_n_clusters(features)` runs `spectral_clustering` with
`n_clusters="auto"`: every candidate k-NN graph proposes the K after the
largest gap of its normalized-Laplacian spectrum, and the candidate whose
partition agrees best with the others wins. The returned curve (eigenvalues
and gaps of the chosen graph) is what `plot_n_clusters_curve` draws.
"""

import numpy as np

from tfunsup.cluster.graph import DEFAULT_NEIGHBOR_CANDIDATES, spectral_clustering


def eigengap_n_clusters(eigenvalues, *, min_clusters=2, max_clusters=50):
    """K after the largest gap of an ascending Laplacian spectrum.

    With :math:`0 = \\lambda_1 \\le \\lambda_2 \\le \\dots`, returns
    :math:`\\arg\\max_{K} (\\lambda_{K+1} - \\lambda_K)` over
    `min_clusters <= K <= max_clusters`: a graph with K well-separated
    groups has K eigenvalues near 0 and a jump after them.

    Args:
        eigenvalues: float `(m,)` ascending smallest eigenvalues of a
            normalized graph Laplacian, m >= `min_clusters + 1`.
        min_clusters: int >= 1, smallest K considered.
        max_clusters: int, largest K considered (capped at m - 1).

    Returns:
        `(n_clusters, curve)`: int K, and dict with `eigenvalues` (float
        `(m,)`), `n_clusters_range` (int `(r,)` candidate K values) and
        `gaps` (float `(r,)`, :math:`\\lambda_{K+1} - \\lambda_K` per K).

    Raises:
        ValueError: too few eigenvalues or bad bounds.

    Reference:
        von Luxburg. A tutorial on spectral clustering. Statistics and
        Computing 2007, section 8.3 (eigengap heuristic).
    """
    eigenvalues = np.sort(np.asarray(eigenvalues, np.float64).reshape(-1))
    if not 1 <= min_clusters <= max_clusters:
        raise ValueError("Expected 1 <= min_clusters <= max_clusters. Received: "
                         f"min_clusters={min_clusters}, max_clusters={max_clusters}")
    if eigenvalues.size < min_clusters + 1:
        raise ValueError(f"Expected at least min_clusters + 1 = {min_clusters + 1} eigenvalues. "
                         f"Received: {eigenvalues.size}")
    upper = min(max_clusters, eigenvalues.size - 1)
    ks = np.arange(min_clusters, upper + 1)
    gaps = eigenvalues[ks] - eigenvalues[ks - 1]
    best = int(ks[np.argmax(gaps)])
    return best, dict(eigenvalues=eigenvalues, n_clusters_range=ks, gaps=gaps)


def estimate_n_clusters(features, *, max_clusters=50, n_neighbors="auto",
                        neighbor_candidates=DEFAULT_NEIGHBOR_CANDIDATES, normalize=True,
                        method="auto", solver="auto", seed=None):
    """Estimates the number of clusters of a feature matrix (no labels).

    Args:
        features: float `(n, d)`.
        max_clusters: int, largest K considered.
        n_neighbors, neighbor_candidates, normalize, method, solver, seed:
            as in `tfunsup.cluster.graph.spectral_clustering`.

    Returns:
        `(n_clusters, curve)`: int K and a dict with `eigenvalues`,
        `n_clusters_range`, `gaps` (see `eigengap_n_clusters`),
        `n_neighbors` (k of the chosen graph), `candidates` (per candidate k:
        its K and agreement) and `labels` (int64 `(n,)` partition into K).

    Raises:
        ValueError: bad features or arguments.
    """
    result = spectral_clustering(features, "auto", n_neighbors=n_neighbors,
                                 neighbor_candidates=neighbor_candidates,
                                 max_clusters=max_clusters, normalize=normalize, method=method,
                                 solver=solver, seed=seed)
    _, curve = eigengap_n_clusters(result.eigenvalues, max_clusters=max_clusters)
    curve.update(n_neighbors=result.n_neighbors, labels=result.labels,
                 candidates=[{key: c[key] for key in ("n_neighbors", "n_clusters", "agreement")}
                             for c in result.candidates])
    return result.n_clusters, curve


def plot_n_clusters_curve(curve, n_clusters=None, title=None):
    """Draws the Laplacian spectrum and its gaps for choosing K.

    Uses `matplotlib.figure.Figure` directly (no pyplot state, no backend
    switch); save with `figure.savefig(path)`.

    Args:
        curve: dict from `estimate_n_clusters` / `eigengap_n_clusters`.
        n_clusters: int or None, the K to mark (default: the largest gap).
        title: str or None.

    Returns:
        `matplotlib.figure.Figure` with two axes: eigenvalues by index, and
        the gap after each candidate K.
    """
    from matplotlib.figure import Figure

    eigenvalues = np.asarray(curve["eigenvalues"])
    ks, gaps = np.asarray(curve["n_clusters_range"]), np.asarray(curve["gaps"])
    if n_clusters is None:
        n_clusters = int(ks[np.argmax(gaps)])
    figure = Figure(figsize=(9, 3.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    index = np.arange(1, eigenvalues.size + 1)
    left.plot(index, eigenvalues, "o-", markersize=3)
    left.axvline(n_clusters + 0.5, color="tab:red", linestyle="--", label=f"K = {n_clusters}")
    left.set_xlabel("index i")
    left.set_ylabel("eigenvalue $\\lambda_i$ of the normalized Laplacian")
    left.legend()
    right.bar(ks, gaps, color=["tab:red" if k == n_clusters else "tab:blue" for k in ks])
    right.set_xlabel("K")
    right.set_ylabel("eigengap $\\lambda_{K+1} - \\lambda_K$")
    if title is not None:
        figure.suptitle(title)
    elif "n_neighbors" in curve:
        figure.suptitle(f"{curve['n_neighbors']}-NN graph: estimated K = {n_clusters}")
    return figure
