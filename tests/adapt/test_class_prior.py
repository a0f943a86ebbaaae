import numpy as np
import pytest

from tfunsup.adapt import class_frequencies, estimate_class_prior


def _calibrated_posteriors(target_prior, source_prior, n, seed):
    """Items drawn from `target_prior` with Gaussian class-conditionals
    (1-D, unit variance, means 0, 1.5, 3, ...); posteriors computed exactly,
    as a calibrated classifier trained under `source_prior` would give."""
    rng = np.random.default_rng(seed)
    means = 1.5 * np.arange(len(target_prior))
    labels = rng.choice(len(target_prior), size=n, p=target_prior)
    x = rng.normal(means[labels], 1.0)
    likelihood = np.exp(-0.5 * (x[:, None] - means[None, :]) ** 2)
    joint = likelihood * source_prior
    return joint / joint.sum(axis=1, keepdims=True), labels


def test_em_recovers_a_shifted_prior_from_calibrated_posteriors():
    source_prior = np.full(4, 0.25)
    target_prior = np.array([0.5, 0.25, 0.15, 0.10])
    posteriors, labels = _calibrated_posteriors(target_prior, source_prior, 20000, seed=0)
    estimate = estimate_class_prior(posteriors, source_prior)
    empirical = np.bincount(labels, minlength=4) / len(labels)
    np.testing.assert_allclose(estimate, empirical, atol=0.02)
    # The plain mean of the posteriors is biased towards the source prior; EM is not.
    mean = posteriors.mean(axis=0)
    assert np.abs(mean - empirical).max() > 2 * np.abs(estimate - empirical).max()
    assert estimate.sum() == pytest.approx(1.0)


def test_em_undoes_an_imbalanced_source_prior():
    source_prior = np.array([0.1, 0.2, 0.3, 0.4])
    target_prior = np.full(4, 0.25)
    posteriors, labels = _calibrated_posteriors(target_prior, source_prior, 20000, seed=1)
    empirical = np.bincount(labels, minlength=4) / len(labels)
    np.testing.assert_allclose(estimate_class_prior(posteriors, source_prior), empirical,
                               atol=0.02)
    # Ignoring the source prior (uniform) gets it wrong.
    assert np.abs(estimate_class_prior(posteriors) - empirical).max() > 0.05


def test_em_fixed_point_when_nothing_shifted():
    posteriors, _ = _calibrated_posteriors(np.full(3, 1 / 3), np.full(3, 1 / 3), 5, seed=2)
    balanced = np.concatenate([posteriors, np.roll(posteriors, 1, axis=1),
                               np.roll(posteriors, 2, axis=1)])
    np.testing.assert_allclose(estimate_class_prior(balanced), np.full(3, 1 / 3), atol=1e-9)


@pytest.mark.parametrize("probabilities, source_prior, message", [
    (np.ones(3), None, "Expected probabilities of shape"),
    (np.full((2, 3), 1 / 3), np.array([0.5, 0.5]), "Expected a positive source_prior"),
    (np.full((2, 3), 1 / 3), np.array([0.5, 0.5, 0.0]), "Expected a positive source_prior"),
])
def test_em_bad_input(probabilities, source_prior, message):
    with pytest.raises(ValueError, match=message):
        estimate_class_prior(probabilities, source_prior)


def test_class_frequencies_add_one_smoothed():
    np.testing.assert_allclose(class_frequencies([0, 0, 1], 3), [3 / 6, 2 / 6, 1 / 6])
