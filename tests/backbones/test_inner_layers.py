"""The nested-model lookup shared by the image and text backbone cuts."""

import re

import keras
import numpy as np
import pytest

from tfunsup.backbones.inner_layers import call_through, find_inner_model, layer_names


def _wrapped():
    """A backbone as `load_backbone` builds one: a scaling layer, then a
    nested functional model with named layers."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv_a")(inputs)
    x = keras.layers.Conv2D(6, 3, name="conv_b")(x)
    inner = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="pool")(x),
                        name="inner")
    images = keras.Input(shape=(8, 8, 3))
    outer = keras.Model(images, inner(keras.layers.Rescaling(2.0, name="scale")(images)),
                        name="backbone")
    return outer, inner


def test_layer_names():
    assert layer_names("conv_a") == ["conv_a"]
    assert layer_names(("conv_a", "conv_b")) == ["conv_a", "conv_b"]
    assert layer_names(None, optional=True) is None
    for bad in ((), ["conv_a", 3], 3, None):
        with pytest.raises(ValueError, match=re.escape(
                f"Expected layer to be a layer name or a non-empty sequence of names. "
                f"Received: layer={bad!r}")):
            layer_names(bad)
    with pytest.raises(ValueError, match="to be None, a layer name"):
        layer_names((), optional=True)


def test_find_inner_model_and_its_error():
    outer, inner = _wrapped()
    assert find_inner_model(outer, ["conv_a", "conv_b"], received={"layer": "x"}) is inner
    with pytest.raises(ValueError) as error:
        find_inner_model(outer, ["conv_a", "nope"], received={"layer": ("conv_a", "nope")})
    assert str(error.value) == (
        "Expected layer to name layers of a Keras functional model inside backbone "
        "'backbone'. Received: layer=('conv_a', 'nope'), not all found.")
    with pytest.raises(ValueError, match=r"Expected frozen_until and layer .* backbone 'spec'\. "
                                         r"Received: frozen_until='nope', layer=None, "):
        find_inner_model(outer, ["nope"], received={"frozen_until": "nope", "layer": None},
                         spec_name="spec")


def test_call_through_keeps_the_layers_before_the_inner_model():
    outer, inner = _wrapped()
    trunk = keras.Model(inner.inputs, inner.get_layer("conv_a").output)
    images, outputs = call_through(outer, inner, trunk)
    cut = keras.Model(images, outputs)
    x = np.random.default_rng(0).uniform(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(cut(x).numpy(), trunk(2.0 * x).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="Expected inner to be a layer"):
        call_through(outer, trunk, trunk)
