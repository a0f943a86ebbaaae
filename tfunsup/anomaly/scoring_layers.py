"""Keras layers that score features against normal-data statistics held inside
the layer, so an exported detector is one self-contained SavedModel."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="tfunsup")
class NearestNeighborDistance(keras.layers.Layer):
    """Mean Euclidean distance to the `k` nearest rows of a feature bank.

    .. math::
        s(f) = \\frac{1}{k} \\sum_{j=1}^{k} \\|f - b_{(j)}(f)\\|_2

    where :math:`b_{(j)}(f)` is the j-th nearest bank row. Exhaustive search
    by one matrix product (the bank is a non-trainable weight), then the k
    distances recomputed from differences.

    Args:
        bank_size: int, rows of the bank.
        n_features: int, feature dimension.
        n_neighbors: int k >= 1.
        bank: optional float32 `(bank_size, n_features)` initial bank.

    Call arguments:
        inputs: float32 `(batch, n_features)`.

    Returns:
        float32 `(batch,)`.
    """

    def __init__(self, bank_size, n_features, n_neighbors=2, bank=None, **kwargs):
        super().__init__(**kwargs)
        self.bank_size = int(bank_size)
        self.n_features = int(n_features)
        self.n_neighbors = int(n_neighbors)
        self.bank = self.add_weight(
            name="bank", shape=(self.bank_size, self.n_features), trainable=False,
            initializer="zeros" if bank is None else keras.initializers.Constant(
                np.asarray(bank, np.float32)))

    def call(self, inputs):
        squared = (ops.sum(ops.square(inputs), axis=1, keepdims=True)
                   + ops.sum(ops.square(self.bank), axis=1)[None, :]
                   - 2.0 * ops.matmul(inputs, ops.transpose(self.bank)))
        # The matrix product finds the neighbours; their distances are then
        # recomputed as differences, exact also for near-duplicates.
        _, index = ops.top_k(-squared, k=self.n_neighbors, sorted=True)
        neighbours = ops.take(self.bank, index, axis=0)
        distances = ops.sqrt(ops.sum(ops.square(inputs[:, None, :] - neighbours), axis=-1))
        return ops.mean(distances, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def get_config(self):
        config = super().get_config()
        config.update(bank_size=self.bank_size, n_features=self.n_features,
                      n_neighbors=self.n_neighbors)
        return config


@keras.saving.register_keras_serializable(package="tfunsup")
class MahalanobisDistance(keras.layers.Layer):
    """Mahalanobis distance to a Gaussian of the normal features.

    .. math::
        s(f) = \\sqrt{(f - \\mu)^\\top \\Sigma^{-1} (f - \\mu)}

    computed as :math:`\\|W^\\top (f - \\mu)\\|` with a whitening matrix
    :math:`W W^\\top = \\Sigma^{-1}` held as a non-trainable weight.

    Args:
        n_features: int, input dimension.
        n_components: int, columns of the whitening matrix.
        mean: optional float32 `(n_features,)`.
        whitening: optional float32 `(n_features, n_components)`.

    Call arguments:
        inputs: float32 `(batch, n_features)`.

    Returns:
        float32 `(batch,)`.
    """

    def __init__(self, n_features, n_components, mean=None, whitening=None, **kwargs):
        super().__init__(**kwargs)
        self.n_features = int(n_features)
        self.n_components = int(n_components)

        def init(value):
            return "zeros" if value is None else keras.initializers.Constant(
                np.asarray(value, np.float32))

        self.mean = self.add_weight(name="mean", shape=(self.n_features,),
                                    trainable=False, initializer=init(mean))
        self.whitening = self.add_weight(name="whitening",
                                         shape=(self.n_features, self.n_components),
                                         trainable=False, initializer=init(whitening))

    def call(self, inputs):
        z = ops.matmul(inputs - self.mean[None, :], self.whitening)
        return ops.sqrt(ops.sum(ops.square(z), axis=1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def get_config(self):
        config = super().get_config()
        config.update(n_features=self.n_features, n_components=self.n_components)
        return config
