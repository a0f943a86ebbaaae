import keras
import numpy as np
import pytest

from tfunsup.source import build_source_cnn
from tfunsup.transfer import build_target_model, shared_part, unfreeze_top


@pytest.fixture(scope="module")
def source():
    classifier, features = build_source_cnn(seed=0)
    return features  # conv, pool, conv, pool, flatten, dropout, dense "features"


def test_first_n_layers_are_shared_and_frozen(source):
    model, shared = build_target_model(source, 5, shared_layers=3, head_units=(16,))
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    # Shared layers conv -> pool -> conv, globally average-pooled to 64 features.
    assert shared.output.shape == (None, 64)
    assert model(x).shape == (2, 5)
    head = {"head_0", "classes"}
    trainable = {w.path.split("/")[0] for w in model.trainable_weights}
    assert trainable == head
    truncated = keras.Model(source.inputs, source.layers[3].output)
    reference = truncated(x).numpy().mean(axis=(1, 2))
    np.testing.assert_allclose(shared(x).numpy(), reference, atol=1e-5)


def test_source_model_is_never_modified(source):
    before = [w.copy() for w in source.get_weights()]
    model, shared = build_target_model(source, 3)
    unfreeze_top(shared)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    model.fit(x, np.arange(8) % 3, epochs=1, verbose=0)
    assert source.trainable_weights and all(w.trainable for w in source.trainable_weights)
    for old, new in zip(before, source.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_unfreeze_top_layers(source):
    model, shared = build_target_model(source, 3)
    assert not shared.trainable_weights
    count = unfreeze_top(shared, 1)  # only the top "features" dense layer
    assert count == 2
    assert {w.path.split("/")[0] for w in shared.trainable_weights} == {"features"}
    assert unfreeze_top(shared) == 6  # everything: 2 convs + dense, kernels and biases


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_classes=1), "n_classes"),
    (dict(shared_layers=0), "shared_layers"),
    (dict(shared_layers=99), "shared_layers"),
    (dict(head_units=(0,)), "head_units"),
    (dict(dropout=1.0), "dropout"),
])
def test_bad_arguments(source, kwargs, match):
    arguments = dict(n_classes=3) | kwargs
    with pytest.raises(ValueError, match=match):
        build_target_model(source, **arguments)


def test_shared_part_whole_model(source):
    assert shared_part(source) is source
