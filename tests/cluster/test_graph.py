import warnings

import numpy as np
import pytest
import scipy.sparse
from sklearn.datasets import make_blobs, make_circles

from tfunsup.cluster.graph import (
    knn_graph,
    laplacian_eigenmaps,
    nearest_neighbors,
    spectral_clustering,
)
from tfunsup.metrics import clustering_scores


def rings(n_per_ring=150, seed=0):
    """Two concentric rings (K-means splits them, a sparse graph does not),
    lifted to 8 dimensions with small noise."""
    points, labels = make_circles(2 * n_per_ring, factor=0.45, noise=0.03, random_state=seed)
    rng = np.random.default_rng(seed)
    extra = rng.normal(0, 0.02, (len(points), 6))
    return np.hstack([points, extra]).astype(np.float32), labels


def test_nearest_neighbors_exclude_self_and_match_exact():
    x, _ = make_blobs(300, n_features=5, centers=3, random_state=0)
    exact, distances = nearest_neighbors(x, 5, method="exact")
    assert exact.shape == (300, 5) and not np.any(exact == np.arange(300)[:, None])
    assert np.all(np.diff(distances, axis=1) >= -1e-6)
    approximate, _ = nearest_neighbors(x, 5, method="approximate", seed=0)
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(exact, approximate)])
    assert overlap > 0.95


def test_knn_graph_is_symmetric_without_self_loops():
    x, _ = make_blobs(200, n_features=4, centers=2, random_state=1)
    neighbors, _ = nearest_neighbors(x, 8)
    graph = knn_graph(neighbors, 4)
    assert scipy.sparse.issparse(graph)
    assert abs(graph - graph.T).max() == 0
    assert graph.diagonal().sum() == 0
    assert set(np.unique(graph.data)) <= {0.5, 1.0}


def test_laplacian_eigenmaps_counts_components():
    # Three far-apart blobs, 3-NN graph: three components -> three zero eigenvalues.
    x, _ = make_blobs(150, n_features=3, centers=[[0, 0, 0], [50, 0, 0], [0, 50, 0]],
                      cluster_std=0.5, random_state=0)
    neighbors, _ = nearest_neighbors(x, 3)
    values, embedding = laplacian_eigenmaps(knn_graph(neighbors), 5, seed=0)
    assert embedding.shape == (150, 5)
    np.testing.assert_allclose(values[:3], 0, atol=1e-6)
    assert values[3] > 1e-3


@pytest.mark.parametrize("solver", ["amg", "lobpcg"])
def test_iterative_solvers_agree_with_arpack(solver):
    pytest.importorskip("pyamg") if solver == "amg" else None
    x, _ = make_blobs(400, n_features=5, centers=4, random_state=2)
    graph = knn_graph(nearest_neighbors(x, 10)[0])
    reference, _ = laplacian_eigenmaps(graph, 6, solver="arpack", seed=0)
    values, _ = laplacian_eigenmaps(graph, 6, solver=solver, seed=0)
    np.testing.assert_allclose(values, reference, atol=1e-3)


def test_auto_graph_separates_rings_that_kmeans_splits():
    from sklearn.cluster import KMeans

    x, labels = rings()
    kmeans = clustering_scores(labels, KMeans(2, n_init=10, random_state=0).fit_predict(x))
    result = spectral_clustering(x, 2, normalize=False, seed=0)
    assert kmeans["acc"] < 0.75
    assert clustering_scores(labels, result.labels)["acc"] == 1.0
    chosen = [c for c in result.candidates if c["n_neighbors"] == result.n_neighbors][0]
    assert chosen["agreement"] == max(c["agreement"] for c in result.candidates)


def test_auto_graph_skips_a_graph_that_merges_the_rings():
    # k=60 links the two rings; the agreement rule must not pick it over the
    # sparse graphs, and the partition it picks must be the right one.
    x, labels = rings()
    result = spectral_clustering(x, 2, neighbor_candidates=(5, 7, 10, 60), normalize=False,
                                 seed=0)
    scores = {c["n_neighbors"]: clustering_scores(labels, c["labels"])["acc"]
              for c in result.candidates}
    assert scores[60] < 0.9
    assert result.n_neighbors != 60
    assert clustering_scores(labels, result.labels)["acc"] == 1.0


def test_fixed_n_neighbors_runs_one_candidate():
    x, labels = make_blobs(200, n_features=6, centers=3, random_state=3)
    result = spectral_clustering(x, 3, n_neighbors=10, seed=0)
    assert result.n_neighbors == 10 and len(result.candidates) == 1
    assert clustering_scores(labels, result.labels)["acc"] == 1.0
    assert result.embedding.shape == (200, 3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_clusters=1), "n_clusters=1"),
    (dict(n_clusters="many"), "n_clusters='many'"),
    (dict(n_clusters=3, n_neighbors=0), "n_neighbors=0"),
    (dict(n_clusters=3, n_neighbors="best"), "n_neighbors='best'"),
    (dict(n_clusters=3, neighbor_candidates=(500,)), "neighbor_candidates"),
    (dict(n_clusters="auto", max_clusters=1), "max_clusters=1"),
    (dict(n_clusters=3, solver="dense"), "solver='dense'"),
    (dict(n_clusters=3, method="faiss"), "method='faiss'"),
])
def test_bad_arguments_raise_before_work(kwargs, message):
    x, _ = make_blobs(60, n_features=3, centers=3, random_state=0)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        spectral_clustering(x, **kwargs)


@pytest.mark.parametrize("features, message", [
    (np.zeros(10), "shape"),
    (np.zeros((1, 3)), "at least 3 rows"),
    (np.full((10, 2), np.nan), "finite"),
])
def test_bad_features_raise(features, message):
    with pytest.raises(ValueError, match=message):
        spectral_clustering(features, 2)


def test_umap_embedding_keeps_blobs_apart_and_repeats_with_a_seed():
    from tfunsup.cluster.graph import kmeans_labels, umap_embedding

    x, labels = make_blobs(300, n_features=16, centers=3, cluster_std=1.0, random_state=0)
    first = umap_embedding(x, 3, n_neighbors=15, seed=0)
    assert first.shape == (300, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, umap_embedding(x, 3, n_neighbors=15, seed=0))
    assert clustering_scores(labels, kmeans_labels(first, 3, seed=0))["acc"] == 1.0


def test_umap_embedding_of_many_items_is_umaps_own_with_less_memory():
    """From UMAP_OWN_NEIGHBORS_FROM items the neighbours are found before
    `UMAP.fit` (its index freed before the layout): the embedding is bitwise
    UMAP's own."""
    import umap

    from tfunsup.cluster.graph import UMAP_OWN_NEIGHBORS_FROM, umap_embedding

    x, _ = make_blobs(UMAP_OWN_NEIGHBORS_FROM + 4, n_features=8, centers=4, random_state=0)
    x = x.astype(np.float32)
    ours = umap_embedding(x, 2, n_neighbors=10, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs value 1 overridden to 1"
        theirs = umap.UMAP(n_components=2, n_neighbors=10, min_dist=0.0, metric="cosine",
                           random_state=0).fit_transform(x)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_components": 0}, "n_components >= 1"),
    ({"n_components": 2, "n_neighbors": 1}, "n_neighbors >= 2"),
])
def test_umap_embedding_bad_arguments(kwargs, message):
    from tfunsup.cluster.graph import umap_embedding

    with pytest.raises(ValueError, match=message):
        umap_embedding(np.zeros((10, 4), np.float32) + np.arange(10)[:, None], **kwargs)


def test_kmeans_near_ties_are_broken_in_the_judge_space():
    from tfunsup.cluster.graph import kmeans_labels, within_cluster_sum_of_squares

    # Three groups on a line at 0, 10 and 20.5: in this space K-means'
    # inertia merges the first two. In the judge space the last two coincide.
    rng = np.random.default_rng(0)
    group = np.repeat(np.arange(3), 40)
    points = (np.array([0.0, 10.0, 20.5])[group] + rng.normal(0, 0.2, 120))[:, None]
    judge = (np.array([0.0, 10.0, 10.0])[group] + rng.normal(0, 0.2, 120))[:, None]
    # The judge's partition has a 10 % higher inertia in `points`.
    plain = kmeans_labels(points, 2, seed=0, n_init=30)
    judged = kmeans_labels(points, 2, seed=0, n_init=30, judge=judge, tolerance=0.2)
    assert clustering_scores((group == 2).astype(int), plain)["acc"] == 1.0
    assert clustering_scores((group == 0).astype(int), judged)["acc"] == 1.0
    assert (within_cluster_sum_of_squares(judge, judged)
            < within_cluster_sum_of_squares(judge, plain))
    np.testing.assert_array_equal(
        judged, kmeans_labels(points, 2, seed=0, n_init=30, judge=judge, tolerance=0.2))
    # Outside the tolerance the inertia in `points` decides.
    kept = kmeans_labels(points, 2, seed=0, n_init=30, judge=judge, tolerance=0.05)
    assert clustering_scores((group == 2).astype(int), kept)["acc"] == 1.0
    with pytest.raises(ValueError, match="judge with 120 rows"):
        kmeans_labels(points, 2, judge=judge[:10])
    with pytest.raises(ValueError, match="tolerance >= 0"):
        kmeans_labels(points, 2, judge=judge, tolerance=-1)


def test_within_cluster_sum_of_squares_matches_its_definition():
    from tfunsup.cluster.graph import within_cluster_sum_of_squares

    points = np.random.default_rng(1).normal(size=(50, 4))
    labels = np.arange(50) % 3 + 5  # any label values
    expected = sum(((points[labels == k] - points[labels == k].mean(0)) ** 2).sum()
                   for k in (5, 6, 7))
    assert within_cluster_sum_of_squares(points, labels) == pytest.approx(expected)
