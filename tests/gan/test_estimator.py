"""`GANEstimator`: scikit-learn conventions around `train_gan`."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from tfunsup.data import load_dataset
from tfunsup.gan import GANEstimator

SMALL = dict(latent_dim=4, width=4, batch_size=32, epochs=1)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").images[:256]


def test_fit_generate_export(digits, tmp_path):
    estimator = GANEstimator(n_clusters=4, seed=0, **SMALL)
    assert clone(estimator).get_params() == estimator.get_params()
    with pytest.raises(NotFittedError):
        estimator.generate(2)
    assert estimator.fit(digits) is estimator
    assert estimator.pseudo_labels_.shape == (256,) and set(estimator.pseudo_labels_) == {
        0, 1, 2, 3}
    images = estimator.generate(5, seed=1)
    assert images.shape == (5, 8, 8, 1) and 0 <= images.min() and images.max() <= 1
    loaded = tf.saved_model.load(str(estimator.export(tmp_path / "generator")))
    assert loaded.serve(np.zeros((2, 4), np.float32)).shape == (2, 8, 8, 1)


def test_unconditional_and_bad_arguments(digits):
    estimator = GANEstimator(n_clusters=0, seed=0, **SMALL).fit(digits)
    assert estimator.pseudo_labels_ is None
    with pytest.raises(ValueError, match="n_clusters=1"):
        GANEstimator(n_clusters=1, **SMALL).fit(digits)
    with pytest.raises(ValueError, match="n=0"):
        estimator.generate(0)
