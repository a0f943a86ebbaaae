"""The network every adaptation method trains: backbone -> bottleneck -> classifier.

Source-only, DANN and SHOT share it, so their numbers compare methods, not
architectures. Building blocks only (no loss): the methods add their
objectives in `dann_model.py` and `shot_model.py`.
"""

import keras

from tfunsup.backbones.load_backbone import load_backbone
from tfunsup.backbones.log_mel_cnn import build_log_mel_cnn
from tfunsup.backbones.small_cnn import build_small_cnn, parse_small_cnn_spec
from tfunsup.data.audio_spec import AudioSpec
from tfunsup.data.image_spec import ImageSpec
from tfunsup.layers.random_low_resolution import RandomLowResolution

# MNIST's framing (a 20x20 digit centred in 28x28): the common frame both
# domains are brought to for the default small CNN.
DEFAULT_IMAGE_SPEC = ImageSpec(28, 28, channels=1, content_fraction=20 / 28)


def build_source_augmentation(seed=None):
    """Source-side augmentation used in training only (no target data).

    `RandomLowResolution` (area-downsample to 0.4x and back, half of the
    images) makes MNIST strokes look like coarsely sampled digits;
    `RandomTranslation` (up to 10 %) covers a looser framing.

    Args:
        seed: int seed.

    Returns:
        A `keras.Sequential` named `"source_augmentation"`, identity at inference.
    """
    return keras.Sequential([
        RandomLowResolution(factor=0.4, rate=0.5, seed=seed),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed),
    ], name="source_augmentation")


def build_network(backbone, n_classes, *, image_spec=None, weights="imagenet",
                  bottleneck_dim=128, seed=None):
    """Builds backbone -> bottleneck (dense + batch norm) -> linear classifier.

    Args:
        backbone: None or `"small_cnn"` for
            `tfunsup.backbones.small_cnn.build_small_cnn` (images; a wider one
            with `"small_cnn,width=N"`, N times the filters and features) or
            `tfunsup.backbones.log_mel_cnn.build_log_mel_cnn` (with an
            `AudioSpec`), a keras.Model over waveforms `(batch, samples)`
            (cloned), or any spec of
            `tfunsup.backbones.load_backbone` (TF Hub handle, SavedModel
            directory, `"keras:<ApplicationName>"`, keras.Model; an in-memory
            model is cloned, so adapting leaves the caller's model as it is).
            Its weights are trainable.
        n_classes: int >= 2.
        image_spec: `ImageSpec` of the network input (the common frame);
            None takes `DEFAULT_IMAGE_SPEC` for the small CNN, else the
            backbone's own. An `AudioSpec` makes it a waveform network.
        weights: `"imagenet"` or None, for `keras:` specs.
        bottleneck_dim: int >= 1, size of the feature space `z` the domain
            discriminator (DANN) and the clustering (SHOT) work in.
        seed: int seed of the small CNN's dropout.

    Returns:
        `(network, image_spec)`: a functional `keras.Model` named
        `"adaptation_network"` mapping images `(batch, *image_spec.shape)`
        in [0, 1] (or waveforms `(batch, n_samples)` in [-1, 1]) to logits
        `(batch, n_classes)`, made of a nested model
        `"feature_extractor"` (inputs -> `(batch, bottleneck_dim)`) and a
        dense layer `"classifier"`; and the resolved `ImageSpec` (or
        `AudioSpec`).

    Raises:
        ValueError: `image_spec` does not fit a fixed-size backbone, or an
            audio backbone or spec without the other's match.
    """
    if isinstance(image_spec, AudioSpec) or takes_waveforms(backbone):
        backbone_model, spec = _audio_backbone(backbone, image_spec, seed)
        return _classifier_network(backbone_model, spec, n_classes, bottleneck_dim), spec
    width = 1 if backbone is None else parse_small_cnn_spec(backbone)
    if width is not None:
        spec = image_spec or DEFAULT_IMAGE_SPEC
        # A wider CNN gets a feature layer as much wider.
        backbone_model = load_backbone(
            build_small_cnn(spec.shape, feature_dim=128 * width, seed=seed, width=width),
            trainable=True)
    else:
        if isinstance(backbone, keras.Model):
            original = backbone
            backbone = keras.models.clone_model(original)
            backbone.set_weights(original.get_weights())
        size = (image_spec.height, image_spec.width) if image_spec is not None else None
        backbone_model = load_backbone(backbone, trainable=True, image_size=size,
                                       weights=weights)
        spec = image_spec or backbone_model.image_spec
    if tuple(backbone_model.inputs[0].shape[1:3]) != (spec.height, spec.width):
        raise ValueError(
            f"Expected image_spec of the backbone's input size "
            f"{tuple(backbone_model.inputs[0].shape[1:3])}. Received: image_spec={spec}")
    return _classifier_network(backbone_model, spec, n_classes, bottleneck_dim), spec


def takes_waveforms(backbone):
    """Whether `backbone` is a keras.Model over `(batch, samples)` waveforms."""
    return (isinstance(backbone, keras.Model) and bool(backbone.inputs)
            and len(backbone.inputs[0].shape) == 2)


def _audio_backbone(backbone, spec, seed):
    """`(backbone model, AudioSpec)` for waveform inputs: the log-mel CNN for
    `backbone=None`, else a clone of the given waveform model."""
    if backbone is None:
        if not isinstance(spec, AudioSpec):
            raise ValueError(f"Expected an AudioSpec for the default audio backbone. "
                             f"Received: image_spec={spec!r}")
        return build_log_mel_cnn(spec, seed=seed), spec
    if not takes_waveforms(backbone):
        raise ValueError(
            "Expected a backbone keras.Model over waveforms `(batch, samples)` with an "
            f"AudioSpec. Received: backbone={getattr(backbone, 'name', backbone)!r}, "
            f"image_spec={spec!r}")
    length = backbone.inputs[0].shape[1]
    spec = spec if spec is not None else getattr(backbone, "audio_spec", None)
    if spec is None:
        raise ValueError(f"Expected image_spec=AudioSpec(n_samples, sample_rate) for the "
                         f"waveform backbone '{backbone.name}'. Received: None")
    if length is not None and length != spec.n_samples:
        raise ValueError(f"Expected an AudioSpec with the backbone's input length {length}. "
                         f"Received: image_spec={spec}")
    clone = keras.models.clone_model(backbone)
    clone.set_weights(backbone.get_weights())
    clone.trainable = True
    return clone, spec


def _classifier_network(backbone_model, spec, n_classes, bottleneck_dim):
    """backbone -> bottleneck (dense + batch norm) -> classifier, as in `build_network`."""
    images = keras.Input(shape=spec.shape, name="images")
    x = backbone_model(images)
    x = keras.layers.Dense(bottleneck_dim, name="bottleneck")(x)
    features = keras.layers.BatchNormalization(name="bottleneck_norm")(x)
    feature_extractor = keras.Model(images, features, name="feature_extractor")

    inputs = keras.Input(shape=spec.shape, name="images")
    logits = keras.layers.Dense(n_classes, name="classifier")(feature_extractor(inputs))
    return keras.Model(inputs, logits, name="adaptation_network")


def build_domain_discriminator(input_dim, units=256, dropout=0.5):
    """DANN's domain discriminator: two ReLU layers with dropout, one logit.

    Dropout keeps the discriminator from winning the adversarial game too
    early on a few domain cues, which with gradient reversal would push the
    features around erratically (measured: it turned a seed where DANN fell
    below source-only into a gain; see the README).

    Args:
        input_dim: int, feature size.
        units: int >= 1, width of the hidden layers.
        dropout: float in [0, 1), dropout rate after each hidden layer.

    Returns:
        A functional `keras.Model` named `"domain_discriminator"` mapping
        `(batch, input_dim)` features to `(batch, 1)` logits of "target".
    """
    features = keras.Input(shape=(input_dim,), name="features")
    x = keras.layers.Dense(units, activation="relu")(features)
    x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Dense(units, activation="relu")(x)
    x = keras.layers.Dropout(dropout)(x)
    logits = keras.layers.Dense(1)(x)
    return keras.Model(features, logits, name="domain_discriminator")
