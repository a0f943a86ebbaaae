"""The Student-t soft-assignment layer of Deep Embedded Clustering."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfunsup")
class StudentTClustering(keras.layers.Layer):
    """Soft cluster assignments from a Student's t kernel around learned centers.

    .. math::
        q_{ij} = \\frac{(1 + \\|z_i - \\mu_j\\|^2 / \\alpha)^{-(\\alpha + 1) / 2}}
                      {\\sum_{j'} (1 + \\|z_i - \\mu_{j'}\\|^2 / \\alpha)^{-(\\alpha + 1) / 2}}

    The centers :math:`\\mu_j` are the layer's trainable weight `clusters`
    (initialise them with k-means, e.g. `layer.set_weights([centers])`).

    Args:
        n_clusters: int >= 2. Number of clusters K.
        alpha: float > 0, degrees of freedom of the Student's t kernel
            (1 in DEC).
        initial_clusters: optional float array `(n_clusters, latent_dim)`
            of initial centers; default Glorot-uniform.

    Call arguments:
        latent: float32 tensor `(batch, latent_dim)`.

    Returns:
        float32 tensor `(batch, n_clusters)`, rows summing to 1.

    Raises:
        ValueError: `n_clusters` < 2, `alpha` <= 0, or initial centers of
            the wrong shape.

    Reference:
        Xie, Girshick, Farhadi. Unsupervised Deep Embedding for Clustering
        Analysis. ICML 2016.
    """

    def __init__(self, n_clusters, alpha=1.0, initial_clusters=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or n_clusters < 2:
            raise ValueError(f"Expected n_clusters >= 2. Received: n_clusters={n_clusters!r}")
        if not alpha > 0:
            raise ValueError(f"Expected alpha > 0. Received: alpha={alpha!r}")
        self.n_clusters = n_clusters
        self.alpha = float(alpha)
        self.initial_clusters = initial_clusters

    def build(self, input_shape):
        latent_dim = int(input_shape[-1])
        initializer = "glorot_uniform"
        if self.initial_clusters is not None:
            initial = ops.convert_to_numpy(self.initial_clusters).astype("float32")
            if initial.shape != (self.n_clusters, latent_dim):
                raise ValueError(
                    f"Expected initial_clusters of shape ({self.n_clusters}, {latent_dim}). "
                    f"Received shape={initial.shape}")
            initializer = keras.initializers.Constant(initial)
        self.clusters = self.add_weight(shape=(self.n_clusters, latent_dim),
                                        initializer=initializer, name="clusters")

    def call(self, latent):
        squared = ops.sum(ops.square(ops.expand_dims(latent, 1) - self.clusters), axis=-1)
        kernel = ops.power(1.0 + squared / self.alpha, -(self.alpha + 1.0) / 2.0)
        return kernel / ops.sum(kernel, axis=1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_clusters)

    def get_config(self):
        config = super().get_config()
        config.update(n_clusters=self.n_clusters, alpha=self.alpha)
        return config
