import keras
import numpy as np
import pytest
import tensorflow as tf

from tfunsup.layers import FusedBatchNormalization
from tfunsup.training import cpu_flags, cpu_supports_bfloat16


def _pair(shape, dtype=None, **kwargs):
    """A Keras and a fused layer built on `shape` with the same random weights."""
    reference = keras.layers.BatchNormalization(dtype=dtype, **kwargs)
    fused = FusedBatchNormalization(dtype=dtype, **kwargs)
    reference.build(shape)
    fused.build(shape)
    rng = np.random.default_rng(0)
    weights = [rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in reference.weights]
    reference.set_weights(weights)
    fused.set_weights(weights)
    return reference, fused


def _inputs(shape, seed=1):
    return tf.constant(np.random.default_rng(seed).normal(2.0, 3.0, shape).astype("float32"))


@pytest.mark.parametrize("shape", [(16, 5), (8, 7, 7, 6)])
def test_training_mode_matches_keras_outputs_gradients_and_moving_statistics(shape):
    reference, fused = _pair(shape, momentum=0.9)
    initial = [np.asarray(fused.moving_mean), np.asarray(fused.moving_variance)]
    x = _inputs(shape)
    results = []
    for layer in (reference, fused):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            # Squared, so that the gradients of gamma and beta are not zero.
            loss = tf.reduce_sum(tf.square(y + 1.0) * tf.range(1.0, 1.0 + y.shape[-1]))
        gradients = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append([y] + gradients + [layer.moving_mean, layer.moving_variance])
    for expected, actual in zip(*results):
        np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=1e-4, atol=1e-4)
    # The moving statistics moved towards the batch's (mean 2, variance 9).
    assert np.all(np.abs(np.asarray(fused.moving_mean) - initial[0]) > 1e-3)
    assert np.all(np.asarray(fused.moving_variance) > initial[1])


def test_inference_mode_matches_keras():
    reference, fused = _pair((8, 4, 4, 3))
    x = _inputs((8, 4, 4, 3))
    np.testing.assert_allclose(fused(x, training=False), reference(x, training=False), rtol=1e-6)


@pytest.mark.skipif(
    cpu_supports_bfloat16(cpu_flags()) and not cpu_supports_bfloat16(),
    reason="oneDNN capped below the bfloat16 this CPU has (.ci/avx2): TensorFlow's own "
           "CPU check still hands bfloat16 ops to oneDNN, which cannot create them")
def test_mixed_bfloat16_matches_keras_and_keeps_the_policy_dtypes():
    reference, fused = _pair((16, 7, 7, 8), dtype="mixed_bfloat16")
    x = tf.cast(_inputs((16, 7, 7, 8)), "bfloat16")
    y_reference, y_fused = reference(x, training=True), fused(x, training=True)
    assert y_fused.dtype == "bfloat16"
    assert fused.moving_mean.dtype == "float32"
    np.testing.assert_allclose(np.asarray(tf.cast(y_fused, "float32")),
                               np.asarray(tf.cast(y_reference, "float32")), atol=0.05)
    np.testing.assert_allclose(fused.moving_variance, reference.moving_variance, rtol=1e-2)


def _op_types(layer, x, training):
    function = tf.function(lambda inputs: layer(inputs, training=training))
    return {op.type for op in function.get_concrete_function(x).graph.get_operations()}


def test_training_mode_runs_one_fused_op_and_inference_mode_does_not():
    _, fused = _pair((8, 4, 4, 3))
    x = _inputs((8, 4, 4, 3))
    assert "FusedBatchNormV3" in _op_types(fused, x, training=True)
    assert "FusedBatchNormV3" not in _op_types(fused, x, training=False)


@pytest.mark.parametrize("shape, kwargs", [((8, 5, 3), {}), ((8, 4, 4, 3), {"epsilon": 1e-6}),
                                           ((8, 4, 4, 3), {"axis": 1})])
def test_unsupported_cases_fall_back_to_keras(shape, kwargs):
    reference, fused = _pair(shape, **kwargs)
    x = _inputs(shape)
    assert "FusedBatchNormV3" not in _op_types(fused, x, training=True)
    np.testing.assert_allclose(fused(x, training=True), reference(x, training=True),
                               rtol=1e-5, atol=1e-5)


def test_keras_file_round_trip(tmp_path):
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, FusedBatchNormalization(name="bn")(inputs))
    model.layers[-1].set_weights(_pair((1, 4, 4, 3))[1].get_weights())
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.get_layer("bn"), FusedBatchNormalization)
    x = _inputs((2, 4, 4, 3))
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6)
