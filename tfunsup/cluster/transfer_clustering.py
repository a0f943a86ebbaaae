"""Transfer clustering: cluster unlabeled images or texts in a pretrained
backbone's feature space, then turn the clusters into a classifier (seed
001's flow: pretrained CNN -> features -> K-means -> classifier on the
cluster labels)."""

import numbers
import warnings

import keras
import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.svm import LinearSVC

from tfunsup import training
from tfunsup.backbones.defaults import (
    DIGIT_BACKBONE,
    IMAGENET_BACKBONE,
    TEXT_SEQUENCE_LENGTH,
    choose_default_backbone,
    default_flip_average,
    default_image_size,
    default_text_encoder,
    domain_mismatch,
)
from tfunsup.backbones.load_backbone import flip_averaged, load_backbone
from tfunsup.data.datasets import ArrayDataset, ImageDataset
from tfunsup.data.features import extract_features
from tfunsup.data.pipeline import image_pipeline, make_dataset
from tfunsup.data.text import TextDataset
from tfunsup.data.validation import check_images, check_n_clusters, check_texts
from tfunsup.layers.to_image_spec import ToImageSpec
from tfunsup.metrics.clustering import clustering_scores
from tfunsup.utils.export import export_atomically
from tfunsup.utils.reproducibility import get_strategy, set_seed

PROTOTYPE_SCALE = 10.0
# Backbones up to this many parameters are fine-tuned by default
# (`fine_tune="auto"`); larger ones train only the head on cached features.
FINE_TUNE_MAX_PARAMS = 1_000_000
# Self-labeling applies the equal-size prior only if it relabels at most this
# share of the items (a merged cluster being split), else the estimated sizes.
UNIFORM_PRIOR_TOLERANCE = 0.2
CLUSTERING_METHODS = ("umap", "spectral", "kmeans")
# K-means restarts on the UMAP embedding; the features break near ties.
UMAP_KMEANS_RESTARTS = 30
# The linear SVM trains on at most this many items (a random subset keeping
# each cluster's share above it): liblinear copies its input into float64
# (index, value) pairs, 16 bytes a value, so 50,000 MobileNetV2 features
# took 1.2 GB more for the SVM alone (benchmarks/bench_cluster_scale.py).
SVM_MAX_SAMPLES = 10_000


def balanced_assignment(log_probabilities, n_iter=50, prior=None):
    """Size-constrained soft assignment by Sinkhorn-Knopp (Asano et al. 2020, SeLa).

    Finds Q closest to the given probabilities with every row summing to 1
    and cluster (column) k receiving `n * prior[k]` items; SeLa's equal
    sizes (`prior=None`, n / K each) force balanced clusters, so
    `TransferClustering` passes the sizes its clustering stage found
    (`tfunsup.cluster.refinement.estimate_prior`), which keeps a small
    cluster small on long-tailed data.

    Args:
        log_probabilities: float `(n, K)` log class probabilities.
        n_iter: Sinkhorn iterations.
        prior: float `(K,)` positive cluster shares, or None for uniform.

    Returns:
        float `(n, K)`, rows sum to 1, columns sum to `n * prior`.
    """
    from scipy.special import logsumexp

    q = np.asarray(log_probabilities, np.float64).copy()
    n, k = q.shape
    shares = np.full(k, 1.0 / k) if prior is None else np.asarray(prior, np.float64)
    target = np.log(n * shares / shares.sum())[np.newaxis, :]
    for _ in range(n_iter):
        q -= logsumexp(q, axis=0, keepdims=True) - target
        q -= logsumexp(q, axis=1, keepdims=True)
    return np.exp(q)


def predict_in_chunks(predict, X, chunk_size=8192):
    """`predict(X)` a chunk of rows at a time, concatenated.

    For scikit-learn predictors whose memory grows with the rows they get:
    `LinearSVC.predict` converts float32 features to float64 (0.5 GB more
    at 50,000 x 1,280 in one call). Row-wise predictions, so the result is
    that of one call.
    """
    return np.concatenate([predict(X[start:start + chunk_size])
                           for start in range(0, max(len(X), 1), chunk_size)])


def stratified_subset(labels, maximum, seed=None):
    """Positions of at most about `maximum` items keeping each label's share.

    Args:
        labels: int `(n,)`.
        maximum: int >= 1.
        seed: int or None.

    Returns:
        int64 `(m,)` increasing positions; all `n` when `n <= maximum`, else
        `round(maximum * n_k / n)` (at least 1) random items of each label k.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if n <= maximum:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        take = min(len(members), max(1, round(maximum * len(members) / n)))
        chosen.append(rng.choice(members, take, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _l2_normalize(features, chunk=4096):
    """Rows scaled to unit norm, `chunk` rows at a time: the same values as
    in one step, without its temporaries the size of the whole matrix."""
    features = np.asarray(features)
    out = None
    for start in range(0, max(len(features), 1), chunk):
        part = features[start:start + chunk]
        block = part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
        if out is None:
            out = np.empty((len(features),) + block.shape[1:], block.dtype)
        out[start:start + chunk] = block
    return out


def as_dataset(X):
    """An `ImageDataset` or `TextDataset` from a dataset, an image array or texts.

    Args:
        X: `tfunsup.data.ImageDataset` or `tfunsup.data.text.TextDataset`;
            float32 `(n, height, width, channels)` in [0, 1] (rank 3 is read
            as grayscale); or a list / 1-D array of `str` (texts; ids are
            their positions).

    Raises:
        ValueError: bad image arrays, an empty dataset or a text that is not
            a `str`.
    """
    if isinstance(X, (ImageDataset, TextDataset)):
        if len(X) == 0:
            raise ValueError("Expected at least one item in the dataset. Received 0.")
        return X
    if isinstance(X, (list, tuple)) or (isinstance(X, np.ndarray) and X.dtype.kind in "OUS"):
        texts = check_texts(X, name="X")
        return TextDataset(texts, np.arange(len(texts)).astype(str).astype(object), None,
                           "texts")
    return ArrayDataset(check_images(X), None, "array")


def _auto_or_int(value, minimum, below=None):
    """True for `"auto"` or an int (not a bool) in `[minimum, below)`."""
    if isinstance(value, str):
        return value == "auto"
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and value >= minimum and (below is None or value < below))


def load_feature_backbone(backbone, dataset, *, image_size=None, flip_average="auto",
                          weights="imagenet", trainable=False, summary=None,
                          sequence_length=None):
    """The frozen feature extractor `TransferClustering` uses for a dataset.

    Chooses the backbone (`resolve_backbone`), its input size (tiny photos
    go into the default ImageNet backbone at
    `tfunsup.backbones.defaults.TINY_PHOTO_INPUT`) and horizontal-flip
    test-time augmentation (`flip_average="auto"`: on unless the images are
    digit-like), and loads it. Texts get a text encoder (by default
    `tfunsup.backbones.defaults.default_text_encoder`), never flipped.

    Args:
        backbone: backbone spec or None (chosen from the data).
        dataset: `ImageDataset` or `TextDataset`.
        image_size: `(height, width)` or None (the default rule, else the
            backbone's own).
        flip_average: True, False or `"auto"`.
        weights: `"imagenet"` or None, for `keras:` specs.
        trainable: bool, passed to `load_backbone`.
        summary: the dataset's `ImageSummary`, if already computed.
        sequence_length: tokens per text for keras-hub text encoders (None:
            `tfunsup.backbones.defaults.TEXT_SEQUENCE_LENGTH`).

    Returns:
        `(model, spec, image_size, reason)`: the keras.Model (images ->
        features, with `image_spec` and `spec_name`; for text, strings ->
        features with `modality == "text"`), the spec loaded, the resolved
        image size (None: the backbone's own) and why this backbone.

    Raises:
        ValueError: `flip_average` not True, False or "auto"; for text,
            `flip_average=True`, an `image_size` or a backbone that does not
            take strings.
    """
    if flip_average not in (True, False, "auto"):
        raise ValueError("Expected flip_average True, False or 'auto'. Received: "
                         f"flip_average={flip_average!r}")
    if isinstance(dataset, TextDataset):
        return _load_text_backbone(backbone, image_size, flip_average, trainable,
                                   sequence_length, weights)
    summary = summary or dataset.summary()
    spec, reason = resolve_backbone(backbone, dataset, summary)
    if image_size is None and backbone is None and spec == IMAGENET_BACKBONE:
        image_size = default_image_size(summary)
    model = load_backbone(spec, trainable=trainable, image_size=image_size, weights=weights)
    if flip_average == "auto":
        flip_average = default_flip_average(summary)
    if flip_average:
        model = flip_averaged(model)
        reason = f"{reason}; features averaged with the mirrored image"
    return model, spec, image_size, reason


def _load_text_backbone(backbone, image_size, flip_average, trainable, sequence_length,
                        weights):
    if flip_average is True or image_size is not None:
        raise ValueError("flip_average and image_size apply to images. Received text with "
                         f"flip_average={flip_average!r}, image_size={image_size!r}")
    spec, reason = (backbone, "given") if backbone is not None else default_text_encoder()
    if isinstance(spec, keras.Model) and getattr(spec, "modality", None) == "text":
        spec.trainable = trainable
        return spec, spec, None, reason  # e.g. a text encoder adapted in memory
    model = load_backbone(spec, trainable=trainable, weights=weights,
                          sequence_length=sequence_length or TEXT_SEQUENCE_LENGTH)
    if getattr(model, "modality", None) != "text":
        raise ValueError(f"Expected a text encoder (strings -> features) for text data. "
                         f"Received: backbone={getattr(model, 'spec_name', spec)!r}, "
                         "which takes images")
    return model, spec, None, reason


def resolve_backbone(backbone, dataset, summary=None):
    """The backbone spec to load for a dataset, and why.

    Args:
        backbone: a backbone spec, or None to choose from the data with
            `tfunsup.backbones.defaults.choose_default_backbone` (the MNIST-5k
            source model is trained on first use when absent).
        dataset: `ImageDataset`.
        summary: its `ImageSummary`, if already computed.

    Returns:
        `(spec, reason)`.
    """
    if backbone is not None:
        return backbone, "given"
    choice, reason = choose_default_backbone(summary or dataset.summary())
    if choice == DIGIT_BACKBONE:
        from tfunsup.source.source_model import ensure_source_model

        return str(ensure_source_model()), reason
    return choice, reason


class TransferClustering(ClusterMixin, BaseEstimator):
    """Clusters images or texts with a transferred backbone and trains a classifier on the clusters.

    `fit(X)` runs, without any labels (texts take the same road with a text
    encoder as the backbone, by default all-MiniLM-L6-v2, and are never
    fine-tuned or flipped):

    1. features: the backbone (TF Hub handle, SavedModel, `keras:`
       application or keras.Model; by default chosen from the data) maps
       every image to a feature vector, once, streaming through
       `tfunsup.data.image_pipeline` (files decoded in parallel, unreadable
       ones skipped and listed in `skipped_`); precomputed features can be
       passed instead;
    2. optional L2 normalisation and PCA;
    3. pseudo-labels (`clustering`): by default K-means on a UMAP embedding
       of the features with K dimensions (N2D's manifold step, McConville
       et al. 2020); or spectral clustering (Ng, Jordan, Weiss 2002) of the
       features' k-nearest-neighbour graph with k chosen from the data
       (`graph_neighbors="auto"`); or K-means on the features. K is given or
       estimated from the eigengap of that k-NN graph (`n_clusters="auto"`),
       all from `tfunsup.cluster.graph`;
    4. a linear SVM on the features and pseudo-labels (seed 001), and a
       Keras softmax head started from the cluster centroids (weight
       imprinting), trained on the confident pseudo-labels in
       `self_labeling_rounds` rounds whose pseudo-labels are re-estimated
       by Sinkhorn-Knopp under a cluster-size prior (SeLa, with the sizes
       the clustering found when equal sizes do not fit). With a frozen
       backbone the head trains on the cached features, so the backbone
       never re-runs per epoch; `refinement=True` trains it with SCAN's
       neighbour-consistency objective instead (`tfunsup.cluster.refinement`).
       A small backbone (or `fine_tune=True`) is fine-tuned with the head,
       with the Keras recipe (low learning rate, batch norm in inference
       mode).
       Backbone and head export together as one SavedModel that takes
       images.

    Args:
        backbone: backbone spec for `tfunsup.backbones.load_backbone`, or
            None to choose from the data (`choose_default_backbone`: the
            MNIST-5k source model for small grey digit-like images, else
            ImageNet MobileNetV2; for texts `default_text_encoder`,
            all-MiniLM-L6-v2). A text encoder (keras-hub preset or string
            SavedModel) for texts.
        n_clusters: int >= 2, number of clusters K, or `"auto"` to estimate
            it from the eigengap of the k-NN graph's Laplacian
            (`tfunsup.cluster.n_clusters`), at most `max_clusters`.
        clustering: `"umap"` (K-means on a `umap_neighbors`-NN UMAP
            embedding to K dimensions), `"spectral"` (spectral clustering of
            the `graph_neighbors`-NN graph) or `"kmeans"` (on the features).
        normalize: L2-normalise features before clustering.
        pca_components: int or None, PCA dimensions before clustering.
        graph_neighbors: int or `"auto"`; k of the k-NN graph for
            spectral clustering and for estimating K (`"auto"`: chosen from
            the data among 3..30 by the agreement of the candidate
            partitions, `tfunsup.cluster.graph.spectral_clustering`).
        umap_neighbors: int >= 2 or `"auto"`, UMAP's neighbourhood size with
            `clustering="umap"`; `"auto"`: a quarter of the average cluster
            size n / K, between 10 and 30, so that a neighbourhood stays
            inside one cluster (COIL-20's 72 views per object: 18; CIFAR-10's
            1,000 images per class: 30).
        restart_tolerance: float >= 0 or None. K-means on the UMAP
            embedding restarts 30 times; the restarts whose inertia there is
            within this relative margin of the lowest are candidates, and the
            one whose clusters are most compact in the feature space (sum of
            squares) wins (`tfunsup.cluster.graph.kmeans_labels(judge=...)`).
            None: scikit-learn's rule (10 restarts, lowest inertia in the
            embedding). 0.05 was chosen on CIFAR-10, COIL-20 and digits
            (README "Measured"): it moved CIFAR-10 from a partition with
            cars and trucks merged to one separating them and left COIL-20's
            and the digits' partitions as they were.
        confidence: float in (0, 1]; per cluster, this fraction of items
            nearest the centre are the confident pseudo-labels for the head.
        head_epochs: int >= 0, total over all rounds; 0 skips the Keras head.
        self_labeling_rounds: int >= 1 or `"auto"`; rounds of head training,
            each after the first on balanced pseudo-labels from the head's
            predictions. `"auto"`: 3 when the backbone is fine-tuned, 1 on
            frozen features (where re-estimated pseudo-labels drifted and
            lowered CIFAR-10 in a trial).
        refinement: bool; with a frozen backbone, train the head on the
            cached features with SCAN's neighbour-consistency objective and
            a KL term to the cluster sizes the clustering found
            (`tfunsup.cluster.refinement.refine_clusters`, `head_epochs`
            epochs) instead of self-labeling rounds.
        fine_tune: True, False or `"auto"` (fine-tune backbones of at most
            `FINE_TUNE_MAX_PARAMS` parameters; larger ones stay frozen and
            the head trains on cached features). Text encoders stay frozen
            (`"auto"`; True raises).
        learning_rate: Adam learning rate of the head.
        weights: `"imagenet"` or None, for `keras:` backbone specs.
        batch_size: int >= 1, or None to size feature-extraction batches
            to the backbone input (`tfunsup.data.features.auto_batch_size`;
            the head trains on batches of 64).
        image_size: `(height, width)` backbone input, None for its own (or,
            for the default ImageNet backbone on tiny photos of at most 64
            px a side, 144 x 144: `tfunsup.backbones.defaults.default_image_size`).
        flip_average: average each image's features with its mirror image's
            (`tfunsup.backbones.flip_averaged`): True, False or `"auto"` (on
            unless the images are small grey digit-like ones; off for text).
        sequence_length: int >= 8 or None; tokens per text of a keras-hub
            text encoder (None: `TEXT_SEQUENCE_LENGTH`, 256).
        max_clusters: int, largest K considered by `n_clusters="auto"`.
        jit_compile: XLA for the head's train step (`"auto"`: Keras decides).
        seed: int or None; seeds the random number generators.
        deterministic: bool; TensorFlow op determinism during `fit` (with a
            seed, CPU runs repeat bit for bit; no XLA), restored afterwards.
        strategy: `tf.distribute.Strategy`; default the current one.
        verbose: 0 silent, 1 progress bars.

    Attributes (after `fit`):
        backbone_: the frozen feature extractor (keras.Model; flip-averaged
            when `flip_average` resolved to True).
        image_size_: the backbone input size used (None: its own).
        backbone_name_: str, the backbone spec used.
        backbone_choice_: str, why this backbone (when chosen by default).
        features_: float32 `(m, feature_dim)` features of the readable items.
        embedding_: float32 `(m, d)`, those features L2-normalised (and
            PCA-projected when `pca_components` is set), as clustered.
        index_: int64 `(m,)` positions of those items in the fit dataset.
        skipped_: tuple of str, ids of unreadable items (not clustered).
        n_clusters_: int, the K used (estimated when `n_clusters="auto"`).
        n_clusters_curve_: dict of the eigengap curve (with "auto"), else None.
        graph_neighbors_: int k of the k-NN graph used for spectral clustering
            or for estimating K (None when neither ran).
        umap_neighbors_: int UMAP neighbourhood used (None without UMAP).
        clustering_space_: float32 `(m, d)` the space the pseudo-labels were
            found in (UMAP or spectral embedding, or the features).
        cluster_labels_: int `(m,)` pseudo-labels of the last round.
        pseudo_label_history_: list of int `(m,)` pseudo-labels per round.
        confident_: bool `(m,)`, the pseudo-labels the head was trained on.
        svm_: fitted `sklearn.svm.LinearSVC` (on at most `SVM_MAX_SAMPLES`
            items, each cluster keeping its share).
        head_: keras.Model, features -> `(batch, n_clusters)` probabilities
            (None when `head_epochs == 0`).
        classifier_: keras.Model, images at any size (or strings `(batch,)`
            for text) -> probabilities (backbone + head; None when
            `head_epochs == 0`).
        labels_: int `(m,)` final cluster of each readable fit item.
        confidences_: float `(m,)` probability of that cluster.

    References:
        Caron et al. Deep Clustering for Unsupervised Learning of Visual
        Features. ECCV 2018 (clustering features, training on pseudo-labels).
        Asano, Rupprecht, Vedaldi. Self-labelling via simultaneous clustering
        and representation learning. ICLR 2020 (balanced pseudo-labels).
        Qi, Brown, Lowe. Low-Shot Learning with Imprinted Weights. CVPR 2018.
    """

    def __init__(self, backbone=None, n_clusters=10, *, clustering="umap", normalize=True,
                 pca_components=None, graph_neighbors="auto", umap_neighbors="auto",
                 restart_tolerance=0.05, confidence=0.8, head_epochs=15, fine_tune="auto",
                 self_labeling_rounds="auto",
                 refinement=False, learning_rate=3e-4, weights="imagenet",
                 batch_size=None, image_size=None, flip_average="auto", sequence_length=None,
                 max_clusters=50, jit_compile="auto", seed=None, deterministic=False,
                 strategy=None, verbose=1):
        self.backbone = backbone
        self.n_clusters = n_clusters
        self.clustering = clustering
        self.umap_neighbors = umap_neighbors
        self.restart_tolerance = restart_tolerance
        self.normalize = normalize
        self.pca_components = pca_components
        self.graph_neighbors = graph_neighbors
        self.confidence = confidence
        self.head_epochs = head_epochs
        self.fine_tune = fine_tune
        self.self_labeling_rounds = self_labeling_rounds
        self.refinement = refinement
        self.learning_rate = learning_rate
        self.weights = weights
        self.batch_size = batch_size
        self.image_size = image_size
        self.flip_average = flip_average
        self.sequence_length = sequence_length
        self.max_clusters = max_clusters
        self.jit_compile = jit_compile
        self.deterministic = deterministic
        self.seed = seed
        self.strategy = strategy
        self.verbose = verbose

    def _check_params(self, n_samples):
        if not (isinstance(self.n_clusters, str) and self.n_clusters == "auto"):
            check_n_clusters(self.n_clusters, n_samples)
        if not 0.0 < self.confidence <= 1.0:
            raise ValueError(f"Expected confidence in (0, 1]. Received: confidence={self.confidence}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"Expected batch_size >= 1. Received: batch_size={self.batch_size}")
        if not _auto_or_int(self.self_labeling_rounds, 1):
            raise ValueError("Expected self_labeling_rounds 'auto' or an int >= 1. Received: "
                             f"self_labeling_rounds={self.self_labeling_rounds}")
        if self.head_epochs < 0:
            raise ValueError(f"Expected head_epochs >= 0. Received: head_epochs={self.head_epochs}")
        if self.fine_tune not in (True, False, "auto"):
            raise ValueError("Expected fine_tune True, False or 'auto'. Received: "
                             f"fine_tune={self.fine_tune!r}")
        if self.clustering not in CLUSTERING_METHODS:
            raise ValueError(f"Expected clustering in {CLUSTERING_METHODS}. Received: "
                             f"clustering={self.clustering!r}")
        if not _auto_or_int(self.umap_neighbors, 2):
            raise ValueError("Expected umap_neighbors 'auto' or an int >= 2. Received: "
                             f"umap_neighbors={self.umap_neighbors!r}")
        if self.restart_tolerance is not None and not self.restart_tolerance >= 0:
            raise ValueError("Expected restart_tolerance None or >= 0. Received: "
                             f"restart_tolerance={self.restart_tolerance}")
        if not _auto_or_int(self.graph_neighbors, 1, below=n_samples):
            raise ValueError(
                f"Expected 1 <= graph_neighbors < number of samples ({n_samples}). "
                f"Received: graph_neighbors={self.graph_neighbors}")
        if self.pca_components is not None and not 1 <= self.pca_components <= n_samples:
            raise ValueError(
                f"Expected 1 <= pca_components <= number of samples ({n_samples}). "
                f"Received: pca_components={self.pca_components}")

    @training.with_op_determinism
    def fit(self, X, y=None, *, features=None):
        """Clusters `X` and trains the classifiers; uses no labels.

        Args:
            X: `tfunsup.data.ImageDataset` (files are streamed), float32
                `(n, height, width, channels)` in [0, 1] (channels 1 or 3;
                rank 3 is read as grayscale), a `TextDataset` or a list of
                `str` texts.
            y: ignored (scikit-learn convention); labels never reach `fit`.
            features: optional `tfunsup.data.Features` already computed for
                `X` with this backbone (e.g. loaded from a cache); skips the
                backbone pass.

        Returns:
            self.

        Raises:
            ValueError: bad images or parameters (before any work starts), or
                no readable image; `fine_tune=True` with texts.
        """
        dataset = as_dataset(X)
        self._check_params(len(dataset) if features is None else len(features.index))
        self.modality_ = "text" if isinstance(dataset, TextDataset) else "image"
        if self.modality_ == "text" and self.fine_tune is True:
            raise ValueError("Text encoders are not fine-tuned with the clustering head. "
                             "Received: fine_tune=True with text")
        set_seed(self.seed)
        strategy = get_strategy(self.strategy)
        summary = dataset.summary() if self.modality_ == "image" else None
        with strategy.scope():
            self.backbone_, spec, self.image_size_, self.backbone_choice_ = \
                load_feature_backbone(self.backbone, dataset, image_size=self.image_size,
                                      flip_average=self.flip_average, weights=self.weights,
                                      summary=summary, sequence_length=self.sequence_length)
        self.backbone_name_ = getattr(self.backbone_, "spec_name", str(spec))
        self.image_spec_ = self.backbone_.image_spec
        if summary is not None:
            mismatch = domain_mismatch(self.image_spec_, summary, self.backbone_name_)
            if mismatch:
                warnings.warn(mismatch, stacklevel=2)
        self.n_channels_ = dataset.images.shape[-1] if isinstance(dataset, ArrayDataset) else 3
        if features is None:
            features = extract_features(self.backbone_, dataset, backbone_name=self.backbone_name_,
                                        batch_size=self.batch_size, verbose=self.verbose)
        self.features_ = np.asarray(features.features, np.float32)
        self.index_ = np.asarray(features.index, np.int64)
        self.skipped_ = tuple(features.skipped)
        self.feature_key_ = features.key
        n = len(self.features_)
        self._check_params(n)
        embedded = self.embedding_ = self._embed(self.features_, fit=True)
        self._cluster(embedded)
        self.confident_ = self._confident(self.distances_[np.arange(n), self.cluster_labels_])
        self.pseudo_label_history_ = [self.cluster_labels_]
        svm_items = stratified_subset(self.cluster_labels_, SVM_MAX_SAMPLES, self.seed)
        self.svm_ = LinearSVC(random_state=self.seed).fit(embedded[svm_items],
                                                          self.cluster_labels_[svm_items])
        self.head_, self.classifier_, self.tuned_backbone_ = None, None, None
        self.fine_tuned_ = False
        if self.head_epochs > 0:
            self.fine_tuned_ = self._wants_fine_tuning()
            self._train_head(dataset, strategy)
            probabilities = self._probabilities_from_features(self._head_features(dataset))
            self.labels_ = probabilities.argmax(axis=1).astype(np.int64)
            self.confidences_ = probabilities.max(axis=1)
        else:
            self.labels_ = self.cluster_labels_
            # Student-t soft assignment to the cluster centres (DEC's q).
            kernel = 1.0 / (1.0 + self.distances_ ** 2)
            self.confidences_ = (kernel / kernel.sum(axis=1, keepdims=True)).max(axis=1)
        return self

    def fit_predict(self, X, y=None, **kwargs):
        """`fit(X)` and return `labels_` (the readable items' clusters)."""
        return self.fit(X, **kwargs).labels_

    def _wants_fine_tuning(self):
        if self.modality_ == "text":
            return False
        if self.fine_tune == "auto":
            return self.backbone_.count_params() <= FINE_TUNE_MAX_PARAMS
        return bool(self.fine_tune)

    def _embed(self, features, fit=False):
        x = _l2_normalize(features) if self.normalize else features
        if self.pca_components is not None:
            if fit:
                self.pca_ = PCA(self.pca_components, random_state=self.seed).fit(x)
            x = self.pca_.transform(x)
        return x.astype(np.float32, copy=x is features)  # a new array, never features

    def _cluster(self, embedded):
        """Pseudo-labels by `clustering`; K estimated on the k-NN graph with
        `n_clusters="auto"`. Sets `n_clusters_`, `graph_neighbors_`,
        `n_clusters_curve_`, `cluster_labels_`, `clustering_space_` and
        `distances_` (to each cluster centre in the clustering space)."""
        from tfunsup.cluster.graph import kmeans_labels, spectral_clustering, umap_embedding
        from tfunsup.cluster.n_clusters import eigengap_n_clusters

        n = len(embedded)
        auto_k = isinstance(self.n_clusters, str)
        self.n_clusters_curve_ = None
        self.neighbors_ = None
        self.graph_neighbors_ = None
        self.umap_neighbors_ = None
        max_clusters = min(self.max_clusters, n - 2)
        n_clusters = self.n_clusters
        if auto_k or self.clustering == "spectral":
            result = spectral_clustering(embedded, self.n_clusters,
                                         n_neighbors=self.graph_neighbors,
                                         max_clusters=max_clusters, normalize=False,
                                         seed=self.seed)
            self.graph_neighbors_ = result.n_neighbors
            self.neighbors_ = result.neighbors
            n_clusters = int(result.n_clusters)
            if auto_k:
                _, self.n_clusters_curve_ = eigengap_n_clusters(result.eigenvalues,
                                                                max_clusters=max_clusters)
                self.n_clusters_curve_.update(n_neighbors=result.n_neighbors)
        if self.clustering == "spectral":
            space, labels = result.embedding, result.labels
        elif self.clustering == "umap":
            self.umap_neighbors_ = (int(np.clip(round(0.25 * n / n_clusters), 10, 30))
                                    if self.umap_neighbors == "auto"
                                    else int(self.umap_neighbors))
            space = umap_embedding(embedded, n_clusters, n_neighbors=self.umap_neighbors_,
                                   seed=self.seed)
            if self.restart_tolerance is None:
                labels = kmeans_labels(space, n_clusters, seed=self.seed)
            else:
                labels = kmeans_labels(space, n_clusters, seed=self.seed,
                                       n_init=UMAP_KMEANS_RESTARTS, judge=embedded,
                                       tolerance=self.restart_tolerance)
        else:
            space, labels = embedded, kmeans_labels(embedded, n_clusters, seed=self.seed)
        space = self.clustering_space_ = np.asarray(space, np.float32)
        self.n_clusters_ = int(n_clusters)
        centres = np.stack([space[labels == k].mean(axis=0) if np.any(labels == k)
                            else np.full(space.shape[1], 1e6, np.float32)
                            for k in range(self.n_clusters_)])
        squared = ((space ** 2).sum(1, keepdims=True) - 2.0 * space @ centres.T
                   + (centres ** 2).sum(1)[None, :])
        self.distances_ = np.sqrt(np.maximum(squared, 0.0)).astype(np.float32)
        self.cluster_labels_ = np.asarray(labels, np.int64)

    def _confident(self, distances):
        confident = np.zeros(len(distances), bool)
        labels = self.cluster_labels_
        for k in range(self.n_clusters_):
            members = np.flatnonzero(labels == k)
            if members.size:
                cut = np.quantile(distances[members], self.confidence)
                confident[members[distances[members] <= cut]] = True
        return confident

    def _imprinted_weights(self):
        """Weight imprinting (Qi et al. 2018): the normalised centroids of the
        confident members, scaled as a cosine classifier with temperature
        1 / PROTOTYPE_SCALE."""
        prototypes = []
        for k in range(self.n_clusters_):  # one cluster's rows at a time
            members = np.flatnonzero(self.confident_ & (self.cluster_labels_ == k))
            prototypes.append(_l2_normalize(self.features_[members]).mean(axis=0)
                              if members.size else np.zeros(self.features_.shape[1]))
        prototypes = np.stack(prototypes)
        return [PROTOTYPE_SCALE * _l2_normalize(prototypes).T.astype(np.float32),
                np.zeros(self.n_clusters_, np.float32)]

    def _build_models(self):
        """`(trainer, head, classifier)`. The head maps features to
        probabilities; the classifier is images -> backbone -> head for
        export. The trainer is the head itself on cached features, or, when
        fine-tuning, spec-sized images -> random translation -> a trainable
        copy of the backbone -> head."""
        spec = self.image_spec_
        normalize = keras.layers.UnitNormalization(name="l2_normalize")
        dense = keras.layers.Dense(self.n_clusters_, activation="softmax",
                                   name="pseudo_label_head")
        feature_input = keras.Input(shape=(self.features_.shape[1],), name="features")
        head = keras.Model(feature_input, dense(normalize(feature_input)), name="head")
        dense.set_weights(self._imprinted_weights())
        backbone = self.backbone_
        trainer = head
        if self.fine_tuned_:
            source = self.backbone if self.backbone is not None else self.backbone_name_
            if isinstance(source, keras.Model):
                source = keras.models.clone_model(source)  # leave the user's model as it is
            backbone = load_backbone(source, trainable=True, image_size=self.image_size_,
                                     weights=self.weights)
            # A second copy: fine-tuning it leaves `backbone_` (and
            # `transform`) unchanged; it starts from the same weights (a
            # flip-averaged `backbone_` holds exactly the backbone's weights).
            backbone.set_weights(self.backbone_.get_weights())
            augment = keras.layers.RandomTranslation(0.07, 0.07, fill_mode="constant",
                                                     seed=self.seed, name="augment")
            spec_images = keras.Input(shape=spec.shape, name="spec_images")
            # Inference mode inside the backbone (frozen batch-norm
            # statistics, no dropout) while its weights train: the Keras
            # fine-tuning recipe.
            trainer = keras.Model(
                spec_images, head(backbone(augment(spec_images), training=False)),
                name="trainer")
        return trainer, head, self._classifier(head, backbone), backbone

    def _classifier(self, head, backbone):
        """images at any size -> spec -> backbone -> head (for export);
        strings -> text encoder -> head for text."""
        if self.modality_ == "text":
            texts = keras.Input(shape=(), dtype="string", name="texts")
            return keras.Model(texts, head(backbone(texts, training=False)),
                               name="transfer_clustering_classifier")
        spec = self.image_spec_
        to_spec = ToImageSpec(spec.height, spec.width, spec.channels, spec.content_fraction,
                              crop_to_aspect_ratio=spec.crop_to_aspect_ratio,
                              name="to_image_spec")
        images = keras.Input(shape=(None, None, self.n_channels_), name="images")
        return keras.Model(images, head(backbone(to_spec(images), training=False)),
                           name="transfer_clustering_classifier")

    def _refine(self):
        """SCAN-style refinement head on the cached features (neighbour
        consistency + KL to the cluster sizes found), h-clusteralg's
        `refine_clusters`."""
        from tfunsup.cluster.refinement import refine_clusters

        neighbors = self.neighbors_
        n_neighbors = 20 if neighbors is None else min(20, neighbors.shape[1])
        if neighbors is None:
            n_neighbors = min(n_neighbors, len(self.features_) - 1)
        result = refine_clusters(self.features_, self.cluster_labels_,
                                 n_clusters=self.n_clusters_, neighbors=neighbors,
                                 n_neighbors=n_neighbors, prior=self.prior_,
                                 epochs=self.head_epochs, jit_compile=self.jit_compile,
                                 seed=self.seed, deterministic=self.deterministic,
                                 verbose=2 if self.verbose else 0)
        self.head_ = result.model
        self.classifier_ = self._classifier(self.head_, self.backbone_)
        self.pseudo_label_history_.append(result.labels)

    def _train_head(self, dataset, strategy):
        from tfunsup.cluster.refinement import estimate_prior

        self.prior_ = estimate_prior(self.cluster_labels_, self.n_clusters_)
        if self.refinement and not self.fine_tuned_:
            self._refine()
            return
        with strategy.scope():
            trainer, self.head_, self.classifier_, backbone = self._build_models()
            trainer.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                            loss="sparse_categorical_crossentropy",
                            jit_compile=training.resolve_jit_compile(
                                self.jit_compile, strategy, deterministic=self.deterministic))
        self.tuned_backbone_ = backbone if self.fine_tuned_ else None
        pseudo_labels, confident = self.cluster_labels_, self.confident_
        rounds = self.self_labeling_rounds
        if rounds == "auto":
            # Re-estimated pseudo-labels help a backbone that learns with the
            # head; on frozen features they only drift (CIFAR-10, README).
            rounds = 3 if self.fine_tuned_ else 1
        epochs = np.diff(np.linspace(0, self.head_epochs, rounds + 1).round().astype(int))
        self.pseudo_label_history_ = []
        rng = np.random.default_rng(self.seed)
        for round_, round_epochs in enumerate(epochs):
            if round_ > 0:
                probabilities = self._probabilities_from_features(self._head_features(dataset))
                balanced = self._size_constrained(probabilities)
                pseudo_labels = balanced.argmax(axis=1)
                confidence = balanced[np.arange(len(pseudo_labels)), pseudo_labels]
                self.cluster_labels_ = pseudo_labels
                confident = self._confident(-confidence)
            self.pseudo_label_history_.append(pseudo_labels)
            if round_epochs == 0:
                continue
            chosen = np.flatnonzero(confident)
            if self.fine_tuned_:
                # Stream the confident items (in a fresh random order each
                # round) through the pipeline; labels follow their position.
                chosen = rng.permutation(chosen)
                labels = pseudo_labels[chosen]
                items = dataset.subset(self.index_[chosen])
                train = image_pipeline(items, self.image_spec_, min(self.batch_size or 64, 64),
                                       ignore_errors=False)
                train = train.map(lambda x, i: (x, _gather(labels, i)))
            else:
                train = make_dataset(self.features_[chosen], labels=pseudo_labels[chosen],
                                     batch_size=min(self.batch_size or 64, 64), shuffle=True,
                                     seed=self.seed, autotune=False, copy=False)
            trainer.fit(train, epochs=int(round_epochs), shuffle=False,
                        verbose=2 if self.verbose else 0)

    def _size_constrained(self, probabilities):
        """Sinkhorn pseudo-labels under a cluster-size prior that fits.

        Equal sizes (SeLa) split clusters that the clustering merged, but
        force balance on long-tailed data. The equal-size prior is applied
        only when it fits: when it relabels at most `UNIFORM_PRIOR_TOLERANCE`
        of the items the head assigns; otherwise the sizes the clustering
        found are kept (`prior_` estimated)."""
        log_p = np.log(np.maximum(probabilities, 1e-12))
        uniform = balanced_assignment(log_p)
        moved = float(np.mean(uniform.argmax(axis=1) != probabilities.argmax(axis=1)))
        self.size_prior_ = "uniform" if moved <= UNIFORM_PRIOR_TOLERANCE else "estimated"
        if self.size_prior_ == "uniform":
            return uniform
        return balanced_assignment(log_p, prior=self.prior_)

    def _head_features(self, dataset):
        """Features the head sees for the fit items: cached, or re-extracted
        by the fine-tuned backbone."""
        if not self.fine_tuned_:
            return self.features_
        result = extract_features(self.tuned_backbone_, dataset.subset(self.index_),
                                  spec=self.image_spec_, backbone_name=self.backbone_name_,
                                  batch_size=self.batch_size)
        return result.features

    def _probabilities_from_features(self, features):
        return self.head_.predict(make_dataset(features, batch_size=1024, cache=False,
                                               copy=False), verbose=0)

    def _check_fitted(self):
        if not hasattr(self, "labels_"):
            raise NotFittedError("This TransferClustering instance is not fitted yet. "
                                 "Call 'fit' with appropriate arguments first.")

    def _features_of(self, X, backbone):
        """`(features of the readable items, their positions, n items)`."""
        dataset = as_dataset(X)
        if isinstance(dataset, TextDataset) != (self.modality_ == "text"):
            raise ValueError(f"Expected {'texts' if self.modality_ == 'text' else 'images'} "
                             f"like the fit data. Received: {type(dataset).__name__}")
        if isinstance(dataset, ArrayDataset) and dataset.images.shape[-1] != self.n_channels_:
            raise ValueError(
                f"Expected images with {self.n_channels_} channels like the fit data. "
                f"Received shape={dataset.images.shape}")
        result = extract_features(backbone, dataset, spec=self.image_spec_,
                                  backbone_name=self.backbone_name_, batch_size=self.batch_size)
        return result.features, result.index, len(dataset)

    def transform(self, X):
        """Backbone features of `X`, normalised/projected as in `fit`.

        Args:
            X: `ImageDataset` or float32 `(n, height, width, channels)` in
                [0, 1]; `TextDataset` or a list of `str` when fitted on text.

        Returns:
            float32 `(n, d)`: `d` is `pca_components` or the feature dim;
            rows of unreadable files are NaN.
        """
        self._check_fitted()
        features, index, n = self._features_of(X, self.backbone_)
        embedded = self._embed(features)
        out = np.full((n, embedded.shape[1]), np.nan, np.float32)
        out[index] = embedded
        return out

    def predict_proba(self, X):
        """Head probabilities `(n, n_clusters)`; NaN rows for unreadable files.

        Raises:
            NotFittedError: before `fit`.
            RuntimeError: fitted with `head_epochs=0`.
        """
        self._check_fitted()
        if self.head_ is None:
            raise RuntimeError("No Keras head: fit with head_epochs > 0.")
        features, index, n = self._features_of(X, self.tuned_backbone_ or self.backbone_)
        out = np.full((n, self.n_clusters_), np.nan, np.float32)
        out[index] = self._probabilities_from_features(features)
        return out

    def predict(self, X, method="head"):
        """Cluster index of each image.

        Args:
            X: `ImageDataset` or float32 `(n, height, width, channels)` in
                [0, 1]; `TextDataset` or a list of `str` when fitted on text.
            method: `"head"` (the Keras classifier) or `"svm"`.

        Returns:
            int64 `(n,)` cluster indices in `[0, n_clusters)`; -1 for
            unreadable files.
        """
        self._check_fitted()
        if method not in ("svm", "head"):
            raise ValueError(f"Expected method 'head' or 'svm'. Received: method={method!r}")
        if method == "svm" or self.head_ is None:
            features, index, n = self._features_of(X, self.backbone_)
            out = np.full(n, -1, np.int64)
            out[index] = predict_in_chunks(self.svm_.predict, self._embed(features))
            return out
        probabilities = self.predict_proba(X)
        out = np.full(len(probabilities), -1, np.int64)
        readable = ~np.isnan(probabilities[:, 0])
        out[readable] = probabilities[readable].argmax(axis=1)
        return out

    def score(self, X, y, method="head"):
        """ACC (Hungarian-matched), NMI and ARI of `predict(X)` against labels.

        Labels are used only here, to score (unreadable files are left out).

        Returns:
            dict with float `acc`, `nmi`, `ari`.
        """
        predicted = self.predict(X, method=method)
        kept = predicted >= 0
        return clustering_scores(np.asarray(y)[kept], predicted[kept])

    def export(self, path, overwrite=False):
        """Exports backbone + head as one SavedModel (`serve`: float32 images
        `(batch, height, width, channels)` in [0, 1] at any size, or for
        text a string tensor `(batch,)`, -> `(batch, n_clusters)`
        probabilities).

        Raises:
            NotFittedError: before `fit`.
            RuntimeError: fitted with `head_epochs=0`.
            FileExistsError: `path` exists and `overwrite` is False.
        """
        self._check_fitted()
        if self.classifier_ is None:
            raise RuntimeError("No Keras head to export: fit with head_epochs > 0.")
        return export_atomically(self.classifier_, path, overwrite=overwrite)


def _gather(values, index):
    import tensorflow as tf

    return tf.gather(tf.constant(values), index)
