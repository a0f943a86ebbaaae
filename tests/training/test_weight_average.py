"""`WeightAverage`: the moving average of a model's weights across `fit` calls."""

import keras
import numpy as np
import pytest

from tfunsup.training import WeightAverage


def _model():
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(1)(keras.layers.BatchNormalization()(inputs))
    return keras.Model(inputs, outputs)


def test_average_follows_every_step_across_fit_calls_and_is_written_on_apply():
    keras.utils.set_random_seed(0)
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    momentum = 0.5
    expected = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            weights = model.get_weights()
            if not expected:
                expected.extend(w.copy() for w in weights)
            else:
                for average, weight in zip(expected, weights):
                    average[...] = momentum * average + (1 - momentum) * weight

    average = WeightAverage(model, momentum)
    for _ in range(2):  # two `fit` calls, 4 steps each
        model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0,
                  callbacks=[Record(), average])
    trained = model.get_weights()
    for got, want in zip(average.averages, expected):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    # Batch-norm statistics are averaged too; the model keeps its own weights
    # until `apply`.
    assert len(average.averages) == len(trained) == 6
    assert not np.allclose(average.averages[0], trained[0])
    np.testing.assert_array_equal(model.get_weights()[0], trained[0])
    average.apply()
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("momentum", [0.0, 1.0, -0.5, True, "0.9"])
def test_momentum_outside_the_open_unit_interval_is_refused(momentum):
    with pytest.raises(ValueError, match="Expected momentum in \\(0, 1\\)"):
        WeightAverage(_model(), momentum)
