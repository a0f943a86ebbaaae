import numpy as np

from tfunsup.adapt.network import build_network
from tfunsup.backbones.small_cnn import build_small_cnn
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
