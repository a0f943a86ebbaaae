import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.datasets import make_blobs

from tfunsup.cluster.n_clusters import (
    eigengap_n_clusters,
    estimate_n_clusters,
    plot_n_clusters_curve,
)


def test_eigengap_picks_the_largest_jump():
    eigenvalues = [0, 0.001, 0.002, 0.003, 0.2, 0.21, 0.25]
    k, curve = eigengap_n_clusters(eigenvalues, max_clusters=5)
    assert k == 4
    np.testing.assert_array_equal(curve["n_clusters_range"], [2, 3, 4, 5])
    np.testing.assert_allclose(curve["gaps"], [0.001, 0.001, 0.197, 0.01])


@pytest.mark.parametrize("n_blobs", [3, 6])
def test_estimate_finds_the_number_of_blobs(n_blobs):
    x, _ = make_blobs(60 * n_blobs, n_features=10, centers=n_blobs, cluster_std=1.0,
                      center_box=(-15, 15), random_state=n_blobs)
    k, curve = estimate_n_clusters(x, max_clusters=12, normalize=False, seed=0)
    assert k == n_blobs
    assert len(np.unique(curve["labels"])) == n_blobs
    assert curve["eigenvalues"].shape == (13,)


def test_plot_returns_a_figure_with_two_axes(tmp_path):
    x, _ = make_blobs(120, n_features=5, centers=4, random_state=0)
    k, curve = estimate_n_clusters(x, max_clusters=8, neighbor_candidates=(5, 10), seed=0)
    figure = plot_n_clusters_curve(curve)
    assert isinstance(figure, Figure) and len(figure.axes) == 2
    figure.savefig(tmp_path / "k.png")
    assert (tmp_path / "k.png").stat().st_size > 1000


@pytest.mark.parametrize("kwargs, message", [
    (dict(eigenvalues=[0, 0.1], min_clusters=2), "at least min_clusters"),
    (dict(eigenvalues=[0, 0.1, 0.2], min_clusters=3, max_clusters=2), "min_clusters=3"),
])
def test_eigengap_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        eigengap_n_clusters(**kwargs)
