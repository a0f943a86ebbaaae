import keras
import numpy as np
import pytest
import tensorflow as tf

from tfunsup.layers import GradientReversal


def _forward_and_gradient(layer, x, **call_kwargs):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, **call_kwargs)
        loss = tf.reduce_sum(3.0 * y)
    return y.numpy(), tape.gradient(loss, x).numpy()


@pytest.mark.parametrize("lambda_", [0.0, 0.5, 1.0, 2.0])
def test_identity_forward_and_gradient_times_minus_lambda(lambda_):
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    y, gradient = _forward_and_gradient(GradientReversal(lambda_), x)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_allclose(gradient, np.full_like(x, -3.0 * lambda_))


def test_call_argument_overrides_the_default_strength():
    x = np.ones((2, 3), np.float32)
    _, gradient = _forward_and_gradient(GradientReversal(1.0), x, lambda_=tf.constant(0.25))
    np.testing.assert_allclose(gradient, np.full_like(x, -0.75))


def test_under_xla_and_in_a_model_the_layers_before_it_get_reversed_gradients():
    layer = GradientReversal(0.5)

    @tf.function(jit_compile=True)
    def gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x * 2.0))
        return tape.gradient(loss, x)

    np.testing.assert_allclose(gradient(tf.ones((2, 2))).numpy(), np.full((2, 2), -1.0))


def test_config_round_trip_and_shape():
    layer = GradientReversal(0.3, name="grl")
    clone = GradientReversal.from_config(layer.get_config())
    assert clone.lambda_ == 0.3 and clone.name == "grl"
    assert layer.compute_output_shape((None, 7)) == (None, 7)
    inputs = keras.Input((7,))
    model = keras.Model(inputs, GradientReversal()(inputs))
    assert model.output.shape == (None, 7)


def test_negative_lambda_is_refused():
    with pytest.raises(ValueError, match="lambda_ >= 0. Received: lambda_=-1"):
        GradientReversal(-1)
