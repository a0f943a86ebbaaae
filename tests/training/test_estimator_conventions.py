"""The estimators of the autoencoder, pretraining, transfer and GAN flows follow
scikit-learn's conventions: `BaseEstimator` parameters, sklearn's
`NotFittedError` before `fit`, and `deterministic` as a parameter."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from tfunsup.autoencoders import AutoencoderEstimator
from tfunsup.gan import GANEstimator
from tfunsup.pretraining import EncoderPretrainer
from tfunsup.transfer import TransferClassifier

IMAGES = np.zeros((2, 8, 8, 1), np.float32)
ESTIMATORS = [
    (AutoencoderEstimator("dense", 2), lambda e: e.transform(IMAGES)),
    (EncoderPretrainer("simclr", "dense", 2), lambda e: e.transform(IMAGES)),
    (TransferClassifier("keras:MobileNetV2"), lambda e: e.predict(IMAGES)),
    (GANEstimator(), lambda e: e.generate(2)),
]


@pytest.mark.parametrize("estimator, use", ESTIMATORS, ids=lambda x: type(x).__name__)
def test_not_fitted_error_and_params(estimator, use):
    assert isinstance(estimator, BaseEstimator)
    params = estimator.get_params()
    assert params["deterministic"] is False
    assert clone(estimator).get_params().keys() == params.keys()
    with pytest.raises(NotFittedError, match="not fitted"):
        use(estimator)
