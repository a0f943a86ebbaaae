"""Every backbone spec kind, offline, with SavedModels the tests export."""

import hashlib
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfunsup.backbones import BackboneUnavailableError, HubLayer, load_backbone
from tfunsup.data import ImageSpec
from tfunsup.source import export_feature_vector

RNG = np.random.default_rng(0)
IMAGES = RNG.random((16, 28, 28, 1)).astype(np.float32)


def _small_feature_model():
    keras.utils.set_random_seed(0)
    images = keras.Input((28, 28, 1), name="images")
    x = keras.layers.Conv2D(4, 3, activation="relu")(images)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    features = keras.layers.Dense(6, name="features")(x)
    return keras.Model(images, features)


@pytest.fixture(scope="module")
def hub_style_dir(tmp_path_factory):
    """A TF Hub TF2 feature-vector SavedModel (callable with `training`)."""
    model = _small_feature_model()
    path = tmp_path_factory.mktemp("hub") / "features"
    export_feature_vector(model, path, ImageSpec(28, 28, 1, content_fraction=20 / 28))
    return path, model


@pytest.fixture(scope="module")
def keras_export_dir(tmp_path_factory):
    """A Keras 3 `model.export()` SavedModel (endpoint `serve`)."""
    model = _small_feature_model()
    path = tmp_path_factory.mktemp("export") / "features"
    model.export(str(path), verbose=False)
    return path, model


@pytest.fixture(scope="module")
def signature_dir(tmp_path_factory):
    """A hand-built SavedModel reachable only through a named signature."""
    kernel = tf.Variable(RNG.random((28 * 28, 5)).astype(np.float32))
    module = tf.Module()
    module.kernel = kernel

    @tf.function(input_signature=[tf.TensorSpec((None, 28, 28, 1), tf.float32)])
    def features(images):
        return {"feature_vector": tf.matmul(tf.reshape(images, (-1, 28 * 28)), kernel),
                "logits": tf.zeros((tf.shape(images)[0], 2))}

    path = tmp_path_factory.mktemp("signature") / "module"
    tf.saved_model.save(module, str(path), signatures={"embed": features})
    return path, kernel


def test_hub_style_saved_model_matches_the_keras_model(hub_style_dir):
    path, model = hub_style_dir
    backbone = load_backbone(str(path))
    assert backbone.image_spec == ImageSpec(28, 28, 1, content_fraction=20 / 28)
    assert backbone.output_shape == (None, 6)
    np.testing.assert_allclose(backbone.predict(IMAGES, verbose=0),
                               model.predict(IMAGES, verbose=0), atol=1e-5)
    # Each weight is stored once (plus tf.train.Checkpoint's save counter).
    shapes = tf.train.load_checkpoint(str(path / "variables" / "variables")) \
        .get_variable_to_shape_map()
    stored = sum(int(np.prod(shape)) for key, shape in shapes.items()
                 if not key.startswith(("_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter/")))
    assert stored == model.count_params()


def test_keras_export_saved_model(keras_export_dir):
    path, model = keras_export_dir
    backbone = load_backbone(str(path))
    assert backbone.image_spec.shape == (28, 28, 1)  # read from the traced signature
    np.testing.assert_allclose(backbone(IMAGES), model(IMAGES), atol=1e-5)


def test_named_signature_and_output_key(signature_dir):
    path, kernel = signature_dir
    with pytest.raises(ValueError, match="several outputs"):
        load_backbone(str(path), signature="embed")
    backbone = load_backbone(str(path), signature="embed", output_key="feature_vector")
    expected = IMAGES.reshape(16, -1) @ kernel.numpy()
    np.testing.assert_allclose(backbone(IMAGES), expected, rtol=1e-4)
    with pytest.raises(ValueError, match="no signature 'nope'"):
        load_backbone(str(path), signature="nope")


def test_frozen_and_trainable_weights(hub_style_dir):
    path, _ = hub_style_dir
    assert load_backbone(str(path)).trainable_weights == []
    trainable = load_backbone(str(path), trainable=True)
    # conv kernel+bias, BN gamma+beta, dense kernel+bias; BN moving stats stay frozen.
    assert len(trainable.trainable_weights) == 6
    assert len(trainable.non_trainable_weights) == 2


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fine_tune_in_functional_model_then_export(hub_style_dir, tmp_path, jit_compile):
    path, _ = hub_style_dir
    backbone = load_backbone(str(path), trainable=True)
    images = keras.Input((28, 28, 1), name="images")
    outputs = keras.layers.Dense(3, activation="softmax")(backbone(images))
    model = keras.Model(images, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  jit_compile=jit_compile)
    before = [w.numpy().copy() for w in backbone.trainable_weights]
    model.fit(IMAGES, np.arange(16) % 3, epochs=2, batch_size=8, verbose=0)
    after = [w.numpy() for w in backbone.trainable_weights]
    assert all(not np.allclose(b, a) for b, a in zip(before, after)), "backbone not trained"

    model.export(str(tmp_path / "exported"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "exported"))
    np.testing.assert_allclose(reloaded.serve(IMAGES).numpy(),
                               model.predict(IMAGES, verbose=0), atol=1e-5)


def test_frozen_backbone_is_not_trained(hub_style_dir):
    path, _ = hub_style_dir
    backbone = load_backbone(str(path))
    model = keras.Sequential([keras.Input((28, 28, 1)), backbone, keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    before = [w.numpy().copy() for w in backbone.weights]
    model.fit(IMAGES, np.zeros((16, 2)), epochs=1, verbose=0)
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, backbone.weights))


def test_keras_round_trip_of_hub_layer(hub_style_dir, tmp_path):
    path, _ = hub_style_dir
    images = keras.Input((28, 28, 1), name="images")
    model = keras.Model(images, HubLayer(str(path))(images))
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(restored(IMAGES), model(IMAGES), atol=1e-6)


def test_hub_url_is_read_from_a_filled_cache(hub_style_dir, tmp_path, monkeypatch):
    path, model = hub_style_dir
    handle = "https://tfhub.dev/tfunsup-test/feature_vector/1"
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path))
    shutil.copytree(path, tmp_path / hashlib.sha1(handle.encode()).hexdigest())
    backbone = load_backbone(handle)
    np.testing.assert_allclose(backbone(IMAGES), model(IMAGES), atol=1e-5)


def test_hub_url_offline_names_handle_and_cache(tmp_path, monkeypatch):
    import tensorflow_hub as hub

    def offline(handle):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(hub, "resolve", offline)
    with pytest.raises(BackboneUnavailableError,
                       match="https://tfhub.dev/x/y/1.*network.*TFHUB_CACHE_DIR"):
        load_backbone("https://tfhub.dev/x/y/1")


MODEL_LIST = [  # (spec, image_size, feature_dim)
    ("keras:MobileNetV3Small", (32, 32), 576),
    ("keras:ResNet50", (32, 32), 2048),
]


@pytest.mark.parametrize("spec, image_size, feature_dim", MODEL_LIST)
def test_keras_applications_random_init(spec, image_size, feature_dim):
    backbone = load_backbone(spec, weights=None, image_size=image_size)
    assert backbone.image_spec.shape == (*image_size, 3)
    assert backbone.predict(np.zeros((2, *image_size, 3), np.float32),
                            verbose=0).shape == (2, feature_dim)


def test_keras_application_weights_offline(monkeypatch):
    def no_network(**kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...")

    monkeypatch.setattr(keras.applications, "MobileNetV2", no_network)
    with pytest.raises(BackboneUnavailableError, match="keras:MobileNetV2.*network"):
        load_backbone("keras:MobileNetV2", image_size=(32, 32))


def test_in_memory_model_and_rank4_outputs_are_pooled():
    images = keras.Input((12, 12, 3))
    model = keras.Model(images, keras.layers.Conv2D(5, 3)(images))
    backbone = load_backbone(model)
    assert backbone.image_spec.shape == (12, 12, 3)
    assert backbone.output_shape == (None, 5)


@pytest.mark.parametrize("spec, message", [
    ("keras:NoSuchNet", "Unknown backbone spec 'keras:NoSuchNet'"),
    ("resnet", "Unknown backbone spec 'resnet'"),
    (42, "Unknown backbone spec 42"),
])
def test_unknown_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        load_backbone(spec)


def test_folder_without_saved_model(tmp_path):
    with pytest.raises(ValueError, match="holds no saved_model.pb"):
        load_backbone(str(tmp_path))


def test_inception_needs_a_larger_input():
    with pytest.raises(ValueError, match="image_size >= 75"):
        load_backbone("keras:InceptionV3", weights=None, image_size=(32, 32))


def test_fit_under_two_replica_mirrored_strategy(hub_style_dir, two_cpu_strategy):
    path, _ = hub_style_dir
    with two_cpu_strategy.scope():
        backbone = load_backbone(str(path), trainable=True)
        images = keras.Input((28, 28, 1), name="images")
        model = keras.Model(images, keras.layers.Dense(2)(backbone(images)))
        model.compile(optimizer="adam", loss="mse")
    before = backbone.trainable_weights[0].numpy().copy()
    model.fit(IMAGES, np.ones((16, 2)), epochs=1, batch_size=8, verbose=0)
    assert not np.allclose(before, backbone.trainable_weights[0].numpy())


def test_flip_averaged_is_the_mean_of_both_orientations():
    from tfunsup.backbones import flip_averaged

    images = keras.Input((8, 8, 3))
    core = keras.Model(images, keras.layers.Flatten()(keras.layers.Conv2D(
        2, 3, kernel_initializer=keras.initializers.GlorotUniform(0))(images)))
    backbone = load_backbone(core)
    wrapped = flip_averaged(backbone)
    x = np.random.default_rng(0).uniform(size=(4, 8, 8, 3)).astype(np.float32)
    expected = (backbone(x).numpy() + backbone(x[:, :, ::-1]).numpy()) / 2
    np.testing.assert_allclose(wrapped(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(backbone(x).numpy(), expected)  # the flip changes features
    assert wrapped.image_spec == backbone.image_spec
    assert wrapped.spec_name.endswith(",flip_average")
    assert wrapped.passes_per_image == 2  # extract_features halves its default batch
    assert len(wrapped.weights) == len(backbone.weights)


def test_sizes_without_keras_weights_build_shape_free():
    # 144 x 144 has no MobileNetV2 weights of its own: the application is
    # built shape-free (bottom/right padding at odd sizes, as in training at
    # 224), while the wrapper still takes 144 x 144 images.
    backbone = load_backbone("keras:MobileNetV2,alpha=0.35", image_size=(144, 144),
                             weights=None)
    inner = [layer for layer in backbone.layers if isinstance(layer, keras.Model)][0]
    assert tuple(inner.inputs[0].shape[1:3]) == (None, None)
    assert backbone.image_spec.height == 144
    assert backbone(np.zeros((1, 144, 144, 3), np.float32)).shape == (1, 1280)
    native = load_backbone("keras:MobileNetV2,alpha=0.35", weights=None)
    inner = [layer for layer in native.layers if isinstance(layer, keras.Model)][0]
    assert tuple(inner.inputs[0].shape[1:3]) == (224, 224)


def test_tiny_photos_default_to_144_and_digits_keep_their_size():
    from tfunsup.backbones.defaults import default_flip_average, default_image_size
    from tfunsup.data.datasets import ImageSummary

    cifar = ImageSummary(32, 32, 3, greyscale=False)
    photo = ImageSummary(480, 640, 3, greyscale=False)
    digit = ImageSummary(28, 28, 1, greyscale=True)
    assert default_image_size(cifar) == (144, 144)
    assert default_image_size(photo) is None and default_image_size(digit) is None
    assert default_flip_average(cifar) and default_flip_average(photo)
    assert not default_flip_average(digit)


def test_default_feature_layers_follow_the_images_and_only_mobilenet_v2():
    from tfunsup.backbones.defaults import (
        DIGIT_LAYER,
        TINY_PHOTO_LAYERS,
        default_feature_layers,
    )
    from tfunsup.data.datasets import ImageSummary

    cifar = ImageSummary(32, 32, 3, greyscale=False)
    photo = ImageSummary(480, 640, 3, greyscale=False)
    digit = ImageSummary(28, 28, 1, greyscale=True)
    assert default_feature_layers("keras:MobileNetV2", digit) == DIGIT_LAYER
    assert default_feature_layers("keras:MobileNetV2,alpha=0.35", cifar) == TINY_PHOTO_LAYERS
    assert default_feature_layers("keras:MobileNetV2", photo) is None
    assert default_feature_layers("keras:ResNet50", cifar) is None
    # The named layers exist in both MobileNetV2 widths the library loads.
    for alpha in (1.0, 0.35):
        names = {layer.name for layer in keras.applications.MobileNetV2(
            include_top=False, weights=None, alpha=alpha, input_shape=(96, 96, 3)).layers}
        assert set(TINY_PHOTO_LAYERS) | {DIGIT_LAYER} <= names
