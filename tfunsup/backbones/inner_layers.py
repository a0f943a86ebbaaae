"""Reaching the named inner layers of a backbone.

A `load_backbone` model (and the `token_encoder` of a keras-hub text
encoder) wraps the pretrained network as one nested functional
`keras.Model`. Cutting the backbone at inner layers
(`tfunsup.anomaly.feature_anomaly_detector.truncated_backbone`,
`tfunsup.anomaly.panda_anomaly_detector.split_backbone`,
`tfunsup.backbones.text_encoder.truncated_text_encoder`) starts by finding
that nested model; the functions here do it once, with one error message.
"""

import keras


def layer_names(layer, optional=False):
    """`layer` (a layer name or a sequence of names) as a list of names.

    Args:
        layer: str, or a non-empty sequence of str; or None when `optional`.
        optional: whether None is accepted (returned as None: no inner
            layer, the model's own outputs).

    Returns:
        list of str, or None.

    Raises:
        ValueError: `layer` is empty or holds something else than strings.
    """
    if optional and layer is None:
        return None
    try:
        names = [layer] if isinstance(layer, str) else list(layer)
    except TypeError:  # not a sequence, e.g. None or a layer index
        names = []
    if not names or not all(isinstance(name, str) for name in names):
        allowed = "None, a layer name" if optional else "a layer name"
        raise ValueError(f"Expected layer to be {allowed} or a non-empty sequence of "
                         f"names. Received: layer={layer!r}")
    return names


def find_inner_model(model, names, *, received, spec_name=None):
    """The nested functional model of `model` holding every layer in `names`.

    Args:
        model: a functional `keras.Model` among whose layers is a nested
            `keras.Model` (a `load_backbone` model wrapping a Keras
            application, or a text encoder's `token_encoder` wrapping the
            keras-hub backbone).
        names: sequence of str, layer names that must all belong to one
            nested model.
        received: dict of the caller's arguments holding the names, e.g.
            `{"layer": layer}`, repeated in the error message.
        spec_name: the backbone's name in the error message (default:
            `model.spec_name`, else `model.name`).

    Returns:
        The nested `keras.Model` (the first of `model.layers` that has them).

    Raises:
        ValueError: no nested model has all the names (e.g. a TF Hub or
            SavedModel backbone, whose layers are not Keras layers).
    """
    wanted = set(names)
    for inner in model.layers:
        if isinstance(inner, keras.Model) and wanted <= {l.name for l in inner.layers}:
            return inner
    spec_name = spec_name or getattr(model, "spec_name", model.name)
    arguments = " and ".join(received)
    values = ", ".join(f"{key}={value!r}" for key, value in received.items())
    raise ValueError(f"Expected {arguments} to name layers of a Keras functional model "
                     f"inside backbone '{spec_name}'. Received: {values}, not all found.")


def call_through(backbone, inner, replacement):
    """Rebuilds `backbone`'s graph up to `inner`, calling `replacement` in its place.

    The layers of `backbone` before `inner` (e.g. `ApplicationPreprocessing`)
    are applied to a fresh input, then `replacement` (a model with the
    inputs of `inner`, e.g. `inner` cut at some of its layers) instead of
    `inner`; the layers after `inner` are dropped.

    Args:
        backbone: a functional `keras.Model` whose layers run in sequence
            and include `inner` (a `load_backbone` image model).
        inner: the nested model, from `find_inner_model`.
        replacement: a callable taking what `inner` takes.

    Returns:
        `(images, outputs)`: the new `keras.Input` named `"images"`, of the
        backbone's input shape, and `replacement`'s outputs on it.
    """
    images = keras.Input(shape=backbone.input_shape[1:], name="images")
    x = images
    for step in backbone.layers[1:]:
        if step is inner:
            return images, replacement(x)
        x = step(x)
    raise ValueError(f"Expected inner to be a layer of backbone '{backbone.name}'. "
                     f"Received: inner={inner.name!r}")
