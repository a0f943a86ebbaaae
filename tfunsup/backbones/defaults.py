"""Which backbone fits which data: the default choice and a mismatch check."""

IMAGENET_BACKBONE = "keras:MobileNetV2"
# The default text encoder: sentence-transformers' all-MiniLM-L6-v2 (6-layer
# BERT, 384-d), read from the offline data folder when it holds it, else
# downloaded by keras-hub from Hugging Face (Colab).
TEXT_ENCODER_PRESET = "hf://sentence-transformers/all-MiniLM-L6-v2"
TEXT_ENCODER_FOLDER = ("text-encoders", "all-MiniLM-L6-v2")
# Tokens per text of the default text encoder: news articles (BBC) keep
# their first 256 tokens; shorter texts (SMS, AG News) are never padded to
# it (`encode_texts` pads each batch to its longest text).
TEXT_SEQUENCE_LENGTH = 256
# One-class detectors on texts from the default encoder: the first token's
# ([CLS]) state of MiniLM's first four transformer layers, each
# L2-normalised, concatenated. SMS spam with ham as normal, Gaussian, seeds
# 0-4: ROC-AUC 0.975 against 0.606 on the encoder's output. Chosen on that
# benchmark; new topics (AG News one-class, seed 0) are found better on the
# output (0.910 against 0.845): README, "Text anomaly detection".
TEXT_FEATURE_LAYERS = tuple(f"transformer_layer_{i}" for i in range(4))
TEXT_FEATURE_POOLING = "cls"
DIGIT_BACKBONE = "mnist5k_source"
# Images at most this many pixels a side, and grey, count as digit-like.
DIGIT_MAX_SIZE = 32
# Photos at most this many pixels a side are "tiny" (CIFAR-like) and enter
# the ImageNet backbone at TINY_PHOTO_INPUT instead of its own 224 x 224.
TINY_PHOTO_MAX_SIZE = 64
TINY_PHOTO_INPUT = (144, 144)
# MobileNetV2's last blocks are tuned to ImageNet objects; on small greyscale
# digits a mid-level layer separates the classes better (measured on MNIST-5k
# one-class, README "Anomaly detection").
DIGIT_LAYER = "block_13_expand_relu"
# On tiny photos (CIFAR's 32 x 32, fed at 144 x 144), the outputs of
# MobileNetV2's last three inverted-residual blocks (pooled, L2-normalised,
# concatenated) fit a better Gaussian than its 1,280-d head; at 224 x 224
# they do not (README, "Choosing the layers and the input size").
TINY_PHOTO_LAYERS = ("block_14_add", "block_15_add", "block_16_project_BN")


def is_digit_like(summary):
    """Small greyscale images (MNIST, USPS, scikit-learn digits).

    Args:
        summary: `tfunsup.data.ImageSummary` of the data.
    """
    return summary.greyscale and max(summary.height, summary.width) <= DIGIT_MAX_SIZE


def choose_default_backbone(summary):
    """The default backbone for data that looks like `summary`.

    Small greyscale digit-like images keep the MNIST-5k source model
    (tfunsup's own transfer source); everything else, RGB or natural
    images, gets Keras' ImageNet MobileNetV2 (alpha 1.0, 224x224).

    Args:
        summary: `tfunsup.data.ImageSummary`.

    Returns:
        `(choice, reason)`: `choice` is `DIGIT_BACKBONE` or
        `IMAGENET_BACKBONE`, `reason` a sentence saying why.
    """
    size = f"{summary.height}x{summary.width}x{summary.channels}"
    if is_digit_like(summary):
        return DIGIT_BACKBONE, (f"small greyscale images ({size}, <= {DIGIT_MAX_SIZE} px): "
                                "the MNIST-5k source model")
    kind = "greyscale" if summary.greyscale else "colour"
    height, width = default_image_size(summary) or (224, 224)
    return IMAGENET_BACKBONE, (f"{kind} images ({size}): ImageNet MobileNetV2 "
                               f"(alpha 1.0, {height}x{width})")


def default_text_encoder():
    """The default text encoder spec and why it was chosen.

    all-MiniLM-L6-v2 (Reimers & Gurevych, Sentence-BERT, EMNLP 2019;
    sentence-transformers' distilled MiniLM): the folder in the offline
    data folder (`tfunsup.data.shared.data_dir()`) when present, else its
    keras-hub preset `TEXT_ENCODER_PRESET`, which downloads from Hugging
    Face.

    Returns:
        `(spec, reason)`: spec str for `load_backbone`, reason a sentence.
    """
    from tfunsup.data.shared import data_dir

    folder = data_dir().joinpath(*TEXT_ENCODER_FOLDER)
    if (folder / "config.json").is_file():
        return str(folder), "text data: the all-MiniLM-L6-v2 sentence encoder (offline copy)"
    return TEXT_ENCODER_PRESET, "text data: the all-MiniLM-L6-v2 sentence encoder"


def default_image_size(summary):
    """Input size of the default ImageNet backbone for images like `summary`.

    Tiny photos (at most `TINY_PHOTO_MAX_SIZE` px a side, e.g. CIFAR's 32 x 32)
    are upsampled to `TINY_PHOTO_INPUT` (144 x 144, 4.5x) rather than to the
    backbone's 224 x 224 (7x), whose blur puts them further from the
    ImageNet images the backbone learned from. BiT's transfer rule
    (Kolesnikov et al. 2020, "BiT-HyperRule") likewise feeds images smaller
    than 96 x 96 at 128-160 px. Measured on CIFAR-10 test with MobileNetV2
    (README, "Choosing the input size"): the share of same-class 10 nearest
    neighbours rises from 0.552 at 224 to 0.595 at 144.

    Args:
        summary: `tfunsup.data.ImageSummary`.

    Returns:
        `(height, width)` or None for the backbone's own size.
    """
    if max(summary.height, summary.width) <= TINY_PHOTO_MAX_SIZE and not is_digit_like(summary):
        return TINY_PHOTO_INPUT
    return None


def default_flip_average(summary):
    """Whether horizontal-flip test-time augmentation suits images like
    `summary`: yes for photos and objects, no for digit-like images (a
    mirrored 2 or 7 is not a 2 or 7).

    Args:
        summary: `tfunsup.data.ImageSummary`.

    Returns:
        bool.
    """
    return not is_digit_like(summary)


def domain_mismatch(spec, summary, backbone_name):
    """A warning text when the backbone's input clearly does not fit the data.

    Flags colour photos (or images larger than 64 px) fed to a small
    greyscale model (e.g. 28x28 grey digits): colour is dropped and detail
    is shrunk away.

    Args:
        spec: the backbone's `tfunsup.data.ImageSpec`.
        summary: `tfunsup.data.ImageSummary` of the data.
        backbone_name: str, named in the message.

    Returns:
        str or None.
    """
    small_grey_model = spec.channels == 1 and (spec.height or 0) <= DIGIT_MAX_SIZE
    if not small_grey_model:
        return None
    if summary.greyscale and max(summary.height, summary.width) <= 64:
        return None
    what = "greyscale" if summary.greyscale else "RGB colour"
    return (f"Backbone '{backbone_name}' expects {spec.height}x{spec.width} grey "
            f"digit-like images, but the data are {what} images of "
            f"{summary.height}x{summary.width}x{summary.channels}: they would be shrunk "
            f"to {spec.height}x{spec.width} grey. An ImageNet backbone such as "
            f"'{IMAGENET_BACKBONE}' fits them better.")


def default_feature_layers(backbone, summary):
    """Which inner layers of the default ImageNet backbone give the features
    of a one-class detector for images like `summary`.

    Rippel, Mertens & Merhof (ICPR 2020) fit Gaussians to several depths of
    an ImageNet network rather than to its last layer; which depths work
    best depends on how far the images are from ImageNet's. Measured here
    (README, "Anomaly detection"): digit-like images use `DIGIT_LAYER`, tiny
    photos the `TINY_PHOTO_LAYERS`, other images the backbone's own output.

    Args:
        backbone: the backbone spec string, e.g. `"keras:MobileNetV2"`.
        summary: `tfunsup.data.ImageSummary`.

    Returns:
        None (the backbone's output), a layer name, or a tuple of names for
        `tfunsup.anomaly.feature_anomaly_detector.truncated_backbone`. Only MobileNetV2 specs get
        inner layers.
    """
    if str(backbone).split(",")[0] != IMAGENET_BACKBONE:
        return None
    if is_digit_like(summary):
        return DIGIT_LAYER
    return TINY_PHOTO_LAYERS if default_image_size(summary) is not None else None


# PANDA trains the layers after this one (MobileNetV2's blocks 14-16 and its
# last 1x1 convolution); its output maps (4 x 4 x 160 at 144 px) are cached.
PANDA_FROZEN_LAYER = "block_13_project_BN"
# The last frozen layer when a feature layer lies before PANDA_FROZEN_LAYER
# (e.g. DIGIT_LAYER, inside block 13): MobileNetV2's block 12 output.
PANDA_EARLY_FROZEN_LAYER = "block_12_add"


def default_frozen_layer(backbone, layer):
    """The last frozen layer of a PANDA detector on the default ImageNet
    backbone: everything after it is adapted to the normal data.

    Reiss et al. (PANDA, CVPR 2021) train the last two of ResNet-152's four
    stages; here the last three inverted-residual blocks of MobileNetV2
    train (few parameters, so CPU training on cached maps takes seconds).

    Args:
        backbone: the backbone spec string.
        layer: the feature layer(s) from `default_feature_layers` (None, a
            name or a tuple of names); `DIGIT_LAYER` lies inside block 13,
            so it gets `PANDA_EARLY_FROZEN_LAYER`.

    Returns:
        A layer name, or None for a backbone other than MobileNetV2.
    """
    if str(backbone).split(",")[0] != IMAGENET_BACKBONE:
        return None
    return PANDA_EARLY_FROZEN_LAYER if layer == DIGIT_LAYER else PANDA_FROZEN_LAYER


def is_default_text_encoder(backbone):
    """Whether a backbone spec is the default all-MiniLM-L6-v2 encoder (its
    `hf://` preset or a folder named like the offline copy)."""
    text = str(backbone).rstrip("/")
    return text == TEXT_ENCODER_PRESET or text.endswith("/" + "/".join(TEXT_ENCODER_FOLDER))


def default_text_feature_layers(backbone):
    """Which inner layers, and which pooling, give a one-class detector's
    features for texts under `backbone`.

    Rippel et al.'s multi-level features carried over to a sentence encoder:
    for the default all-MiniLM-L6-v2 the `[CLS]` token's state of its first
    four transformer layers (`TEXT_FEATURE_LAYERS`), chosen on SMS spam with
    ham as normal (README, "Text anomaly detection"); the output embedding
    averages away the surface form that sets spam apart.

    Args:
        backbone: the text encoder spec.

    Returns:
        `(layer, pooling)`: `(TEXT_FEATURE_LAYERS, TEXT_FEATURE_POOLING)` for
        the default encoder, else `(None, "mean")` (the encoder's output).
    """
    if is_default_text_encoder(backbone):
        return TEXT_FEATURE_LAYERS, TEXT_FEATURE_POOLING
    return None, "mean"
