"""`sample_quality_report`: a trained GAN's samples scored against real images
and against uniform noise."""

import numpy as np
import pytest

from tfunsup.data import load_dataset
from tfunsup.gan import sample_quality_report, train_gan
from tfunsup.metrics.generative import load_feature_extractor


def test_report_scores_samples_and_noise(source_model_path):
    images = load_dataset("digits").images[:256]
    gan, _ = train_gan(images, latent_dim=4, width=4, batch_size=32, epochs=1, seed=0)
    report = sample_quality_report(gan, images, n_samples=200,
                                   feature_extractor=load_feature_extractor(), seed=0)
    assert report["samples"].shape == (200, 8, 8, 1)
    assert report["inception_score"] is None and report["min_class_fraction"] is None
    np.testing.assert_allclose(report["samples"], gan.generate(200, seed=1), atol=1e-6)
    assert np.isfinite(report["fid"]) and report["noise"]["fid"] != report["fid"]
    assert {"ratio", "fake_median"} <= set(report["nearest_neighbor"])
    with pytest.raises(ValueError, match="n_samples=1"):
        sample_quality_report(gan, images, n_samples=1, feature_extractor=None)
