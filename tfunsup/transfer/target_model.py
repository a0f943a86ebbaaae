"""A target model from a source model: shared layers plus task-specific layers."""

import numbers

import keras

from tfunsup.backbones.load_backbone import load_backbone
from tfunsup.layers.to_image_spec import ToImageSpec


def _layers_of(model):
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def _check_count(name, value, maximum=None):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1 or (
            maximum is not None and value > maximum):
        bound = f" and <= {maximum}" if maximum is not None else ""
        raise ValueError(f"Expected {name} >= 1{bound}. Received: {name}={value!r}")
    return int(value)


def set_trainable(layer, value):
    """`layer.trainable = value` for the layer and all its sublayers.

    Also applies when `layer` already reads `value`: the TF backend skips
    assigning an attribute the value it already has, which would leave
    sublayers frozen inside a layer that reads trainable.
    """
    keras.layers.Layer.trainable.fset(layer, bool(value))
    for sublayer in getattr(layer, "layers", ()):
        set_trainable(sublayer, value)


def shared_part(source, shared_layers=None):
    """The first `shared_layers` layers of a source `keras.Model`, as a model.

    Args:
        source: a built functional or Sequential `keras.Model` taking images.
        shared_layers: int >= 1, number of layers to reuse (input layer not
            counted), or None for the whole model.

    Returns:
        A `keras.Model` from the source's input to that layer's output,
        sharing the source's weights.

    Raises:
        ValueError: `shared_layers` out of range, or a subclassed model
            whose layers have no symbolic outputs.
    """
    layers = _layers_of(source)
    shared_layers = _check_count("shared_layers", shared_layers, len(layers))
    if shared_layers is None or shared_layers == len(layers):
        return source
    try:
        return keras.Model(source.inputs, layers[shared_layers - 1].output,
                           name=f"{source.name}_shared")
    except (AttributeError, ValueError) as error:
        raise ValueError(
            f"Cannot take the first {shared_layers} layers of model '{source.name}' "
            f"(a functional or Sequential model is needed): {error}") from error


def clone_with_weights(model):
    """A copy of `model` with its own variables set to `model`'s values."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def build_target_model(backbone, n_classes, *, shared_layers=None, head_units=(),
                       dropout=0.0, input_shape=None, image_size=None, weights="imagenet",
                       seed=None):
    """Builds a target classifier reusing a source model's layers.

    The **shared layers** are the source model (or its first `shared_layers`
    layers) loaded through `tfunsup.backbones.load_backbone`, frozen; the
    **task-specific layers** are new dense layers and a softmax over
    `n_classes`. The shared part is called with `training=False` (Keras'
    transfer-learning recipe: batch norm stays in inference mode, also
    when fine-tuned later).

    Args:
        backbone: any backbone spec of `load_backbone`: a TF Hub handle, a
            SavedModel folder, `"keras:<Application>"`, or an in-memory
            `keras.Model` (which is cloned, never modified). SavedModels and
            hub handles are shared whole (their layers are not addressable).
        n_classes: int >= 2.
        shared_layers: int or None; with a `keras.Model` backbone, reuse only
            its first `shared_layers` layers (None: all of them).
        head_units: sizes of hidden ReLU layers of the task-specific head
            (empty: a linear softmax classifier, i.e. a linear probe).
        dropout: float in [0, 1), dropout before each head layer.
        input_shape: `(height, width, channels)` of the target images, or
            None for the backbone's input; images are resized and framed
            to the backbone's `ImageSpec` inside the model.
        image_size: backbone input `(height, width)`, None for its own.
        weights: `"imagenet"` or None, for `keras:` backbones.
        seed: int seed of the dropout.

    Returns:
        `(model, shared)`: the target `keras.Model` (input `"images"`,
        output `(batch, n_classes)` probabilities) and the shared-layers
        model inside it (frozen; unfreeze it, or its top layers, to
        fine-tune).

    Raises:
        ValueError: on a bad argument or backbone spec.
        BackboneUnavailableError: a handle or weights that need the network.

    Reference:
        Yosinski et al. How transferable are features in deep neural
        networks? NeurIPS 2014.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 2:
        raise ValueError(f"Expected n_classes >= 2. Received: n_classes={n_classes!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"Expected dropout in [0, 1). Received: dropout={dropout!r}")
    head_units = tuple(head_units)
    for units in head_units:
        _check_count("head_units", units)
    if isinstance(backbone, keras.Model):
        backbone = clone_with_weights(shared_part(backbone, shared_layers))
    elif shared_layers is not None:
        raise ValueError(
            "shared_layers needs an in-memory keras.Model backbone; SavedModels and "
            f"hub handles are shared whole. Received: shared_layers={shared_layers}")
    shared = load_backbone(backbone, trainable=False, image_size=image_size, weights=weights)
    set_trainable(shared, False)
    spec = shared.image_spec
    if input_shape is None:
        input_shape = spec.shape
    images = keras.Input(shape=tuple(input_shape), name="images")
    x = images
    if tuple(input_shape) != tuple(spec.shape):
        x = ToImageSpec(spec.height, spec.width, spec.channels, spec.content_fraction,
                        name="to_image_spec")(x)
    x = shared(x, training=False)
    for i, units in enumerate(head_units):
        if dropout:
            x = keras.layers.Dropout(dropout, seed=seed, name=f"dropout_{i}")(x)
        x = keras.layers.Dense(units, activation="relu", name=f"head_{i}")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed, name="dropout_out")(x)
    probabilities = keras.layers.Dense(n_classes, activation="softmax", name="classes")(x)
    return keras.Model(images, probabilities, name="target_model"), shared


def unfreeze_top(shared, n_layers=None):
    """Makes the top `n_layers` layers of the shared part trainable (None: all).

    Args:
        shared: the shared-layers model from `build_target_model`.
        n_layers: int >= 1 or None. Counted from the output, inside the
            source model; only for `keras.Model` sources (a SavedModel is
            one layer, unfrozen whole).

    Returns:
        The number of trainable weights after unfreezing.

    Raises:
        ValueError: `n_layers` given for a SavedModel / hub backbone, or out
            of range.
    """
    if n_layers is None:
        set_trainable(shared, True)
        return len(shared.trainable_weights)
    core = [layer for layer in _layers_of(shared)
            if not isinstance(layer, keras.layers.GlobalAveragePooling2D)
            and layer.__class__.__name__ != "ApplicationPreprocessing"]
    if len(core) != 1 or not isinstance(core[0], keras.Model):
        raise ValueError(
            "fine_tune_layers needs a keras.Model backbone; a SavedModel or hub backbone "
            f"is fine-tuned whole (fine_tune_layers=None). Received: fine_tune_layers={n_layers}")
    source = core[0]
    layers = _layers_of(source)
    n_layers = _check_count("fine_tune_layers", n_layers, len(layers))
    set_trainable(shared, True)
    for layer in layers[:len(layers) - n_layers]:
        set_trainable(layer, False)
    return len(shared.trainable_weights)
