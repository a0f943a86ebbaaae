"""The small digit CNN trained from scratch: the MNIST-5k source model's and the
adaptation networks' default backbone (one definition for both)."""

import keras


def build_small_cnn(input_shape=(28, 28, 1), feature_dim=128, seed=None, name="small_cnn"):
    """Builds conv 32 -> pool -> conv 64 -> pool -> dropout 0.3 -> dense `feature_dim`, random init.

    Args:
        input_shape: `(height, width, channels)`.
        feature_dim: int >= 1, size of the ReLU feature layer (named `"features"`).
        seed: int seed of the dropout (weights follow the global seed).
        name: name of the returned model.

    Returns:
        A functional `keras.Model` mapping float32 `(batch, height, width,
        channels)` images in [0, 1] to `(batch, feature_dim)` ReLU features.
    """
    images = keras.Input(shape=input_shape, name="images")
    x = keras.layers.Conv2D(32, 3, activation="relu")(images)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3, seed=seed)(x)
    features = keras.layers.Dense(feature_dim, activation="relu", name="features")(x)
    return keras.Model(images, features, name=name)
