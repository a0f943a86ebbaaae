"""Transfer clustering: cluster unlabeled images in a pretrained backbone's
feature space, then turn the clusters into a classifier (seed 001's flow:
pretrained CNN -> features -> K-means -> classifier on the cluster labels)."""

import keras
import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.manifold import spectral_embedding
from sklearn.neighbors import kneighbors_graph
from sklearn.svm import LinearSVC

from tfunsup.backbones.load_backbone import load_backbone
from tfunsup.data.pipeline import make_dataset
from tfunsup.data.validation import check_images, check_n_clusters
from tfunsup.layers.to_image_spec import ToImageSpec
from tfunsup.metrics.clustering import clustering_scores
from tfunsup.utils.export import export_atomically
from tfunsup.utils.reproducibility import get_strategy, set_seed


PROTOTYPE_SCALE = 10.0


def balanced_assignment(log_probabilities, n_iter=50):
    """Equal-size soft assignment by Sinkhorn-Knopp (Asano et al. 2020, SeLa).

    Finds Q closest to the given probabilities with every row summing to 1
    and every cluster (column) receiving n / K items.

    Args:
        log_probabilities: float `(n, K)` log class probabilities.
        n_iter: Sinkhorn iterations.

    Returns:
        float `(n, K)`, rows sum to 1, columns sum to n / K.
    """
    from scipy.special import logsumexp

    q = np.asarray(log_probabilities, np.float64).copy()
    n, k = q.shape
    for _ in range(n_iter):
        q -= logsumexp(q, axis=0, keepdims=True) - np.log(n / k)
        q -= logsumexp(q, axis=1, keepdims=True)
    return np.exp(q)


def _l2_normalize(features):
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, 1e-12)


class TransferClustering:
    """Clusters images with a transferred backbone and trains a classifier on the clusters.

    `fit(images)` runs, without any labels:

    1. features: the backbone (TF Hub handle, SavedModel, `keras:` application
       or keras.Model) maps every image to a feature vector, in batches
       through one `predict` over a `tf.data` pipeline;
    2. optional L2 normalisation and PCA;
    3. K-means (scikit-learn) into `n_clusters` pseudo-labels — on the
       features, or (`graph_neighbors` set) on the spectral embedding of
       their k-nearest-neighbour graph, i.e. spectral clustering (Ng, Jordan,
       Weiss 2002), which follows curved clusters that K-means on the raw
       features splits;
    4. a linear SVM on the features and pseudo-labels (seed 001), and a
       Keras softmax head on top of the backbone, started from the cluster
       centroids (weight imprinting) and trained on the confident
       pseudo-labels (those nearest their cluster centre), optionally
       fine-tuning the backbone. In `self_labeling_rounds` rounds the
       pseudo-labels are re-estimated from the head's own predictions under
       an equal-cluster-size constraint (Sinkhorn-Knopp, as in SeLa), which
       splits clusters that K-means merged. The head and the backbone
       export together as one SavedModel.

    Args:
        backbone: backbone spec for `tfunsup.backbones.load_backbone`.
        n_clusters: int >= 2, number of clusters K.
        normalize: L2-normalise features before clustering.
        pca_components: int or None, PCA dimensions before clustering.
        graph_neighbors: int or None; k of the k-NN graph for spectral
            clustering, None for K-means on the features.
        confidence: float in (0, 1]; per cluster, this fraction of items
            nearest the centre are the confident pseudo-labels for the head.
        head_epochs: int >= 0, total over all rounds; 0 skips the Keras head.
        self_labeling_rounds: int >= 1; rounds of head training, each after
            the first on balanced pseudo-labels from the head's predictions.
            Assumes roughly equal cluster sizes; 1 keeps the clustering's
            pseudo-labels.
        fine_tune: train the backbone together with the head.
        learning_rate: Adam learning rate of the head.
        weights: `"imagenet"` or None, for `keras:` backbone specs.
        batch_size: int >= 1.
        image_size: `(height, width)` backbone input, None for its own.
        jit_compile: XLA for the head's train step (`"auto"`: Keras decides;
            off on CPU, where XLA is slower).
        seed: int or None; a fixed seed makes `fit` repeatable on CPU.
        strategy: `tf.distribute.Strategy`; default the current one.
        verbose: 0 silent, 1 progress bars.

    Attributes (after `fit`):
        backbone_: the frozen feature extractor (keras.Model).
        features_: float32 `(n, feature_dim)` backbone features of the fit data.
        cluster_labels_: int `(n,)` pseudo-labels of the last round (the
            K-means clusters when `self_labeling_rounds == 1`).
        pseudo_label_history_: list of int `(n,)` pseudo-labels per round.
        confident_: bool `(n,)`, the pseudo-labels the head was trained on.
        svm_: fitted `sklearn.svm.LinearSVC`.
        classifier_: keras.Model, images at any size -> `(batch, n_clusters)`
            probabilities (None when `head_epochs == 0`).
        labels_: int `(n,)` final cluster of each fit image (head, else K-means).

    References:
        Caron et al. Deep Clustering for Unsupervised Learning of Visual
        Features. ECCV 2018 (clustering features, training on pseudo-labels).
        Asano, Rupprecht, Vedaldi. Self-labelling via simultaneous clustering
        and representation learning. ICLR 2020 (balanced pseudo-labels).
        Qi, Brown, Lowe. Low-Shot Learning with Imprinted Weights. CVPR 2018.
    """

    def __init__(self, backbone, n_clusters=10, *, normalize=True, pca_components=None,
                 graph_neighbors=10, confidence=0.8, head_epochs=15, fine_tune=True,
                 self_labeling_rounds=3, learning_rate=3e-4, weights="imagenet", batch_size=128, image_size=None,
                 jit_compile="auto", seed=None, strategy=None, verbose=1):
        self.backbone = backbone
        self.n_clusters = n_clusters
        self.normalize = normalize
        self.pca_components = pca_components
        self.graph_neighbors = graph_neighbors
        self.confidence = confidence
        self.head_epochs = head_epochs
        self.fine_tune = fine_tune
        self.self_labeling_rounds = self_labeling_rounds
        self.learning_rate = learning_rate
        self.weights = weights
        self.batch_size = batch_size
        self.image_size = image_size
        self.jit_compile = jit_compile
        self.seed = seed
        self.strategy = strategy
        self.verbose = verbose

    def _check_params(self, n_samples):
        check_n_clusters(self.n_clusters, n_samples)
        if not 0.0 < self.confidence <= 1.0:
            raise ValueError(f"Expected confidence in (0, 1]. Received: confidence={self.confidence}")
        if self.batch_size < 1:
            raise ValueError(f"Expected batch_size >= 1. Received: batch_size={self.batch_size}")
        if self.self_labeling_rounds < 1:
            raise ValueError("Expected self_labeling_rounds >= 1. Received: "
                             f"self_labeling_rounds={self.self_labeling_rounds}")
        if self.head_epochs < 0:
            raise ValueError(f"Expected head_epochs >= 0. Received: head_epochs={self.head_epochs}")
        if self.graph_neighbors is not None and not 1 <= self.graph_neighbors < n_samples:
            raise ValueError(
                f"Expected 1 <= graph_neighbors < number of samples ({n_samples}). "
                f"Received: graph_neighbors={self.graph_neighbors}")
        if self.pca_components is not None and not 1 <= self.pca_components <= n_samples:
            raise ValueError(
                f"Expected 1 <= pca_components <= number of samples ({n_samples}). "
                f"Received: pca_components={self.pca_components}")

    def fit(self, images):
        """Clusters `images` and trains the classifiers; uses no labels.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1]
                (channels 1 or 3; rank 3 is read as grayscale).

        Returns:
            self.

        Raises:
            ValueError: bad images or parameters (before any work starts).
        """
        images = check_images(images)
        self._check_params(len(images))
        set_seed(self.seed)
        strategy = get_strategy(self.strategy)
        with strategy.scope():
            self.backbone_ = load_backbone(self.backbone, trainable=False,
                                           image_size=self.image_size, weights=self.weights)
        self.image_spec_ = self.backbone_.image_spec
        self.n_channels_ = images.shape[-1]
        self.features_ = self._extract(self.backbone_, images)
        embedded = self._embed(self.features_, fit=True)
        cluster_space = self._cluster_space(embedded)
        self.kmeans_ = KMeans(self.n_clusters, n_init=10, random_state=self.seed).fit(cluster_space)
        self.cluster_labels_ = self.kmeans_.labels_.astype(np.int64)
        distances = self.kmeans_.transform(cluster_space)[
            np.arange(len(images)), self.cluster_labels_]
        self.confident_ = self._confident(distances)
        self.svm_ = LinearSVC(random_state=self.seed).fit(embedded, self.cluster_labels_)
        self.classifier_ = None
        if self.head_epochs > 0:
            self.classifier_ = self._train_head(images, strategy)
            self.labels_ = self._predict_head(images)
        else:
            self.labels_ = self.cluster_labels_
        return self

    def _extract(self, backbone, images):
        dataset = make_dataset(images, backbone.image_spec, batch_size=self.batch_size,
                               cache=False)
        return backbone.predict(dataset, verbose=self.verbose).astype(np.float32)

    def _embed(self, features, fit=False):
        x = _l2_normalize(features) if self.normalize else features
        if self.pca_components is not None:
            if fit:
                self.pca_ = PCA(self.pca_components, random_state=self.seed).fit(x)
            x = self.pca_.transform(x)
        return x.astype(np.float32)

    def _cluster_space(self, embedded):
        if self.graph_neighbors is None:
            return embedded
        graph = kneighbors_graph(embedded, self.graph_neighbors, include_self=True)
        affinity = 0.5 * (graph + graph.T)
        return spectral_embedding(affinity, n_components=self.n_clusters,
                                  random_state=self.seed, drop_first=False)

    def _confident(self, distances):
        confident = np.zeros(len(distances), bool)
        for k in range(self.n_clusters):
            members = np.flatnonzero(self.cluster_labels_ == k)
            if members.size:
                cut = np.quantile(distances[members], self.confidence)
                confident[members[distances[members] <= cut]] = True
        return confident

    def _build_head(self):
        """`(trainer, classifier)`: two models sharing their layers; the
        trainer adds random translations, the exported classifier has none."""
        spec = self.image_spec_
        to_spec = ToImageSpec(*spec.shape, spec.content_fraction, name="to_image_spec")
        augment = keras.layers.RandomTranslation(0.07, 0.07, fill_mode="constant",
                                                 seed=self.seed, name="augment")
        spec_arg = self.backbone
        if isinstance(spec_arg, keras.Model) and self.fine_tune:
            spec_arg = keras.models.clone_model(spec_arg)  # leave the user's model as it is
        backbone = load_backbone(spec_arg, trainable=self.fine_tune,
                                 image_size=self.image_size, weights=self.weights)
        # A second copy of the backbone: fine-tuning it leaves `backbone_`
        # (and `transform`) unchanged; it starts from the same weights.
        backbone.set_weights(self.backbone_.get_weights())
        normalize = keras.layers.UnitNormalization(name="l2_normalize")
        head = keras.layers.Dense(self.n_clusters, activation="softmax",
                                  name="pseudo_label_head")

        def classify(x):
            # Inference mode inside the backbone (no dropout, frozen batch-norm
            # statistics) while its weights train: the Keras fine-tuning recipe.
            return head(normalize(backbone(x, training=False)))

        images = keras.Input(shape=(None, None, self.n_channels_), name="images")
        trainer = keras.Model(images, classify(augment(to_spec(images))), name="trainer")
        classifier = keras.Model(images, classify(to_spec(images)),
                                 name="transfer_clustering_classifier")
        # Weight imprinting (Qi et al. 2018): start from the normalised
        # centroids of the confident members, scaled as a cosine classifier
        # with temperature 1 / PROTOTYPE_SCALE.
        features = _l2_normalize(self.features_[self.confident_])
        labels = self.cluster_labels_[self.confident_]
        prototypes = np.stack([features[labels == k].mean(axis=0)
                               if np.any(labels == k) else np.zeros(features.shape[1])
                               for k in range(self.n_clusters)])
        head.set_weights([PROTOTYPE_SCALE * _l2_normalize(prototypes).T.astype(np.float32),
                          np.zeros(self.n_clusters, np.float32)])
        return trainer, classifier

    def _train_head(self, images, strategy):
        with strategy.scope():
            trainer, classifier = self._build_head()
            trainer.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                               loss="sparse_categorical_crossentropy",
                               jit_compile=self.jit_compile)
        pseudo_labels, confident = self.cluster_labels_, self.confident_
        rounds = max(1, self.self_labeling_rounds)
        epochs = np.diff(np.linspace(0, self.head_epochs, rounds + 1).round().astype(int))
        self.pseudo_label_history_ = []
        for round_, round_epochs in enumerate(epochs):
            if round_ > 0:
                probabilities = classifier.predict(
                    make_dataset(images, batch_size=self.batch_size, cache=False), verbose=0)
                balanced = balanced_assignment(np.log(np.maximum(probabilities, 1e-12)))
                pseudo_labels = balanced.argmax(axis=1)
                confidence = balanced[np.arange(len(images)), pseudo_labels]
                self.cluster_labels_ = pseudo_labels
                confident = self._confident(-confidence)
            self.pseudo_label_history_.append(pseudo_labels)
            dataset = make_dataset(images[confident], labels=pseudo_labels[confident],
                                   batch_size=min(self.batch_size, 64), shuffle=True,
                                   seed=self.seed, autotune=False)
            trainer.fit(dataset, epochs=int(round_epochs), shuffle=False,
                           verbose=2 if self.verbose else 0)
        return classifier

    def _predict_head(self, images):
        dataset = make_dataset(images, batch_size=self.batch_size, cache=False)
        return self.classifier_.predict(dataset, verbose=0).argmax(axis=1).astype(np.int64)

    def _check_fitted(self):
        if not hasattr(self, "labels_"):
            raise RuntimeError("This TransferClustering is not fitted yet; call fit first.")

    def _check_new_images(self, images):
        images = check_images(images)
        if images.shape[-1] != self.n_channels_:
            raise ValueError(
                f"Expected images with {self.n_channels_} channels like the fit data. "
                f"Received shape={images.shape}")
        return images

    def transform(self, images):
        """Backbone features of `images`, normalised/projected as in `fit`.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1].

        Returns:
            float32 `(n, d)`: `d` is `pca_components` or the feature dim.
        """
        self._check_fitted()
        images = self._check_new_images(images)
        return self._embed(self._extract(self.backbone_, images))

    def predict(self, images, method="head"):
        """Cluster index of each image.

        Args:
            images: float32 `(n, height, width, channels)` in [0, 1].
            method: `"head"` (the Keras classifier) or `"svm"`.

        Returns:
            int64 `(n,)` cluster indices in `[0, n_clusters)`.
        """
        self._check_fitted()
        images = self._check_new_images(images)
        if method == "svm" or self.classifier_ is None:
            if method not in ("svm", "head"):
                raise ValueError(f"Expected method 'head' or 'svm'. Received: method={method!r}")
            return self.svm_.predict(self._embed(self._extract(self.backbone_, images)))
        if method != "head":
            raise ValueError(f"Expected method 'head' or 'svm'. Received: method={method!r}")
        return self._predict_head(images)

    def score(self, images, labels, method="head"):
        """ACC (Hungarian-matched), NMI and ARI of `predict(images)` against labels.

        Labels are used only here, to score.

        Returns:
            dict with float `acc`, `nmi`, `ari`.
        """
        return clustering_scores(labels, self.predict(images, method=method))

    def export(self, path, overwrite=False):
        """Exports backbone + head as one SavedModel (`serve`: float32 images
        `(batch, height, width, channels)` in [0, 1] -> `(batch, n_clusters)`
        probabilities).

        Raises:
            RuntimeError: not fitted, or fitted with `head_epochs=0`.
            FileExistsError: `path` exists and `overwrite` is False.
        """
        self._check_fitted()
        if self.classifier_ is None:
            raise RuntimeError("No Keras head to export: fit with head_epochs > 0.")
        return export_atomically(self.classifier_, path, overwrite=overwrite)
