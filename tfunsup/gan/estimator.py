"""The GAN flow as a scikit-learn-style estimator: k-means pseudo-labels,
`train_gan`, then samples and export."""

from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tfunsup.gan.conditioning import kmeans_pseudo_labels
from tfunsup.gan.export import export_generator
from tfunsup.gan.train import check_gan_arguments, train_gan


class GANEstimator(BaseEstimator):
    """Trains a (cluster-conditioned) DCGAN or WGAN-GP on unlabeled images.

    `fit(images)` clusters the images into `n_clusters` k-means
    pseudo-labels (`kmeans_pseudo_labels`; 0 for an unconditional GAN), then
    calls `train_gan` with the estimator's parameters. `generate(n)` samples
    images; `export(path)` writes the generator SavedModel. The defaults are
    those of `tfunsup gan`.

    Args:
        objective: `"gan"` (non-saturating DCGAN) or `"wgan-gp"`.
        n_clusters: int, 0 (unconditional) or >= 2 k-means pseudo-labels.
        latent_dim, width, discriminator_width, epochs, batch_size,
            n_critic, ema_decay, augment, jit_compile, mixed_precision,
            fused_kernels, steps_per_execution, backup_dir, strategy: as in
            `train_gan`.
        cluster_backbone: features of the k-means pseudo-labels: None for
            the pixels (PCA), else a backbone spec.
        seed: int or None; seeds clustering, weights, shuffling and latents.
        deterministic: bool; TensorFlow op determinism during `fit` (see
            `train_gan`).
        verbose: Keras `fit` verbosity.

    Attributes (after `fit`):
        gan_: the trained `GAN` model.
        history_: dict of per-epoch losses.
        pseudo_labels_: int32 `(n,)` cluster ids of the fit images, or None.
        image_shape_: `(height, width, channels)` of the fit images.
    """

    def __init__(self, objective="gan", n_clusters=50, *, latent_dim=64, width=32,
                 discriminator_width=None, epochs=40, batch_size=32, n_critic=None,
                 ema_decay=0.999, augment=None, cluster_backbone=None, jit_compile="auto",
                 mixed_precision=None, fused_kernels=False, steps_per_execution=1,
                 backup_dir=None, strategy=None, seed=0, deterministic=False, verbose=0):
        self.objective = objective
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.width = width
        self.discriminator_width = discriminator_width
        self.epochs = epochs
        self.batch_size = batch_size
        self.n_critic = n_critic
        self.ema_decay = ema_decay
        self.augment = augment
        self.cluster_backbone = cluster_backbone
        self.jit_compile = jit_compile
        self.mixed_precision = mixed_precision
        self.fused_kernels = fused_kernels
        self.steps_per_execution = steps_per_execution
        self.backup_dir = backup_dir
        self.strategy = strategy
        self.seed = seed
        self.deterministic = deterministic
        self.verbose = verbose

    def fit(self, images):
        """Trains the GAN on `images` (no labels).

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1].

        Returns:
            self.

        Raises:
            ValueError: bad parameters or images, before any training.
        """
        if isinstance(self.n_clusters, bool) or not isinstance(self.n_clusters, int) or (
                self.n_clusters < 0 or self.n_clusters == 1):
            raise ValueError("Expected n_clusters 0 (unconditional) or >= 2. "
                             f"Received: n_clusters={self.n_clusters!r}")
        images, _, _ = check_gan_arguments(
            images, objective=self.objective, latent_dim=self.latent_dim, width=self.width,
            epochs=self.epochs, batch_size=self.batch_size, n_critic=self.n_critic)
        pseudo_labels = None
        if self.n_clusters:
            pseudo_labels = kmeans_pseudo_labels(images, self.n_clusters,
                                                 backbone=self.cluster_backbone,
                                                 seed=self.seed or 0)
        self.gan_, self.history_ = train_gan(
            images, objective=self.objective, latent_dim=self.latent_dim, width=self.width,
            discriminator_width=self.discriminator_width, epochs=self.epochs,
            batch_size=self.batch_size, n_critic=self.n_critic, ema_decay=self.ema_decay,
            augment=self.augment, seed=self.seed, deterministic=self.deterministic,
            strategy=self.strategy, jit_compile=self.jit_compile,
            mixed_precision=self.mixed_precision, fused_kernels=self.fused_kernels,
            steps_per_execution=self.steps_per_execution, backup_dir=self.backup_dir,
            pseudo_labels=pseudo_labels, verbose=self.verbose)
        self.pseudo_labels_ = pseudo_labels
        self.image_shape_ = tuple(images.shape[1:])
        return self

    def _check_fitted(self):
        if not hasattr(self, "gan_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' before using it.")

    def generate(self, n, seed=0):
        """`n` generated images, float32 `(n, height, width, channels)` in [0, 1].

        Raises:
            NotFittedError: before `fit`.
            ValueError: `n < 1`.
        """
        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"Expected n >= 1. Received: n={n!r}")
        return self.gan_.generate(n, seed=seed)

    def export(self, path, overwrite=False):
        """Exports the generator (its weight average) as a SavedModel:
        `serve(latents (batch, latent_dim)) -> images`; see `export_generator`.

        Raises:
            NotFittedError: before `fit`.
            FileExistsError: `path` exists and `overwrite` is False.
        """
        self._check_fitted()
        return export_generator(self.gan_, path, overwrite=overwrite)
