"""The small digit CNN trained from scratch: the MNIST-5k source model's and the
adaptation networks' default backbone (one definition for both)."""

import keras

# The backbone spec naming the small CNN (`tfunsup.adapt.network.build_network`),
# optionally with a width: `"small_cnn,width=2"`.
SMALL_CNN = "small_cnn"


def build_small_cnn(input_shape=(28, 28, 1), feature_dim=128, seed=None, name="small_cnn",
                    width=1):
    """Builds conv 32w -> pool -> conv 64w -> pool -> dropout 0.3 -> dense `feature_dim`
    (w = `width`, 1 by default), random init.

    Args:
        input_shape: `(height, width, channels)`.
        feature_dim: int >= 1, size of the ReLU feature layer (named `"features"`).
        seed: int seed of the dropout (weights follow the global seed).
        name: name of the returned model.
        width: int >= 1, multiplies the convolutions' filters (32 and 64).

    Returns:
        A functional `keras.Model` mapping float32 `(batch, height, width,
        channels)` images in [0, 1] to `(batch, feature_dim)` ReLU features.

    Raises:
        ValueError: `width` is not an integer >= 1.
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"Expected an integer width >= 1. Received: width={width!r}")
    images = keras.Input(shape=input_shape, name="images")
    x = keras.layers.Conv2D(32 * width, 3, activation="relu")(images)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64 * width, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3, seed=seed)(x)
    features = keras.layers.Dense(feature_dim, activation="relu", name="features")(x)
    return keras.Model(images, features, name=name)


def parse_small_cnn_spec(spec):
    """The width named by a small-CNN backbone spec, or None for any other spec.

    Args:
        spec: a backbone spec; `"small_cnn"` (width 1) and
            `"small_cnn,width=N"` name `build_small_cnn`.

    Returns:
        int width >= 1, or None when `spec` is not a small-CNN spec.

    Raises:
        ValueError: a small-CNN spec with another argument or a bad width.
    """
    if not isinstance(spec, str) or spec.split(",")[0] != SMALL_CNN:
        return None
    width = 1
    for argument in spec.split(",")[1:]:
        key, _, value = argument.partition("=")
        if key.strip() != "width" or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(f"Expected '{SMALL_CNN}' or '{SMALL_CNN},width=N' with an integer "
                             f"N >= 1. Received: backbone={spec!r}")
        width = int(value)
    return width
