import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.exceptions import NotFittedError

from tfunsup.anomaly import KNNAnomalyDetector, PANDAAnomalyDetector
from tfunsup.anomaly.compactness import CompactnessModel, compactness_loss
from tfunsup.backbones import load_backbone
from tfunsup.backbones.defaults import default_frozen_layer


def _tiny_backbone():
    """A 3-stage conv net built here (random weights, seeded)."""
    keras.utils.set_random_seed(0)
    images = keras.Input(shape=(16, 16, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="stem")(images)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    x = keras.layers.Conv2D(12, 3, padding="same", name="mid")(x)
    x = keras.layers.BatchNormalization(name="mid_bn")(x)
    y = keras.layers.ReLU(name="mid_relu")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", name="top")(y)
    x = keras.layers.ReLU(name="top_relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(images, x, name="tiny")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    normal = rng.uniform(0.3, 0.7, size=(40, 16, 16, 3)).astype(np.float32)
    normal[:, :8] *= 0.5  # a shared structure: darker top half
    odd = rng.uniform(0, 1, size=(10, 16, 16, 3)).astype(np.float32)
    return normal, odd


def _detector(**kwargs):
    options = dict(layer=("mid_relu", "top_relu"), frozen_until="stem_relu", epochs=4,
                   learning_rate=0.01, clipnorm=0.1, train_batch_size=8,
                   validation_fraction=0.0, contamination=0.1, batch_size=16)
    options.update(kwargs)
    return PANDAAnomalyDetector(_tiny_backbone(), **options)


def test_compactness_loss_known_value():
    features = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    center = np.array([0.5, 0.5], np.float32)
    assert float(compactness_loss(features, center)) == pytest.approx(0.5)


def test_untrained_top_gives_the_frozen_knn_features(images):
    """Before training, maps -> top -> pooled features equal the frozen
    detectors' multi-level, flip-averaged features."""
    normal, _ = images
    panda = _detector()
    knn = KNNAnomalyDetector(_tiny_backbone(), layer=("mid_relu", "top_relu"), batch_size=16)
    maps = panda.extract_features(normal)
    assert maps.shape == (40, 2 * 8 * 8 * 8)  # two views of the 8x8x8 stem maps
    panda._check_params()
    from tfunsup.anomaly.panda_anomaly_detector import feature_encoder

    encoder = feature_encoder(panda._top, panda._map_shape, 2)
    np.testing.assert_allclose(encoder.predict(maps, verbose=0), knn.extract_features(normal),
                               rtol=1e-4, atol=1e-5)


def test_training_reduces_compactness_and_is_reproducible(images):
    normal, odd = images
    detector = _detector().fit(normal)
    maps = detector.extract_features(normal)
    adapted = detector.transform_features(maps)
    after = np.mean(np.sum((adapted - detector.center_) ** 2, axis=1))
    # history_ is relative to the pretrained features' compactness (1.0).
    assert detector.history_["loss"][-1] < 0.95 * detector.history_["loss"][0]
    assert after < 0.9 * detector.loss_scale_
    assert detector.n_epochs_ == 4 and detector.best_epoch_ == 4
    again = _detector().fit(normal)
    np.testing.assert_allclose(again.score_samples(odd), detector.score_samples(odd),
                               rtol=1e-5)
    assert detector.bank_.shape == (40, 12 + 16)


def test_early_stopping_stops_and_keeps_the_best_epoch(images):
    normal, _ = images
    # No epoch improves the held-out compactness by 10: stop after patience.
    detector = _detector(epochs=20, validation_fraction=0.2, patience=1, min_delta=10.0)
    detector.fit(normal)
    assert detector.n_epochs_ == 2 and detector.best_epoch_ == 1
    assert len(detector.history_["val_loss"]) == 2
    assert detector.bank_.shape[0] == 40  # held-out normal images join the bank


def test_export_reload_gives_the_same_scores(images, tmp_path):
    normal, odd = images
    detector = _detector(epochs=2).fit(normal)
    queries = np.concatenate([normal[:5], odd])
    scores = detector.score_samples(queries)
    path = detector.export(tmp_path / "panda")
    loaded = tf.saved_model.load(str(path))
    served = loaded.serve(tf.constant(queries))
    np.testing.assert_allclose(served["scores"].numpy(), scores, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(served["is_anomaly"].numpy(),
                                  (scores > detector.threshold_).astype(int))


def test_not_fitted():
    with pytest.raises(NotFittedError):
        _detector().score_samples(np.zeros((2, 16, 16, 3), np.float32))
    with pytest.raises(NotFittedError):
        _detector().transform_features(np.zeros((2, 1024), np.float32))


@pytest.mark.parametrize("kwargs,message", [
    ({"epochs": 0}, "epochs"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"momentum": 1.0}, "momentum"),
    ({"clipnorm": -1.0}, "clipnorm"),
    ({"validation_fraction": 0.5}, "validation_fraction"),
    ({"patience": 0}, "patience"),
    ({"seed": 1.5}, "seed"),
    ({"frozen_until": "no_such_layer"}, "frozen_until"),
    ({"layer": "stem", "frozen_until": "mid_relu"}, "depend only on frozen_until"),
])
def test_bad_arguments_are_named(images, kwargs, message):
    normal, _ = images
    with pytest.raises(ValueError, match=message):
        _detector(**kwargs).fit(normal)


def test_maps_of_the_wrong_width_are_refused():
    detector = _detector()
    detector._feature_model(3)
    with pytest.raises(ValueError, match="Expected maps of 1024 values"):
        detector.fit_features(np.zeros((10, 100), np.float32))


def test_compactness_model_round_trips_its_config():
    encoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model = CompactnessModel(encoder, np.array([1.0, 2.0], np.float32), loss_scale=2.0)
    clone = CompactnessModel.from_config(model.get_config())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone.center), [1.0, 2.0])
    assert clone.loss_scale == 2.0


def test_default_frozen_layer():
    assert default_frozen_layer("keras:MobileNetV2", None) == "block_13_project_BN"
    assert default_frozen_layer("keras:MobileNetV2", "block_13_expand_relu") == "block_12_add"
    assert default_frozen_layer("keras:ResNet50", None) is None


def test_split_backbone_of_a_loaded_model():
    from tfunsup.anomaly.panda_anomaly_detector import split_backbone

    lower, top = split_backbone(load_backbone(_tiny_backbone()), "stem_relu", "top_relu")
    maps = lower(np.zeros((1, 16, 16, 3), np.float32))
    assert tuple(maps.shape) == (1, 8, 8, 8)
    features = top(maps)
    features = features[0] if isinstance(features, (list, tuple)) else features
    assert tuple(features.shape) == (1, 4, 4, 16)
