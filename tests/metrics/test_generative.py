"""FID, KID and Inception Score: known values, unbiasedness, and real-vs-noise sanity."""

import numpy as np
import pytest

from tfunsup.metrics import generative
from tfunsup.metrics.generative import (
    frechet_distance,
    inception_score,
    kernel_distance,
)


def test_frechet_distance_of_a_sample_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("scale, shift", [(1.0, 2.0), (2.0, 0.0), (0.5, -1.0)])
def test_frechet_distance_of_an_affine_copy(scale, shift):
    """y = a x + b: FID = ||(1 - a) mu_x - b||^2 + (1 - a)^2 tr(Sigma_x), exactly."""
    x = np.random.default_rng(1).normal(size=(400, 5)) @ np.diag([1.0, 2.0, 0.5, 1.5, 3.0])
    y = scale * x + shift
    mu, sigma = x.mean(axis=0), np.cov(x, rowvar=False)
    expected = np.sum(((1 - scale) * mu - shift) ** 2) + (1 - scale) ** 2 * np.trace(sigma)
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_frechet_distance_handles_singular_covariances():
    x = np.random.default_rng(2).normal(size=(50, 4))
    x[:, 3] = 0.0  # a dead feature
    y = x + 0.1
    assert np.isfinite(frechet_distance(x, y))


def _naive_kid(x, y):
    d, m = x.shape[1], len(x)
    k = lambda a, b: (a @ b / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    return xx + yy - 2 * xy


def test_kernel_distance_matches_the_unbiased_formula():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(12, 3)), rng.normal(1.0, size=(12, 3))
    mean, std = kernel_distance(x, y, subset_size=12, n_subsets=1)
    assert mean == pytest.approx(_naive_kid(x, y), rel=1e-9)
    assert std == 0.0


def test_kernel_distance_is_unbiased_for_one_distribution():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
    same, same_std = kernel_distance(x, y, subset_size=200, n_subsets=50)
    shifted, _ = kernel_distance(x, y + 0.5, subset_size=200, n_subsets=50)
    assert abs(same) < 3 * same_std / np.sqrt(50) + 1e-3
    assert shifted > 50 * abs(same)


@pytest.mark.parametrize("probabilities, expected", [
    (np.eye(10), 10.0),                                     # confident, all classes
    (np.tile(np.eye(10)[3], (10, 1)), 1.0),                 # one class only
    (np.full((10, 10), 0.1), 1.0),                          # no confidence
    (np.array([[0.9, 0.1], [0.1, 0.9]]),                    # by hand
     np.exp(0.9 * np.log(1.8) + 0.1 * np.log(0.2))),
])
def test_inception_score_known_values(probabilities, expected):
    score, std = inception_score(probabilities, n_splits=1)
    assert score == pytest.approx(expected, rel=1e-6)
    assert std == 0.0


def test_inception_score_splits_rows_in_random_order():
    """Sorted-by-class data (MNIST-5k) must not be scored split by split."""
    sorted_by_class = np.repeat(np.eye(10), 500, axis=0)
    # 500 random rows per split: the split's class histogram is near uniform.
    assert inception_score(sorted_by_class, n_splits=10)[0] == pytest.approx(10.0, rel=0.02)
    assert inception_score(sorted_by_class, n_splits=10, seed=None)[0] == pytest.approx(1.0)


@pytest.mark.parametrize("call, match", [
    (lambda: frechet_distance(np.zeros((5, 3)), np.zeros((5, 4))), "equal dimension"),
    (lambda: frechet_distance(np.zeros(5), np.zeros(5)), "feature_dim"),
    (lambda: kernel_distance(np.full((5, 2), np.nan), np.zeros((5, 2))), "NaN"),
    (lambda: inception_score(np.array([[0.5, 0.6]])), "summing to 1"),
    (lambda: inception_score(np.eye(3), n_splits=4), "n_splits"),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.large
def test_real_digits_score_far_better_than_noise(source_model_path):
    """Under the MNIST-5k source features and classifier: two halves of the
    real data are close; uniform noise is far; real digits have an IS near 10."""
    from tfunsup.data import load_dataset

    data = load_dataset("mnist-5k")
    order = np.random.default_rng(0).permutation(len(data))
    real_a, real_b = data.images[order[:2000]], data.images[order[2000:4000]]
    noise = np.random.default_rng(1).random(real_b.shape, dtype=np.float32)
    extractor = generative.load_feature_extractor()
    classifier = generative.load_classifier()
    split = generative.generative_scores(real_a, real_b, feature_extractor=extractor,
                                         classifier=classifier)
    random = generative.generative_scores(real_a, noise, feature_extractor=extractor,
                                          classifier=classifier)
    assert split["fid"] < 0.05 * random["fid"]
    assert abs(split["kid"]) < 0.01 * random["kid"]
    assert split["inception_score"] > 8.5
    assert random["inception_score"] < 2.0
    assert min(split["class_fractions"]) > 0.07


def test_nearest_neighbor_scores_flag_copies_and_not_noise():
    train = np.random.default_rng(0).random((300, 6, 6, 1), dtype=np.float32)
    copies = np.clip(train[:100] + 0.001, 0.0, 1.0)
    scores = generative.nearest_neighbor_scores(train, copies)
    assert scores["ratio"] < 0.05 and scores["fake_below_half"] == 1.0
    fresh = np.random.default_rng(1).random((100, 6, 6, 1), dtype=np.float32)
    scores = generative.nearest_neighbor_scores(train, fresh)
    assert 0.8 < scores["ratio"] < 1.25  # a new draw of the same distribution
    assert scores["train_median"] > 0
    with pytest.raises(ValueError, match="train_images"):
        generative.nearest_neighbor_scores(train[:1], fresh)
