"""`reseed_random_layers`: a reused model's random layers restart from a seed."""

import keras
import numpy as np

from tfunsup.utils.reproducibility import reseed_random_layers


def _model():
    inputs = keras.Input(shape=(64,))
    hidden = keras.layers.Dropout(0.5)(keras.layers.Dense(64)(inputs))
    return keras.Model(inputs, keras.layers.GaussianNoise(1.0)(hidden))


def test_reseeded_layers_repeat_their_draws_whatever_ran_before():
    model = _model()
    x = np.ones((4, 64), "float32")
    assert reseed_random_layers(model, 3) == 2  # the dropout and the noise
    first = model(x, training=True).numpy()
    model(x, training=True)  # moves the streams on
    keras.utils.set_random_seed(3)  # does not reach layers made before it
    assert not np.array_equal(model(x, training=True).numpy(), first)
    reseed_random_layers(model, 3)
    np.testing.assert_array_equal(model(x, training=True).numpy(), first)
    reseed_random_layers(model, 4)
    assert not np.array_equal(model(x, training=True).numpy(), first)
    assert reseed_random_layers(model, None) == 0
