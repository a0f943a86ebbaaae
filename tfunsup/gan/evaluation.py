"""Scores of a trained GAN's samples, with their floors and ceiling."""

import numpy as np

from tfunsup.metrics.generative import (
    classifier_inception_score,
    generative_scores,
    nearest_neighbor_scores,
)


def sample_quality_report(gan, images, *, n_samples=5000, feature_extractor, classifier=False,
                          seed=0):
    """FID / KID (and the classifier Inception Score) of `n_samples` generated
    images against as many real ones, next to uniform noise scored the same
    way, plus the nearest-training-image copying check.

    Args:
        gan: a trained `GAN` (samples from its `sampler()`).
        images: float32 `(n, height, width, channels)` in [0, 1], the
            training images.
        n_samples: int >= 2, generated (and real, at most n) images scored.
        feature_extractor: from `tfunsup.metrics.generative.load_feature_extractor`.
        classifier: from `load_classifier` for digit data, or False (no
            Inception Score).
        seed: seed of the samples, the real subset and the noise.

    Returns:
        dict: `fid`, `kid`, `kid_std`, `inception_score`,
        `inception_score_std`, `real_inception_score`, `class_fractions`,
        `min_class_fraction`, `min_class_fraction_1000` (None without a
        classifier), `noise` (`fid`, `kid`, `inception_score` of uniform
        noise) and `nearest_neighbor` (see `nearest_neighbor_scores`).

    Raises:
        ValueError: `n_samples < 2`.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"Expected n_samples >= 2. Received: n_samples={n_samples!r}")
    fake = gan.generate(n_samples, seed=seed + 1)
    real = images[np.random.default_rng(seed).permutation(len(images))[:n_samples]]
    noise = np.random.default_rng(seed + 2).random((n_samples, *images.shape[1:]),
                                                   dtype=np.float32)
    scores = generative_scores(real, fake, feature_extractor=feature_extractor,
                               classifier=classifier, seed=seed)
    noise_scores = generative_scores(real, noise, feature_extractor=feature_extractor,
                                     classifier=classifier, seed=seed)
    digits = classifier is not False
    real_scores = classifier_inception_score(real, classifier) if digits else {}
    return {
        "fid": scores["fid"], "kid": scores["kid"], "kid_std": scores["kid_std"],
        "inception_score": scores.get("inception_score"),
        "inception_score_std": scores.get("inception_score_std"),
        "real_inception_score": real_scores.get("inception_score"),
        "class_fractions": scores.get("class_fractions"),
        "min_class_fraction": min(scores["class_fractions"]) if digits else None,
        # a mode-collapse check: every digit's share among the first 1,000 samples
        "min_class_fraction_1000": min(classifier_inception_score(
            fake[:1000], classifier)["class_fractions"]) if digits and n_samples >= 1000
        else None,
        "noise": {"fid": noise_scores["fid"], "kid": noise_scores["kid"],
                  "inception_score": noise_scores.get("inception_score")},
        "nearest_neighbor": nearest_neighbor_scores(images, fake),
        "samples": fake,
    }
