"""One entry point from a backbone spec to a Keras 3 feature extractor."""

import inspect
import os
from pathlib import Path

import keras

from tfunsup.backbones.application_preprocessing import ApplicationPreprocessing
from tfunsup.backbones.hub_layer import BackboneUnavailableError, HubLayer
from tfunsup.backbones.text_encoder import (
    is_text_preset,
    load_text_encoder,
    text_encoder_from_hub_layer,
)
from tfunsup.data.image_spec import ImageSpec

DEFAULT_INPUT_SIZE = 224
# Applications whose weights need a larger input than 32x32 (their minimum).
_MIN_INPUT_SIZE = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71}


def application_names():
    """Names of `keras.applications` constructors usable as `keras:<Name>`."""
    return sorted(name for name, obj in vars(keras.applications).items()
                  if inspect.isfunction(obj) and name[0].isupper())


def _is_url(spec):
    return spec.startswith(("http://", "https://", "gs://"))


def load_backbone(spec, *, trainable=False, image_size=None, weights="imagenet",
                  signature=None, output_key=None, sequence_length=128):
    """Builds a feature extractor from a backbone spec.

    Args:
        spec: one of
            - a TF Hub handle URL (tfhub.dev / Kaggle Models), downloaded
              into and cached in `TFHUB_CACHE_DIR`;
            - a local SavedModel directory (TF Hub feature-vector style, or
              a Keras `model.export()`); an `image_spec.json` beside
              `saved_model.pb` sets its input size and framing;
            - `"keras:<ApplicationName>"`, e.g. `"keras:MobileNetV3Small"`,
              optionally with constructor arguments after commas, e.g.
              `"keras:MobileNetV2,alpha=0.35"` (default alpha 1.0); ImageNet
              weights load through Keras' own cache (`KERAS_HOME`);
            - an in-memory `keras.Model` mapping images to features. It is
              used as is (weights shared, not copied) and its `trainable`
              flag is set to `trainable`; clone it first to keep it apart;
            - a text encoder: a keras-hub preset (local folder, `hf://`,
              `kaggle://`, `keras_hub:<name>`) or a TF Hub SavedModel taking
              strings; see `tfunsup.backbones.text_encoder`.
        trainable: whether the backbone's weights are trained (fine-tuning).
        image_size: `(height, width)` of the input; None takes the spec's own
            (from `image_spec.json` or the traced signature), else 224x224.
        weights: for `keras:` specs, `"imagenet"` or None (random init).
        signature, output_key: see `HubLayer`.
        sequence_length: tokens per text for keras-hub text encoders.

    Returns:
        A functional `keras.Model` named `"backbone"` mapping float32
        `(batch, height, width, channels)` images in [0, 1] to float32
        `(batch, feature_dim)` features; its `image_spec` attribute is the
        `ImageSpec` inputs must be brought to (see
        `tfunsup.data.to_image_spec`; ImageNet backbones centre-crop to
        the input's aspect ratio), its `spec_name` the spec string. Text
        encoders instead map a string tensor `(batch,)` to
        `(batch, feature_dim)` and have `modality = "text"` (see
        `load_text_encoder`).

    Raises:
        ValueError: an unknown spec, or a model whose output is not features.
        BackboneUnavailableError: a handle or weights that need the network.
    """
    if isinstance(spec, keras.Model):
        return _from_keras_model(spec, trainable, image_size)
    if not isinstance(spec, (str, os.PathLike)):
        raise ValueError(f"Unknown backbone spec {spec!r}: expected a string or keras.Model.")
    spec = str(spec)
    if is_text_preset(spec):
        return load_text_encoder(spec, sequence_length=sequence_length, trainable=trainable)
    if spec.startswith("keras:"):
        name, *arguments = spec[len("keras:"):].split(",")
        return _from_application(name, trainable, image_size, weights,
                                 _parse_arguments(spec, arguments))
    path = Path(spec).expanduser()
    if _is_url(spec) or (path.is_dir() and (path / "saved_model.pb").is_file()):
        return _from_saved_model(spec, trainable, image_size, signature, output_key)
    if path.is_dir():
        raise ValueError(f"Backbone directory '{spec}' holds no saved_model.pb.")
    raise ValueError(
        f"Unknown backbone spec '{spec}'. Expected a TF Hub URL, a SavedModel "
        "directory, 'keras:<ApplicationName>' or a keras.Model."
    )


def _wrap(core, spec, name_hint, preprocessing=None):
    images = keras.Input(shape=spec.shape, name="images")
    x = preprocessing(images) if preprocessing is not None else images
    features = core(x)
    if len(features.shape) == 4:
        features = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    elif len(features.shape) != 2:
        raise ValueError(
            f"Backbone '{name_hint}' outputs shape {features.shape}; expected "
            "(batch, feature_dim) or (batch, h, w, channels)."
        )
    model = keras.Model(images, features, name="backbone")
    model.image_spec = spec
    model.spec_name = name_hint
    return model


def _from_saved_model(handle, trainable, image_size, signature, output_key):
    layer = HubLayer(handle, signature=signature, output_key=output_key,
                     trainable=trainable, name="hub")
    if layer.takes_strings:
        return text_encoder_from_hub_layer(layer, handle)
    saved = ImageSpec.load(layer.module_path)
    hint = layer.input_shape_hint
    channels = saved.channels if saved else (hint[2] if hint and hint[2] else 3)
    if image_size is None:
        if saved and saved.height:
            image_size = (saved.height, saved.width)
        elif hint and hint[0] and hint[1]:
            image_size = (hint[0], hint[1])
        else:
            image_size = (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE)
    spec = ImageSpec(*image_size, channels=channels,
                     content_fraction=saved.content_fraction if saved else 1.0)
    return _wrap(layer, spec, handle)


def _parse_arguments(spec, arguments):
    """`["alpha=0.35"]` -> `{"alpha": 0.35}` (numbers, True/False, else str)."""
    parsed = {}
    for argument in arguments:
        key, sep, value = argument.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(
                f"Expected 'keras:<Name>,key=value,...'. Received: '{spec}'")
        value = value.strip()
        for convert in (int, float):
            try:
                value = convert(value)
                break
            except ValueError:
                pass
        if value in ("True", "False"):
            value = value == "True"
        parsed[key.strip()] = value
    return parsed


# Applications with ImageNet weights trained at these square sizes besides 224
# (Keras downloads e.g. mobilenet_v2_..._1.0_128_no_top.h5 for 128).
_SIZE_SPECIFIC_WEIGHTS = {"MobileNet": (128, 160, 192), "MobileNetV2": (96, 128, 160, 192)}


def _from_application(name, trainable, image_size, weights, arguments=None):
    constructor = getattr(keras.applications, name, None)
    if constructor is None or not inspect.isfunction(constructor):
        raise ValueError(
            f"Unknown backbone spec 'keras:{name}'. Known applications: "
            f"{', '.join(application_names())}"
        )
    height, width = image_size or (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE)
    minimum = _MIN_INPUT_SIZE.get(name, 32)
    if min(height, width) < minimum:
        raise ValueError(
            f"keras:{name} needs image_size >= {minimum}. Received: "
            f"image_size={(height, width)}"
        )
    input_shape = (height, width, 3)
    if (height, width) != (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE) and not (
            name in _SIZE_SPECIFIC_WEIGHTS and height == width
            and height in _SIZE_SPECIFIC_WEIGHTS[name]):
        # Keras has no weights for this size and loads the 224 ones. Built
        # shape-free, its strided convolutions pad bottom/right as in
        # training at 224; built for e.g. 144 x 144 they would pad
        # symmetrically where a feature map has an odd size (9 x 9 at 144),
        # shifting every later feature.
        input_shape = (None, None, 3)
    try:
        try:
            base = constructor(include_top=False, weights=weights, pooling="avg",
                               input_shape=input_shape, **(arguments or {}))
        except ValueError:
            if input_shape[0] is not None:
                raise
            # Some applications (NASNet) need a static shape with weights.
            base = constructor(include_top=False, weights=weights, pooling="avg",
                               input_shape=(height, width, 3), **(arguments or {}))
    except TypeError as error:
        raise ValueError(f"Bad arguments for keras:{name}: {error}") from error
    except Exception as error:  # keras raises a bare Exception on URL fetch failure
        if weights is None or isinstance(error, ValueError):
            raise
        raise BackboneUnavailableError(
            f"Cannot load backbone 'keras:{name}' with weights={weights!r}: "
            f"{str(error).splitlines()[0][:160]}. Downloading weights needs the "
            "network (or ~/.keras/models); pass weights=None for random init."
        ) from error
    base.trainable = trainable
    module = constructor.__module__.rsplit(".", 1)[-1]
    spec = ImageSpec(height, width, channels=3, crop_to_aspect_ratio=True)
    suffix = "".join(f",{k}={v}" for k, v in (arguments or {}).items())
    return _wrap(base, spec, f"keras:{name}{suffix}", ApplicationPreprocessing(module))


def _from_keras_model(model, trainable, image_size):
    shape = tuple(model.inputs[0].shape[1:]) if model.inputs else (None, None, 3)
    if len(shape) != 3:
        raise ValueError(
            f"Backbone model '{model.name}' takes inputs of shape {shape}; "
            "expected (height, width, channels)."
        )
    height, width = image_size or shape[:2]
    model.trainable = trainable
    spec = ImageSpec(height, width, channels=shape[2] or 3)
    return _wrap(model, spec, model.name)


def flip_averaged(backbone):
    """The backbone with horizontal-flip test-time augmentation.

    Returns a model that maps each image and its mirror image through the
    same (shared-weight) backbone and averages the two feature vectors.
    Features of photos become invariant to left-right orientation, which a
    cluster of objects or scenes should not depend on; the cost is two
    backbone passes per image. Not for digits or text, whose mirror images
    mean something else.

    Args:
        backbone: keras.Model from `load_backbone`: float32 images
            `(batch, height, width, channels)` in [0, 1] at its
            `image_spec` -> `(batch, feature_dim)`.

    Returns:
        keras.Model with the same input, output shape, `image_spec`, a
        `spec_name` ending in `",flip_average"` and `passes_per_image` 2
        (`extract_features` halves its default batch for it).
    """
    spec = backbone.image_spec
    images = keras.Input(shape=spec.shape, name="images")
    features = keras.layers.Average(name="flip_average")(
        [backbone(images, training=False),
         backbone(keras.ops.flip(images, axis=2), training=False)])
    model = keras.Model(images, features, name="flip_averaged_backbone")
    model.image_spec = spec
    model.spec_name = f"{getattr(backbone, 'spec_name', backbone.name)},flip_average"
    model.passes_per_image = 2 * getattr(backbone, "passes_per_image", 1)
    return model


__all__ = ["BackboneUnavailableError", "application_names", "flip_averaged", "load_backbone"]

