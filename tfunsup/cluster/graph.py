"""k-nearest-neighbour graphs and spectral clustering on feature matrices.

Pure functions on `(n, d)` float feature matrices (e.g. cached backbone
features). Nothing here reads files or trains Keras models.

The main entry point is `spectral_clustering`, which, when
`n_neighbors="auto"`, picks the k of the k-NN graph from the data: it
clusters on every candidate graph and keeps the partition that agrees best
with all the others (highest average NMI, the "cluster ensembles" selection
of Strehl & Ghosh 2002). With `n_clusters="auto"` each candidate graph also
estimates its own number of clusters from the eigengap of its normalized
Laplacian (see `tfunsup.cluster.n_clusters`).

Memory stays O(n * k) for large n: the neighbours come from pynndescent
(approximate, `method="approximate"`, the default above
`APPROXIMATE_ABOVE` items), the graph is a scipy sparse matrix and its
eigenvectors come from shift-invert Lanczos (small n) or LOBPCG with an
algebraic-multigrid preconditioner (pyamg, large n).
"""

import dataclasses
import warnings

import numpy as np
import scipy.sparse
from scipy.sparse import csgraph
from scipy.sparse.linalg import eigsh, lobpcg
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import normalized_mutual_info_score
from sklearn.neighbors import NearestNeighbors

APPROXIMATE_ABOVE = 20_000
"""`method="auto"` uses approximate neighbours (pynndescent) above this n."""

ARPACK_UP_TO = 3_000
"""`solver="auto"` uses shift-invert Lanczos up to this n, LOBPCG above."""

UMAP_OWN_NEIGHBORS_FROM = 4096
"""From this many items (where UMAP itself switches to NN-descent)
`umap_embedding` finds UMAP's neighbours first and hands them over."""


def _has_pyamg():
    try:
        import pyamg  # noqa: F401
    except ImportError:
        return False
    return True

DEFAULT_NEIGHBOR_CANDIDATES = (3, 5, 7, 10, 15, 20, 30)
"""Candidate k of the k-NN graph for `n_neighbors="auto"`."""


def check_features(features, name="features", min_samples=2):
    """Validates a feature matrix and returns it as float32 `(n, d)`.

    Args:
        features: array-like `(n, d)` of finite numbers.
        name: argument name used in error messages.
        min_samples: int, smallest accepted n.

    Returns:
        float32 numpy array `(n, d)`.

    Raises:
        ValueError: not 2-D, fewer than `min_samples` rows, no columns, or
            non-finite values.
    """
    array = np.asarray(features)
    if array.ndim != 2:
        raise ValueError(f"Expected {name} of shape (n_samples, n_features). "
                         f"Received: {name}.shape={array.shape}")
    if array.shape[0] < min_samples or array.shape[1] < 1:
        raise ValueError(f"Expected {name} with at least {min_samples} rows and 1 column. "
                         f"Received: {name}.shape={array.shape}")
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"Expected numeric {name}. Received: dtype={array.dtype}")
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"Expected finite {name}. Received {int(np.sum(~np.isfinite(array)))} "
                         "NaN or infinite values")
    return array


def check_n_clusters(n_clusters, n_samples, allow_auto=False):
    """Raises ValueError unless `2 <= n_clusters <= n_samples` (or "auto")."""
    if allow_auto and isinstance(n_clusters, str) and n_clusters == "auto":
        return
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)):
        expected = "an integer n_clusters or 'auto'" if allow_auto else "an integer n_clusters"
        raise ValueError(f"Expected {expected}. Received: n_clusters={n_clusters!r}")
    if not 2 <= n_clusters <= n_samples:
        raise ValueError(f"Expected 2 <= n_clusters <= number of samples ({n_samples}). "
                         f"Received: n_clusters={n_clusters}")


def l2_normalize(features, chunk_size=4096):
    """Rows scaled to unit L2 norm (zero rows stay zero); float32 `(n, d)`.

    `chunk_size` rows at a time: the same values as in one step, without
    temporaries the size of the whole matrix.
    """
    features = np.asarray(features, np.float32)
    out = np.empty(features.shape, np.float32)
    for start in range(0, len(features), chunk_size):
        part = features[start:start + chunk_size]
        out[start:start + chunk_size] = part / np.maximum(
            np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
    return out


def nearest_neighbors(features, n_neighbors, *, method="auto", seed=None):
    """The `n_neighbors` nearest other items of every item (Euclidean).

    L2-normalise the features first for cosine neighbours.

    Args:
        features: float `(n, d)`.
        n_neighbors: int in `[1, n - 1]`.
        method: `"exact"` (scikit-learn `NearestNeighbors`, chunked so its
            memory is bounded, but O(n^2 d) time), `"approximate"`
            (pynndescent's NN-descent, about O(n^1.14 d)) or `"auto"`
            (approximate when n > `APPROXIMATE_ABOVE`).
        seed: int or None, seeds NN-descent.

    Returns:
        `(indices, distances)`: int64 `(n, n_neighbors)` and float32
        `(n, n_neighbors)`, nearest first, the item itself excluded.

    Raises:
        ValueError: bad `n_neighbors` or `method`.

    Reference:
        Dong, Charikar, Li. Efficient k-nearest neighbor graph construction
        for generic similarity measures. WWW 2011 (NN-descent).
    """
    features = check_features(features)
    n = len(features)
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, (int, np.integer)) \
            or not 1 <= n_neighbors < n:
        raise ValueError(f"Expected an integer 1 <= n_neighbors < number of samples ({n}). "
                         f"Received: n_neighbors={n_neighbors!r}")
    if method not in ("auto", "exact", "approximate"):
        raise ValueError("Expected method 'auto', 'exact' or 'approximate'. "
                         f"Received: method={method!r}")
    if method == "auto":
        method = "approximate" if n > APPROXIMATE_ABOVE else "exact"
    if method == "exact":
        distances, indices = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(features) \
            .kneighbors(features)
    else:
        from pynndescent import NNDescent

        index = NNDescent(features, n_neighbors=n_neighbors + 1, random_state=seed,
                          low_memory=True, n_jobs=1, compressed=True)
        indices, distances = index.neighbor_graph
    return _drop_self(indices, distances, n_neighbors)


def _drop_self(indices, distances, n_neighbors):
    """Removes each row's own index (or, with duplicates, its farthest extra)."""
    n = len(indices)
    is_self = indices == np.arange(n)[:, None]
    # Keep the first n_neighbors non-self entries of every row.
    order = np.argsort(is_self, axis=1, kind="stable")[:, :n_neighbors]
    rows = np.arange(n)[:, None]
    return indices[rows, order].astype(np.int64), distances[rows, order].astype(np.float32)


def knn_graph(neighbors, n_neighbors=None):
    """Symmetric k-NN connectivity graph from a neighbour table.

    Edge `(i, j)` has weight 1 when each is among the other's `n_neighbors`
    nearest, 0.5 when only one is; no self loops.

    Args:
        neighbors: int `(n, m)` neighbour indices (from `nearest_neighbors`).
        n_neighbors: int <= m, use the first `n_neighbors` columns; None for
            all of them.

    Returns:
        scipy.sparse CSR float32 `(n, n)`, symmetric.
    """
    neighbors = np.asarray(neighbors)
    if neighbors.ndim != 2 or not np.issubdtype(neighbors.dtype, np.integer):
        raise ValueError("Expected an integer neighbour table of shape (n, m). "
                         f"Received: dtype={neighbors.dtype}, shape={neighbors.shape}")
    if n_neighbors is not None:
        if not 1 <= n_neighbors <= neighbors.shape[1]:
            raise ValueError(f"Expected 1 <= n_neighbors <= {neighbors.shape[1]}. "
                             f"Received: n_neighbors={n_neighbors}")
        neighbors = neighbors[:, :n_neighbors]
    n, m = neighbors.shape
    graph = scipy.sparse.csr_matrix(
        (np.ones(n * m, np.float32), (np.repeat(np.arange(n), m), neighbors.reshape(-1))),
        shape=(n, n))
    return ((graph + graph.T) * 0.5).tocsr()


def laplacian_eigenmaps(graph, n_components, *, solver="auto", seed=None):
    """Smallest eigenpairs of the graph's symmetric normalized Laplacian.

    :math:`L = I - D^{-1/2} A D^{-1/2}`. The returned embedding is
    :math:`D^{-1/2} U` (as scikit-learn's `spectral_embedding` with
    `drop_first=False`), the relaxed normalized-cut solution (Shi & Malik).

    Args:
        graph: scipy sparse `(n, n)` symmetric non-negative affinity.
        n_components: int in `[1, n - 1]`, number of eigenpairs.
        solver: `"arpack"` (shift-invert Lanczos: accurate, also for the
            repeated zero eigenvalues of a disconnected graph, but its sparse
            LU factorisation fills in on large graphs), `"amg"` (LOBPCG
            preconditioned by pyamg's smoothed aggregation, as scikit-learn's
            `spectral_embedding`; O(n * n_components) memory; needs the
            optional `pyamg`), `"lobpcg"` (unpreconditioned, slower) or
            `"auto"` (arpack up to `ARPACK_UP_TO` items, else amg if pyamg is
            installed, else lobpcg).
        seed: int or None, seeds the start vectors.

    Returns:
        `(eigenvalues, embedding)`: float64 `(n_components,)` ascending in
        [0, 2], and float32 `(n, n_components)`.

    Raises:
        ValueError: bad `n_components` or `solver`.
    """
    n = graph.shape[0]
    if not 1 <= n_components < n:
        raise ValueError(f"Expected 1 <= n_components < number of nodes ({n}). "
                         f"Received: n_components={n_components}")
    if solver not in ("auto", "arpack", "amg", "lobpcg"):
        raise ValueError("Expected solver 'auto', 'arpack', 'amg' or 'lobpcg'. "
                         f"Received: solver={solver!r}")
    if solver == "auto":
        solver = "arpack" if n <= ARPACK_UP_TO else ("amg" if _has_pyamg() else "lobpcg")
    graph = scipy.sparse.csr_matrix(graph, dtype=np.float64)
    laplacian, degree = csgraph.laplacian(graph, normed=True, return_diag=True)
    # `degree` is sqrt(D) for normed=True; isolated nodes get 1.
    rng = np.random.default_rng(seed)
    if solver == "arpack" or n < 5 * n_components + 20:
        v0 = rng.uniform(-1, 1, n)
        values, vectors = eigsh(laplacian, k=n_components, sigma=-1e-2, which="LM", v0=v0)
    else:
        preconditioner = None
        if solver == "amg":
            from pyamg import smoothed_aggregation_solver

            shifted = (laplacian + 1e-5 * scipy.sparse.identity(n)).tocsr()
            preconditioner = smoothed_aggregation_solver(shifted).aspreconditioner()
        start = rng.standard_normal((n, n_components + max(5, n_components // 4)))
        start[:, 0] = degree  # the exact first eigenvector of a connected graph
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes from lobpcg
            values, vectors = lobpcg(laplacian, start, M=preconditioner, largest=False,
                                     tol=1e-5, maxiter=2000 if preconditioner is None else 200)
        order = np.argsort(values)[:n_components]
        values, vectors = values[order], vectors[:, order]
    order = np.argsort(values)
    values = np.clip(values[order], 0.0, 2.0)
    embedding = vectors[:, order] / degree[:, None]
    # Deterministic sign: the largest-magnitude entry of each column positive.
    signs = np.sign(embedding[np.abs(embedding).argmax(axis=0), np.arange(embedding.shape[1])])
    return values, (embedding * np.where(signs == 0, 1, signs)).astype(np.float32)


def kmeans_labels(points, n_clusters, *, seed=None, n_init=10, minibatch=None, judge=None,
                  tolerance=0.05):
    """K-means labels (scikit-learn), `MiniBatchKMeans` when `minibatch`
    (default: n > 100,000).

    Args:
        points: float `(n, d)`, the space K-means runs in.
        n_clusters: int >= 1.
        seed: int or None.
        n_init: int >= 1, K-means restarts.
        minibatch: bool or None (None: n > 100,000).
        judge: float `(n, e)` or None. None keeps scikit-learn's rule (the
            restart with the lowest inertia in `points`). Given, each
            restart runs on its own; those whose inertia in `points` is
            within `tolerance` of the lowest are the candidates, and the
            candidate with the smallest within-cluster sum of squares in
            `judge` wins. For K-means on a UMAP embedding, whose distances
            are distorted, `judge` is the feature space it was computed
            from: the embedding decides, and the features break its near
            ties.
        tolerance: float >= 0, relative inertia margin of the candidates
            (`float("inf")`: every restart is a candidate).

    Returns:
        int64 `(n,)`.

    Raises:
        ValueError: `judge` has another number of rows, or a negative
            `tolerance`.
    """
    minibatch = len(points) > 100_000 if minibatch is None else minibatch

    def model(n, random_state):
        if minibatch:
            return MiniBatchKMeans(n_clusters, n_init=n, random_state=random_state,
                                   batch_size=4096)
        return KMeans(n_clusters, n_init=n, random_state=random_state)

    if judge is None:
        return model(n_init, seed).fit_predict(points).astype(np.int64)
    judge = np.asarray(judge, np.float32)
    if len(judge) != len(points):
        raise ValueError(f"Expected judge with {len(points)} rows like points. "
                         f"Received: {len(judge)}")
    if not tolerance >= 0:
        raise ValueError(f"Expected tolerance >= 0. Received: tolerance={tolerance}")
    restarts = []
    for state in np.random.default_rng(seed).integers(2**31 - 1, size=n_init):
        fitted = model(1, int(state)).fit(points)
        restarts.append((fitted.inertia_, fitted.labels_.astype(np.int64)))
    lowest = min(inertia for inertia, _ in restarts)
    candidates = [labels for inertia, labels in restarts if inertia <= lowest * (1 + tolerance)]
    return min(candidates, key=lambda labels: within_cluster_sum_of_squares(judge, labels))


def within_cluster_sum_of_squares(points, labels):
    """K-means' objective of a partition: sum over items of the squared
    distance to their cluster's mean. points float `(n, d)`, labels int
    `(n,)`; returns float. Works one cluster at a time (no float64 copy of
    `points`)."""
    points = np.asarray(points)
    labels = np.asarray(labels)
    total = 0.0
    for k in np.unique(labels):
        members = points[labels == k]
        sums = members.sum(axis=0, dtype=np.float64)
        squares = float(np.einsum("ij,ij->", members, members, dtype=np.float64))
        total += squares - float(sums @ sums) / len(members)
    return total


def umap_embedding(features, n_components, *, n_neighbors=30, metric="cosine", seed=None):
    """Low-dimensional UMAP embedding of features for clustering (N2D's manifold step).

    UMAP with `min_dist=0` packs each local manifold tightly, so K-means on
    the embedding follows the k-NN structure of the features instead of
    their global Euclidean geometry. N2D takes `n_components` equal to the
    number of clusters.

    Args:
        features: float `(n, d)`, n >= 3.
        n_components: int >= 1, dimensions of the embedding.
        n_neighbors: int >= 2, UMAP's neighbourhood size (capped at n - 1).
        metric: distance UMAP uses on the features (`"cosine"` for backbone
            features).
        seed: int or None. With an int UMAP runs single-threaded and repeats
            on one machine; None lets it use every core.

    Returns:
        float32 `(n, n_components)`.

    Raises:
        ValueError: bad features or arguments.
        ImportError: umap-learn is not installed.

    References:
        McInnes, Healy, Melville. UMAP: Uniform Manifold Approximation and
        Projection for Dimension Reduction. arXiv:1802.03426, 2018.
        McConville et al. N2D: (Not Too) Deep Clustering via Clustering the
        Local Manifold of an Autoencoded Embedding. ICPR 2020.
    """
    features = check_features(features, min_samples=3)
    if n_components < 1 or n_neighbors < 2:
        raise ValueError("Expected n_components >= 1 and n_neighbors >= 2. Received: "
                         f"n_components={n_components}, n_neighbors={n_neighbors}")
    import umap

    n_neighbors = int(min(n_neighbors, len(features) - 1))
    options = dict(n_components=int(n_components), n_neighbors=n_neighbors, min_dist=0.0,
                   metric=metric)
    with warnings.catch_warnings():
        # "n_jobs value 1 overridden to 1 by setting random_state": expected;
        # "precomputed_knn[2] ... is not an NNDescent object": no transform needed.
        warnings.filterwarnings("ignore", message=".*n_jobs.*overridden", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*not an NNDescent object",
                                category=UserWarning)
        from pynndescent.distances import named_distances

        if len(features) < UMAP_OWN_NEIGHBORS_FROM or metric not in named_distances:
            reducer = umap.UMAP(**options, random_state=seed)
        else:
            from sklearn.utils import check_random_state

            # `fit` continues the random stream the neighbour search advanced.
            random_state = check_random_state(seed)
            neighbors = _umap_neighbors(features, n_neighbors, metric, random_state,
                                        n_jobs=1 if seed is not None else -1)
            reducer = umap.UMAP(**options, precomputed_knn=neighbors,
                                random_state=None if seed is None else random_state)
        return np.asarray(reducer.fit_transform(features), np.float32)


def _umap_neighbors(features, n_neighbors, metric, random_state, n_jobs):
    """UMAP's own approximate neighbour search (`umap.umap_.nearest_neighbors`
    with the arguments `UMAP.fit` passes it), run before `fit` so that its
    index is freed before the layout.

    Inside `fit` the search works on a copy of the features (`X[index]`) and
    the NN-descent index (a normalised copy of the features and its
    random-projection forest) lives until `fit` returns. The same search
    here gives the same neighbours, and `fit`, continuing the same random
    stream, the bitwise same embedding (`tests/cluster/test_graph.py`).

    Args:
        features: float32 `(n, d)`.
        n_neighbors: int.
        metric: str.
        random_state: `numpy.random.RandomState` that `fit` continues
            (NumPy's global one when unseeded, as in `fit`).
        n_jobs: 1 with a seed, else -1, as `UMAP` sets it.

    Returns:
        `(indices, distances)` for `UMAP(precomputed_knn=...)`.
    """
    from umap.umap_ import nearest_neighbors as umap_nearest_neighbors

    indices, distances, _ = umap_nearest_neighbors(
        features, n_neighbors, metric, {}, False, random_state, True, use_pynndescent=True,
        n_jobs=n_jobs, verbose=False)
    return indices, distances


@dataclasses.dataclass
class SpectralClusteringResult:
    """Output of `spectral_clustering`.

    Attributes:
        labels: int64 `(n,)` cluster index per item.
        n_clusters: int, number of clusters used (estimated if "auto").
        n_neighbors: int, k of the chosen k-NN graph.
        embedding: float32 `(n, n_clusters)` spectral embedding of the chosen
            graph.
        eigenvalues: float64 `(m,)` smallest normalized-Laplacian eigenvalues
            of the chosen graph (m = `max_clusters + 1` with `"auto"`).
        graph: scipy sparse `(n, n)` chosen k-NN graph.
        neighbors: int64 `(n, max candidate k)` nearest-neighbour table
            (reusable, e.g. by `tfunsup.cluster.refinement`).
        candidates: list of dicts, one per candidate graph, with keys
            `n_neighbors`, `n_clusters`, `agreement` (average NMI with the
            other candidates' partitions), `n_components` (connected
            components) and `labels`.
    """

    labels: np.ndarray
    n_clusters: int
    n_neighbors: int
    embedding: np.ndarray
    eigenvalues: np.ndarray
    graph: object
    neighbors: np.ndarray
    candidates: list


def spectral_clustering(features, n_clusters, *, n_neighbors="auto",
                        neighbor_candidates=DEFAULT_NEIGHBOR_CANDIDATES, max_clusters=50,
                        normalize=True, method="auto", solver="auto", seed=None):
    """Spectral clustering on a k-NN graph whose k is chosen from the data.

    For every candidate k the symmetric k-NN graph is built (one neighbour
    search for the largest k), embedded with the smallest eigenvectors of
    its normalized Laplacian and clustered with K-means (Ng, Jordan & Weiss
    2002). With `n_neighbors="auto"` the result is the candidate partition
    with the highest average NMI to the other candidates' partitions
    (Strehl & Ghosh 2002): a graph too sparse or too dense for the data
    gives a partition the others do not share. With `n_clusters="auto"` each
    candidate graph sets its own K by the eigengap of its spectrum
    (`tfunsup.cluster.n_clusters.eigengap_n_clusters`).

    Args:
        features: float `(n, d)` feature matrix.
        n_clusters: int >= 2, or `"auto"`.
        n_neighbors: int k of the graph, or `"auto"` to choose among
            `neighbor_candidates`.
        neighbor_candidates: iterable of ints, candidate k for `"auto"`;
            those >= n are dropped.
        max_clusters: int, largest K considered by `n_clusters="auto"`.
        normalize: L2-normalise the features first (cosine neighbours).
        method: neighbour search, see `nearest_neighbors`.
        solver: eigensolver, see `laplacian_eigenmaps`.
        seed: int or None; seeds NN-descent, the eigensolver and K-means.

    Returns:
        `SpectralClusteringResult`.

    Raises:
        ValueError: bad features or arguments, before any work starts.

    References:
        Ng, Jordan, Weiss. On spectral clustering: analysis and an
        algorithm. NeurIPS 2002.
        von Luxburg. A tutorial on spectral clustering. Statistics and
        Computing 2007 (k-NN graphs, eigengap heuristic).
        Strehl, Ghosh. Cluster ensembles: a knowledge reuse framework for
        combining multiple partitions. JMLR 2002 (average NMI selection).
    """
    from tfunsup.cluster.n_clusters import eigengap_n_clusters

    features = check_features(features, min_samples=3)
    n = len(features)
    check_n_clusters(n_clusters, n, allow_auto=True)
    auto_k = isinstance(n_clusters, str)
    if auto_k:
        if isinstance(max_clusters, bool) or not isinstance(max_clusters, (int, np.integer)) \
                or not 2 <= max_clusters <= n - 2:
            raise ValueError(f"Expected an integer 2 <= max_clusters <= n - 2 ({n - 2}). "
                             f"Received: max_clusters={max_clusters!r}")
    if isinstance(n_neighbors, str):
        if n_neighbors != "auto":
            raise ValueError(f"Expected an integer n_neighbors or 'auto'. "
                             f"Received: n_neighbors={n_neighbors!r}")
        candidates = sorted({int(k) for k in neighbor_candidates if 1 <= int(k) < n})
        if not candidates:
            raise ValueError("Expected at least one neighbor_candidates value in [1, n). "
                             f"Received: neighbor_candidates={tuple(neighbor_candidates)}, n={n}")
    elif isinstance(n_neighbors, bool) or not isinstance(n_neighbors, (int, np.integer)) \
            or not 1 <= n_neighbors < n:
        raise ValueError(f"Expected 'auto' or an integer 1 <= n_neighbors < number of samples "
                         f"({n}). Received: n_neighbors={n_neighbors!r}")
    else:
        candidates = [int(n_neighbors)]
    if normalize:
        features = l2_normalize(features)
    neighbors, _ = nearest_neighbors(features, max(candidates), method=method, seed=seed)

    runs = []
    for k in candidates:
        graph = knn_graph(neighbors, k)
        n_eig = max_clusters + 1 if auto_k else n_clusters
        n_eig = min(n_eig, n - 2)
        eigenvalues, embedding = laplacian_eigenmaps(graph, n_eig, solver=solver, seed=seed)
        n_k = eigengap_n_clusters(eigenvalues, max_clusters=max_clusters)[0] if auto_k \
            else n_clusters
        labels = kmeans_labels(embedding[:, :n_k], n_k, seed=seed)
        runs.append(dict(n_neighbors=k, n_clusters=int(n_k), labels=labels,
                         n_components=int(csgraph.connected_components(graph)[0]),
                         graph=graph, eigenvalues=eigenvalues, embedding=embedding[:, :n_k]))
    if len(runs) > 1:
        agreement = np.eye(len(runs))
        for i in range(len(runs)):
            for j in range(i + 1, len(runs)):
                agreement[i, j] = agreement[j, i] = normalized_mutual_info_score(
                    runs[i]["labels"], runs[j]["labels"])
        scores = (agreement.sum(axis=1) - 1.0) / (len(runs) - 1)
    else:
        scores = np.ones(1)
    for run, score in zip(runs, scores):
        run["agreement"] = float(score)
    best = runs[int(np.argmax(scores))]
    return SpectralClusteringResult(
        labels=best["labels"], n_clusters=best["n_clusters"], n_neighbors=best["n_neighbors"],
        embedding=best["embedding"], eigenvalues=best["eigenvalues"], graph=best["graph"],
        neighbors=neighbors,
        candidates=[{key: run[key] for key in ("n_neighbors", "n_clusters", "agreement",
                                               "n_components", "labels")} for run in runs])
