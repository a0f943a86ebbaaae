import keras
import numpy as np
import pytest
import tensorflow as tf

from tfunsup.optimizers import FusedAdam


def _model(seed=0, dtype=None):
    """A small model with dense, convolution and embedding weights."""
    keras.utils.set_random_seed(seed)
    images = keras.Input((6, 6, 2), name="images")
    labels = keras.Input((), dtype="int32", name="labels")
    x = keras.layers.Conv2D(4, 3, dtype=dtype)(images)
    x = keras.layers.Flatten(dtype=dtype)(x)
    x = keras.layers.Dense(3, dtype=dtype)(x)
    embedded = keras.layers.Embedding(5, 3, dtype=dtype)(labels)
    outputs = keras.layers.Add(dtype="float32")([x, embedded])
    return keras.Model([images, labels], outputs)


def _batches(n=4, seed=1):
    rng = np.random.default_rng(seed)
    return [((rng.normal(size=(8, 6, 6, 2)).astype("float32"),
              rng.integers(0, 5, 8).astype("int32")),
             rng.normal(size=(8, 3)).astype("float32")) for _ in range(n)]


def _train(make_optimizer, steps=4, dtype=None, jit_compile=False, strategy=None):
    """The model's weights after `steps` updates by `make_optimizer()` on fixed
    batches (model and optimizer built under `strategy`)."""
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = _model(dtype=dtype)
        model.compile(optimizer=make_optimizer(), loss="mse", jit_compile=jit_compile)
    for x, y in _batches(steps):
        model.train_on_batch(x, y)
    return model.get_weights()


@pytest.mark.parametrize("kwargs", [
    {"learning_rate": 1e-2},
    {"learning_rate": 1e-2, "beta_1": 0.0, "beta_2": 0.9},  # WGAN-GP's
    {"learning_rate": 2e-3, "beta_1": 0.5, "epsilon": 1e-3, "weight_decay": 0.1,
     "clipnorm": 0.5},
    {"learning_rate": 1e-2, "amsgrad": True},  # Keras' own update
])
def test_trains_the_same_weights_as_keras_adam(kwargs):
    expected = _train(lambda: keras.optimizers.Adam(**kwargs))
    actual = _train(lambda: FusedAdam(**kwargs))
    initial = _model().get_weights()
    for e, a, w in zip(expected, actual, initial):
        assert not np.allclose(e, w)  # the weights moved
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)


def test_dense_updates_are_one_fused_op_per_variable_and_sparse_ones_are_not():
    model = _model()
    optimizer = FusedAdam(1e-3)
    optimizer.build(model.trainable_variables)
    x, y = _batches(1)[0]

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    ops = [op.type for op in step.get_concrete_function().graph.get_operations()]
    # Conv2D and Dense kernels and biases (4) fused; the embedding's
    # IndexedSlices gradient takes Keras' path.
    assert ops.count("ResourceApplyAdam") == 4
    assert len(model.trainable_variables) == 5


def test_matches_keras_adam_under_xla_and_mixed_float16_loss_scaling():
    expected = _train(lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-2)),
                      dtype="mixed_float16")
    actual = _train(lambda: keras.optimizers.LossScaleOptimizer(FusedAdam(1e-2)),
                    dtype="mixed_float16", jit_compile=True)
    for e, a in zip(expected, actual):
        np.testing.assert_allclose(a, e, rtol=1e-3, atol=1e-4)


def test_matches_keras_adam_under_a_two_replica_strategy(two_cpu_strategy):
    expected = _train(lambda: keras.optimizers.Adam(1e-2), strategy=two_cpu_strategy)
    actual = _train(lambda: FusedAdam(1e-2), strategy=two_cpu_strategy)
    for e, a in zip(expected, actual):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)


def test_serializes_as_itself():
    optimizer = FusedAdam(3e-4, beta_1=0.5, beta_2=0.9)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is FusedAdam
    assert restored.get_config() == optimizer.get_config()
