import numpy as np
import pytest

from tfunsup.adapt.network import DEFAULT_IMAGE_SPEC, build_network
from tfunsup.backbones.small_cnn import build_small_cnn, parse_small_cnn_spec
from tfunsup.source import build_source_cnn


def _architecture(model):
    return [(type(layer).__name__, layer.output.shape[1:]) for layer in model.layers]


def test_small_cnn_maps_images_to_relu_features():
    model = build_small_cnn((28, 28, 1), feature_dim=16, seed=0)
    features = model(np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32))
    assert features.shape == (3, 16)
    assert float(np.min(features)) >= 0.0


def test_source_model_and_adaptation_network_share_one_small_cnn():
    _, source_features = build_source_cnn(seed=0)
    network, _ = build_network(None, 10, seed=0)
    adapted_backbone = network.get_layer("feature_extractor").get_layer("backbone").get_layer(
        "small_cnn")
    assert _architecture(source_features) == _architecture(build_small_cnn(seed=0))
    assert _architecture(adapted_backbone) == _architecture(build_small_cnn(seed=0))


def test_width_multiplies_the_filters_and_the_spec_names_it():
    wide = build_small_cnn((28, 28, 1), feature_dim=32, seed=0, width=2)
    filters = [layer.filters for layer in wide.layers if hasattr(layer, "filters")]
    assert filters == [64, 128]
    assert parse_small_cnn_spec("small_cnn") == 1
    assert parse_small_cnn_spec("small_cnn,width=3") == 3
    assert parse_small_cnn_spec("keras:MobileNetV2,alpha=0.35") is None
    assert parse_small_cnn_spec(None) is None
    network, spec = build_network("small_cnn,width=2", 10, seed=0)
    backbone = network.get_layer("feature_extractor").get_layer("backbone").get_layer(
        "small_cnn")
    assert _architecture(backbone) == _architecture(
        build_small_cnn(feature_dim=256, seed=0, width=2))
    assert spec == DEFAULT_IMAGE_SPEC


@pytest.mark.parametrize("spec", ["small_cnn,width=0", "small_cnn,width=two",
                                  "small_cnn,depth=2"])
def test_bad_small_cnn_spec_is_an_error_naming_it(spec):
    with pytest.raises(ValueError, match=f"Received: backbone='{spec}'"):
        build_network(spec, 10, seed=0)


def test_bad_width_is_an_error():
    with pytest.raises(ValueError, match="Received: width=0"):
        build_small_cnn(width=0)
