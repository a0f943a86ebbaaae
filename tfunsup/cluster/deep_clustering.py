"""Fully unsupervised deep clustering of images: an autoencoder trained on the
unlabeled images, then UMAP + Gaussian mixture (N2D) or DEC/IDEC self-training."""

import time
from pathlib import Path

import keras
import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.utils.validation import check_is_fitted

from tfunsup.autoencoders.augmentation import augmented_dataset
from tfunsup.autoencoders.autoencoder import Autoencoder
from tfunsup.autoencoders.conv_autoencoder import build_conv_decoder, build_conv_encoder
from tfunsup.autoencoders.dense_autoencoder import (
    build_dense_decoder,
    build_dense_encoder,
    check_latent_dim,
)
from tfunsup.cluster.dec_losses import target_distribution
from tfunsup.cluster.deep_embedded_clustering import DeepEmbeddedClustering
from tfunsup.data.validation import check_images, check_n_clusters
from tfunsup.training import check_fit_params
from tfunsup.utils.export import export_atomically
from tfunsup.utils.reproducibility import set_seed

ENCODERS = ("dense", "conv")
REFINEMENTS = ("umap-gmm", "dec", "kmeans")


class DeepClustering(ClusterMixin, BaseEstimator):
    """Clusters images with no labels: autoencoder pretraining, then refinement.

    `fit(images)` runs two phases, both on the unlabeled images only:

    1. Pretraining: a fresh dense (`hidden_units`, N2D/DEC's
       d-500-500-2000-10 by default) or convolutional encoder/decoder pair
       from `tfunsup.autoencoders` is trained to reconstruct the images with
       the `Autoencoder` objective (mean squared error). With
       `max_rotation`/`max_shift` > 0 every batch is randomly rotated and
       shifted first (DEC-DA), which makes the codes invariant to the small
       pose changes that separate handwritten digits the least.
    2. Refinement of the codes into `n_clusters` clusters:

       - `"umap-gmm"` (N2D): UMAP of the codes to `n_clusters` dimensions
         (`n_neighbors`, `min_dist`=0), then a full-covariance Gaussian
         mixture.
       - `"dec"` (DEC / IDEC / DEC-DA): k-means centers on the codes
         initialise a `StudentTClustering` layer; encoder and centers are
         then trained on KL(P || Q) with the target P recomputed from the
         clean images every `update_interval` steps
         (`DeepEmbeddedClustering`), plus `reconstruction_weight` times the
         reconstruction loss (IDEC) when it is > 0, and on augmented batches
         when augmentation is on (DEC-DA). Stops after `dec_steps` steps or
         when fewer than `tol` of the assignments change between updates.
       - `"kmeans"`: k-means on the codes (the plain baseline).

    Args:
        n_clusters: int >= 2. Number of clusters K.
        encoder: `"dense"` or `"conv"`.
        latent_dim: int >= 1, size of the codes.
        hidden_units: dense encoder hidden sizes (decoder: reversed).
        filters: conv encoder filters (decoder: reversed).
        pretrain_epochs: int >= 0, autoencoder epochs.
        batch_size: int >= 1.
        learning_rate: float > 0, Adam learning rate of pretraining.
        max_rotation: float >= 0, largest random rotation in degrees.
        max_shift: float in [0, 1), largest random shift, fraction of size.
        refine: `"umap-gmm"`, `"dec"` or `"kmeans"`.
        n_neighbors: int >= 2, UMAP neighbourhood size.
        min_dist: float >= 0, UMAP minimum distance.
        n_init: int >= 1, initialisations of the Gaussian mixture (and of
            k-means); the best is kept. One GMM start can stop in a poor
            optimum (USPS UMAP embedding: ACC 0.69 with 1 start, 0.95 with
            5, same codes).
        dec_steps: int >= 0, most DEC training steps.
        update_interval: int >= 1, DEC steps between target updates.
        tol: float >= 0, DEC stopping threshold on the changed assignments.
        dec_learning_rate: float > 0, Adam learning rate of DEC.
        reconstruction_weight: float >= 0, IDEC's reconstruction term
            (0: DEC).
        seed: int or None. A fixed seed repeats `fit` on the same machine.
        verbose: 0 silent, 1 phase messages, 2 also one line per epoch.

    Attributes (after `fit`):
        encoder_: functional `keras.Model`, images -> codes
            `(batch, latent_dim)` (fine-tuned by DEC when `refine="dec"`).
        decoder_: functional `keras.Model`, codes -> images.
        labels_: int64 `(n,)`, the cluster of each fit image.
        cluster_centers_: float32 `(n_clusters, latent_dim)` centers in code
            space (DEC's learned centers, else the code mean per cluster).
        clustering_model_: `keras.Model`, images -> soft assignments
            `(batch, n_clusters)` (`"dec"` only, else None).
        umap_, gmm_: the fitted `umap.UMAP` and
            `sklearn.mixture.GaussianMixture` (`"umap-gmm"` only).
        image_shape_: `(height, width, channels)` of the fit images.
        history_: dict of per-epoch pretraining `loss` and, for DEC,
            per-update `changed` fractions.
        timings_: dict of seconds spent in `pretrain` and `refine`.

    Reference:
        McConville, Santos-Rodriguez, Piechocki, Craddock. N2D: (Not Too)
        Deep Clustering via Clustering the Local Manifold of an Autoencoded
        Embedding. ICPR 2020. Xie, Girshick, Farhadi. Unsupervised Deep
        Embedding for Clustering Analysis. ICML 2016. Guo, Gao, Liu, Yin.
        Improved Deep Embedded Clustering with Local Structure Preservation.
        IJCAI 2017. Guo, Zhu, Liu, Yin. Deep Embedded Clustering with Data
        Augmentation. ACML 2018.
    """

    def __init__(self, n_clusters=10, *, encoder="dense", latent_dim=10,
                 hidden_units=(500, 500, 2000), filters=(32, 64, 128), pretrain_epochs=100,
                 batch_size=256, learning_rate=1e-3, max_rotation=10.0, max_shift=0.1,
                 refine="umap-gmm", n_neighbors=20, min_dist=0.0, n_init=10, dec_steps=4000,
                 update_interval=140, tol=0.001, dec_learning_rate=1e-4,
                 reconstruction_weight=0.0, seed=None, verbose=0):
        self.n_clusters = n_clusters
        self.encoder = encoder
        self.latent_dim = latent_dim
        self.hidden_units = hidden_units
        self.filters = filters
        self.pretrain_epochs = pretrain_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_rotation = max_rotation
        self.max_shift = max_shift
        self.refine = refine
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.n_init = n_init
        self.dec_steps = dec_steps
        self.update_interval = update_interval
        self.tol = tol
        self.dec_learning_rate = dec_learning_rate
        self.reconstruction_weight = reconstruction_weight
        self.seed = seed
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def check_params(self, n_samples):
        """Checks every parameter for `n_samples` training images, before any work.

        `fit` calls it first; a caller (e.g. the CLI) may call it earlier.

        Args:
            n_samples: int, number of images `fit` will get.

        Raises:
            ValueError: a bad parameter, named in the message.
        """
        if self.encoder not in ENCODERS:
            raise ValueError(
                f"Expected encoder 'dense' or 'conv'. Received: encoder={self.encoder!r}")
        if self.refine not in REFINEMENTS:
            raise ValueError(f"Expected refine one of {', '.join(REFINEMENTS)}. "
                             f"Received: refine={self.refine!r}")
        check_n_clusters(self.n_clusters, n_samples)
        check_latent_dim(self.latent_dim)
        check_fit_params(epochs=self.pretrain_epochs, batch_size=self.batch_size,
                         learning_rate=self.learning_rate,
                         dec_learning_rate=self.dec_learning_rate)
        if not 0 <= self.max_rotation <= 180:
            raise ValueError(f"Expected 0 <= max_rotation <= 180. "
                             f"Received: max_rotation={self.max_rotation!r}")
        if not 0 <= self.max_shift < 1:
            raise ValueError(f"Expected 0 <= max_shift < 1. Received: max_shift={self.max_shift!r}")
        for name, low in (("n_neighbors", 2), ("n_init", 1), ("dec_steps", 0),
                          ("update_interval", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"Expected {name} >= {low}. Received: {name}={value!r}")
        for name in ("min_dist", "tol", "reconstruction_weight"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
                raise ValueError(f"Expected {name} >= 0. Received: {name}={value!r}")
        if self.refine == "umap-gmm":
            try:
                import umap  # noqa: F401
            except ImportError as error:
                raise ImportError("refine='umap-gmm' needs umap-learn: "
                                  "pip install umap-learn") from error

    def _log(self, message):
        if self.verbose:
            print(message, flush=True)

    # --------------------------------------------------------------- phases
    def _build(self, image_shape):
        if self.encoder == "conv":
            return (build_conv_encoder(image_shape, self.latent_dim, self.filters),
                    build_conv_decoder(self.latent_dim, image_shape,
                                       tuple(reversed(tuple(self.filters)))))
        return (build_dense_encoder(image_shape, self.latent_dim, self.hidden_units),
                build_dense_decoder(self.latent_dim, image_shape,
                                    tuple(reversed(tuple(self.hidden_units)))))

    def _steps_per_epoch(self, n):
        return int(np.ceil(n / self.batch_size))

    def _pretrain(self, images, encoder, decoder):
        model = Autoencoder(encoder, decoder)
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate))
        if self.pretrain_epochs == 0:
            return []
        dataset = augmented_dataset(images, self.batch_size, self.seed,
                                    self.max_rotation, self.max_shift)
        history = model.fit(dataset, epochs=self.pretrain_epochs,
                            steps_per_epoch=self._steps_per_epoch(len(images)),
                            shuffle=False, verbose=2 if self.verbose >= 2 else 0,
                            callbacks=[keras.callbacks.TerminateOnNaN()])
        return [float(v) for v in history.history.get("loss", [])]

    def _codes(self, model, images):
        return model.predict(images, batch_size=1024, verbose=0)

    def _refine_umap_gmm(self, codes):
        import umap
        from sklearn.mixture import GaussianMixture

        self.umap_ = umap.UMAP(n_components=self.n_clusters, n_neighbors=self.n_neighbors,
                               min_dist=self.min_dist, metric="euclidean",
                               random_state=self.seed)
        embedding = self.umap_.fit_transform(codes)
        self.gmm_ = GaussianMixture(self.n_clusters, covariance_type="full", n_init=self.n_init,
                                    random_state=self.seed).fit(embedding)
        return self.gmm_.predict(embedding)

    def _kmeans(self, codes):
        return KMeans(self.n_clusters, n_init=self.n_init, random_state=self.seed).fit(codes)

    def _refine_dec(self, images, codes, encoder, decoder):
        kmeans = self._kmeans(codes)
        model = DeepEmbeddedClustering(
            encoder, self.n_clusters, decoder=decoder if self.reconstruction_weight > 0 else None,
            reconstruction_weight=self.reconstruction_weight)
        model.clustering.clusters.assign(kmeans.cluster_centers_.astype(np.float32))
        model.compile(optimizer=keras.optimizers.Adam(self.dec_learning_rate))
        previous = kmeans.labels_
        changed = []
        for step in range(0, self.dec_steps + 1, self.update_interval):
            q = self._codes(model, images)
            labels = q.argmax(axis=1)
            if step > 0:
                changed.append(float(np.mean(labels != previous)))
                self._log(f"  DEC step {step}: {changed[-1]:.4%} of assignments changed")
            previous = labels
            steps = min(self.update_interval, self.dec_steps - step)
            if steps <= 0 or (changed and changed[-1] < self.tol):
                break
            p = keras.ops.convert_to_numpy(target_distribution(q))
            dataset = augmented_dataset((images, p.astype(np.float32)), self.batch_size,
                                        None if self.seed is None else self.seed + step + 1,
                                        self.max_rotation, self.max_shift)
            model.fit(dataset, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
        inputs = keras.Input(shape=images.shape[1:], name="images")
        self.clustering_model_ = keras.Model(inputs, model.clustering(encoder(inputs)),
                                             name="deep_clustering")
        self.cluster_centers_ = keras.ops.convert_to_numpy(model.clustering.clusters)
        return self._codes(self.clustering_model_, images).argmax(axis=1), changed

    # ----------------------------------------------------------- public API
    def fit(self, images, y=None):
        """Pretrains the autoencoder and clusters `images` (no labels used).

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1].
            y: ignored (scikit-learn convention); clustering never sees labels.

        Returns:
            self.

        Raises:
            ValueError: bad parameters or images (empty, NaN/Inf, outside
                [0, 1], wrong rank), or `n_clusters` > n.
            ImportError: `refine="umap-gmm"` without umap-learn.
        """
        del y
        images = check_images(images, name="images")
        self.check_params(len(images))
        set_seed(self.seed)
        encoder, decoder = self._build(images.shape[1:])
        start = time.perf_counter()
        augmentation = (f"rotations <= {self.max_rotation:g} deg, shifts <= {self.max_shift:g}"
                        if self.max_rotation or self.max_shift else "no augmentation")
        self._log(f"Pretraining a {self.encoder} autoencoder on {len(images)} images for "
                  f"{self.pretrain_epochs} epochs ({augmentation}) ...")
        self.history_ = {"loss": self._pretrain(images, encoder, decoder)}
        pretrained = time.perf_counter()
        codes = self._codes(encoder, images)
        self._log(f"Refining with {self.refine} ...")
        self.umap_ = self.gmm_ = self.clustering_model_ = None
        if self.refine == "umap-gmm":
            labels = self._refine_umap_gmm(codes)
        elif self.refine == "dec":
            labels, changed = self._refine_dec(images, codes, encoder, decoder)
            self.history_["changed"] = changed
        else:
            labels = self._kmeans(codes).labels_
        self.labels_ = np.asarray(labels, np.int64)
        if self.refine != "dec":
            self.cluster_centers_ = np.stack([
                codes[self.labels_ == k].mean(axis=0) if np.any(self.labels_ == k)
                else np.full(codes.shape[1], np.nan, np.float32)
                for k in range(self.n_clusters)]).astype(np.float32)
        self.encoder_, self.decoder_ = encoder, decoder
        self.image_shape_ = tuple(images.shape[1:])
        self.timings_ = {"pretrain": pretrained - start,
                         "refine": time.perf_counter() - pretrained}
        return self

    def fit_predict(self, images, y=None):
        """`fit(images)` and return `labels_`, int64 `(n,)`."""
        return self.fit(images, y).labels_

    def _checked(self, images):
        check_is_fitted(self, "encoder_")
        images = check_images(images, name="images")
        if tuple(images.shape[1:]) != self.image_shape_:
            raise ValueError(
                f"Expected images of shape (n, {', '.join(map(str, self.image_shape_))}) as "
                f"in fit. Received shape={images.shape}")
        return images

    def transform(self, images):
        """Latent codes of `images`: float32 `(n, latent_dim)`.

        Raises:
            sklearn.exceptions.NotFittedError: before `fit`.
            ValueError: invalid images or another shape than in `fit`.
        """
        images = self._checked(images)
        return self._codes(self.encoder_, images)

    def predict_proba(self, images):
        """Soft cluster assignments, float `(n, n_clusters)` rows summing to 1.

        DEC's Student-t Q, the Gaussian mixture's posterior on the UMAP
        embedding (new images are placed with `umap_.transform`), or a
        one-hot k-means assignment.

        Raises:
            sklearn.exceptions.NotFittedError: before `fit`.
            ValueError: invalid images or another shape than in `fit`.
        """
        images = self._checked(images)
        if self.refine == "dec":
            return self._codes(self.clustering_model_, images)
        codes = self._codes(self.encoder_, images)
        if self.refine == "umap-gmm":
            return self.gmm_.predict_proba(self.umap_.transform(codes))
        distances = ((codes[:, None, :] - self.cluster_centers_[None]) ** 2).sum(-1)
        return np.eye(self.n_clusters)[distances.argmin(axis=1)]

    def predict(self, images):
        """Cluster index of each image, int64 `(n,)`.

        Raises:
            sklearn.exceptions.NotFittedError: before `fit`.
            ValueError: invalid images or another shape than in `fit`.
        """
        return self.predict_proba(images).argmax(axis=1).astype(np.int64)

    def export(self, path, overwrite=False):
        """Exports SavedModels: `path/encoder` (images -> codes) and, for DEC,
        `path/clustering` (images -> soft assignments `(batch, n_clusters)`).

        Each has a `serve` endpoint taking float32 `(batch, height, width,
        channels)` in [0, 1]. UMAP and the Gaussian mixture are not
        TensorFlow models and are not exported.

        Returns:
            dict of name -> `Path`.

        Raises:
            sklearn.exceptions.NotFittedError: before `fit`.
            FileExistsError: a destination exists and `overwrite` is False
                (checked before anything is written).
        """
        check_is_fitted(self, "encoder_")
        path = Path(path)
        models = {"encoder": self.encoder_}
        if self.clustering_model_ is not None:
            models["clustering"] = self.clustering_model_
        for name in models:
            if (path / name).exists() and not overwrite:
                raise FileExistsError(f"SavedModel path '{path / name}' exists; "
                                      "pass overwrite=True.")
        return {name: export_atomically(model, path / name, overwrite=True)
                for name, model in models.items()}
