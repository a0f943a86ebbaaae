"""Sample-quality metrics of generative models: FID, KID and a classifier
Inception Score.

The distances compare features of real and generated images from a feature
extractor: by default our MNIST-5k source feature model (for digit data, a
domain classifier's features, the usual practice for MNIST), or any backbone
spec `tfunsup.backbones.load_backbone` takes (e.g. Inception-v3 from a TF Hub
handle or `"keras:InceptionV3"` when its weights are available). The pure
functions (`frechet_distance`, `kernel_distance`, `inception_score`) work on
feature / probability arrays and are tested against known values.
"""

import warnings

import numpy as np
import scipy.linalg

from tfunsup.data.validation import check_images


def _check_features(features, name):
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(
            f"Expected {name} of shape (n_samples >= 2, feature_dim). Received shape={x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or Inf values.")
    return x


def _check_feature_pair(real_features, fake_features):
    """Both feature arrays checked, float64, of one feature dimension."""
    real = _check_features(real_features, "real_features")
    fake = _check_features(fake_features, "fake_features")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"Expected features of equal dimension. Received real_features {real.shape} "
            f"and fake_features {fake.shape}")
    return real, fake


def frechet_distance(real_features, fake_features, epsilon=1e-6):
    """Fréchet distance between Gaussians fitted to two feature sets (FID).

    .. math::
        d^2 = \\|\\mu_r - \\mu_g\\|_2^2
              + \\mathrm{Tr}(\\Sigma_r + \\Sigma_g - 2 (\\Sigma_r \\Sigma_g)^{1/2})

    The matrix square root is `scipy.linalg.sqrtm`; when it is not finite
    (singular covariances), `epsilon * I` is added to both covariances first.
    The estimate is biased upwards for few samples: compare FIDs computed
    with the same numbers of samples.

    Args:
        real_features: float array `(n_real, feature_dim)`.
        fake_features: float array `(n_fake, feature_dim)`.
        epsilon: float >= 0, diagonal offset used only when needed.

    Returns:
        float >= 0 (0 for identical Gaussians).

    Raises:
        ValueError: on feature arrays that are not 2-D with at least 2 rows,
            differ in `feature_dim`, or hold NaN/Inf.

    Reference:
        Heusel, Ramsauer, Unterthiner, Nessler, Hochreiter. GANs Trained by a
        Two Time-Scale Update Rule Converge to a Local Nash Equilibrium.
        NeurIPS 2017.
    """
    real, fake = _check_feature_pair(real_features, fake_features)
    mu_r, mu_g = real.mean(axis=0), fake.mean(axis=0)
    sigma_r = np.atleast_2d(np.cov(real, rowvar=False))
    sigma_g = np.atleast_2d(np.cov(fake, rowvar=False))
    with warnings.catch_warnings():
        # Singular covariances (e.g. dead ReLU features) are handled below.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma_r @ sigma_g)
        if not np.all(np.isfinite(covmean)):
            offset = np.eye(sigma_r.shape[0]) * epsilon
            covmean = scipy.linalg.sqrtm((sigma_r + offset) @ (sigma_g + offset))
    covmean = np.real(covmean)
    diff = mu_r - mu_g
    distance = diff @ diff + np.trace(sigma_r) + np.trace(sigma_g) - 2.0 * np.trace(covmean)
    return float(max(distance, 0.0))


def _polynomial_mmd2(x, y):
    """Unbiased MMD^2 with the cubic polynomial kernel k(a, b) = (a.b / d + 1)^3."""
    d = x.shape[1]
    m = x.shape[0]
    k_xx = (x @ x.T / d + 1.0) ** 3
    k_yy = (y @ y.T / d + 1.0) ** 3
    k_xy = (x @ y.T / d + 1.0) ** 3
    sum_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    sum_yy = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return sum_xx + sum_yy - 2.0 * k_xy.mean()


def kernel_distance(real_features, fake_features, subset_size=1000, n_subsets=100, seed=0):
    """Kernel Inception Distance: unbiased squared MMD with a cubic kernel (KID).

    .. math::
        k(a, b) = (a^\\top b / d + 1)^3, \\qquad
        \\widehat{MMD}^2_u = \\frac{\\sum_{i \\ne j} k(x_i, x_j)}{m(m-1)}
            + \\frac{\\sum_{i \\ne j} k(y_i, y_j)}{m(m-1)}
            - \\frac{2}{m^2} \\sum_{i, j} k(x_i, y_j)

    averaged over `n_subsets` random subsets of `m = min(subset_size,
    n_real, n_fake)` samples each. The estimator is unbiased, so it is near 0
    (and can be slightly negative) for two samples of one distribution, and
    unlike FID it does not depend on the number of samples in expectation.

    Args:
        real_features: float array `(n_real, feature_dim)`.
        fake_features: float array `(n_fake, feature_dim)`.
        subset_size: int >= 2.
        n_subsets: int >= 1.
        seed: int seed of the subset draws.

    Returns:
        `(mean, std)` of the estimate over the subsets, floats.

    Raises:
        ValueError: on bad feature arrays or sizes.

    Reference:
        Bińkowski, Sutherland, Arbel, Gretton. Demystifying MMD GANs. ICLR 2018.
    """
    real, fake = _check_feature_pair(real_features, fake_features)
    if subset_size < 2:
        raise ValueError(f"Expected subset_size >= 2. Received: subset_size={subset_size}")
    if n_subsets < 1:
        raise ValueError(f"Expected n_subsets >= 1. Received: n_subsets={n_subsets}")
    m = min(subset_size, len(real), len(fake))
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(n_subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        estimates.append(_polynomial_mmd2(x, y))
    return float(np.mean(estimates)), float(np.std(estimates))


def inception_score(probabilities, n_splits=10, seed=0):
    """Inception Score of class probabilities: `exp(E_x KL(p(y|x) || p(y)))`.

    Ranges from 1 (every sample gets the same prediction, or every prediction
    is uniform) to the number of classes (confident predictions spread evenly
    over the classes). Computed on each of `n_splits` equal splits of the
    rows in a random order (so that data sorted by class, such as MNIST-5k,
    is scored like i.i.d. samples); `p(y)` is the mean prediction of the split.

    Args:
        probabilities: float array `(n_samples, n_classes)`, rows summing to 1.
        n_splits: int >= 1, at most `n_samples`.
        seed: int seed of the row order; None keeps the given order.

    Returns:
        `(mean, std)` over the splits, floats.

    Raises:
        ValueError: on a non 2-D array, negative values, rows not summing to
            1, or `n_splits` out of range.

    Reference:
        Salimans et al. Improved Techniques for Training GANs. NeurIPS 2016.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(
            f"Expected probabilities of shape (n_samples, n_classes >= 2). Received shape={p.shape}")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("Expected probabilities: non-negative rows summing to 1.")
    if not 1 <= n_splits <= len(p):
        raise ValueError(
            f"Expected 1 <= n_splits <= {len(p)} (n_samples). Received: n_splits={n_splits}")
    if seed is not None:
        p = p[np.random.default_rng(seed).permutation(len(p))]
    scores = []
    for part in np.array_split(p, n_splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


# -- image-level helpers ------------------------------------------------------


def _default_source_path(classifier=False):
    """The default MNIST-5k source SavedModel (features or classifier); metrics
    never train it: a missing model is an error naming the explicit call."""
    from tfunsup.source.source_model import (
        SOURCE_CLASSIFIER_NAME,
        default_source_model_path,
    )

    path = default_source_model_path()
    if classifier:
        path = path.parent / SOURCE_CLASSIFIER_NAME
    if not (path / "saved_model.pb").is_file():
        raise FileNotFoundError(
            f"Expected the MNIST-5k source {'classifier' if classifier else 'feature model'} "
            f"SavedModel at '{path}'. Train it once with "
            "`tfunsup.source.ensure_source_model()` (the `tfunsup gan` command does), or "
            "pass a path / backbone.")
    return path


def load_feature_extractor(backbone=None, image_size=None, weights="imagenet"):
    """The feature extractor FID / KID use.

    Args:
        backbone: None for our MNIST-5k source feature SavedModel (which
            must exist: `tfunsup.source.ensure_source_model()` trains it
            once), or any spec
            `tfunsup.backbones.load_backbone` takes: a TF Hub handle (e.g.
            Inception-v3), a SavedModel folder, `"keras:InceptionV3"`, or a
            `keras.Model`.
        image_size: `(height, width)` input size for specs without one.
        weights: weights of `keras:` specs.

    Returns:
        A functional `keras.Model` with an `image_spec` attribute, from images
        in [0, 1] to `(batch, feature_dim)` features.

    Raises:
        FileNotFoundError: `backbone=None` and the source model is missing.
    """
    from tfunsup.backbones import load_backbone

    if backbone is None:
        backbone = str(_default_source_path())
    return load_backbone(backbone, image_size=image_size, weights=weights)


def _to_input(images, spec, batch_size):
    """A `tf.data` pipeline bringing `images` to `spec`; images already at the
    input's shape (e.g. 28x28 MNIST for the MNIST models) are used as they are."""
    from tfunsup.data import make_dataset

    same = spec.height is not None and tuple(images.shape[1:]) == tuple(spec.shape)
    return make_dataset(images, None if same else spec, batch_size=batch_size,
                        cache=False, autotune=False)


def extract_features(images, feature_extractor, batch_size=500):
    """Features of `images` from a `load_feature_extractor` model.

    Args:
        images: float32 `(n, height, width, channels)` in [0, 1].
        feature_extractor: model from `load_feature_extractor`.
        batch_size: images per forward pass.

    Returns:
        float32 numpy array `(n, feature_dim)`.
    """
    images = check_images(images)
    dataset = _to_input(images, feature_extractor.image_spec, batch_size)
    return np.asarray(feature_extractor.predict(dataset, verbose=0))


class _SavedClassifier:
    """A classifier SavedModel with `serve(images) -> probabilities` (kept referenced)."""

    def __init__(self, path):
        import tensorflow as tf

        from tfunsup.source import MNIST_IMAGE_SPEC

        self.path = str(path)
        self.module = tf.saved_model.load(self.path)
        self.image_spec = MNIST_IMAGE_SPEC

    def __call__(self, images):
        return self.module.serve(images)


def load_classifier(path=None):
    """The digit classifier of the classifier Inception Score.

    Args:
        path: a SavedModel folder whose `serve` maps images `(batch, 28, 28,
            1)` in [0, 1] to class probabilities; None for our MNIST-5k
            source classifier (which must exist:
            `tfunsup.source.ensure_source_classifier()` trains it once).

    Returns:
        A callable from an image batch to probabilities, with an `image_spec`
        (MNIST framing) that other image sizes are brought to.

    Raises:
        FileNotFoundError: `path=None` and the source classifier is missing.
    """
    if path is None:
        path = _default_source_path(classifier=True)
    return _SavedClassifier(path)


def classify(images, classifier=None, batch_size=500):
    """Class probabilities of `images` under `classifier` (default: ours).

    Args:
        images: float32 `(n, height, width, channels)` in [0, 1].
        classifier: from `load_classifier`, or None.
        batch_size: images per call.

    Returns:
        float32 numpy array `(n, n_classes)`.
    """
    images = check_images(images)
    classifier = classifier if classifier is not None else load_classifier()
    dataset = _to_input(images, classifier.image_spec, batch_size)
    return np.concatenate([np.asarray(classifier(batch)) for batch in dataset])


def classifier_inception_score(images, classifier=None, n_splits=10, batch_size=500):
    """Inception Score of `images` under a digit classifier, plus class shares.

    Args:
        images: float32 `(n, height, width, channels)` in [0, 1].
        classifier: from `load_classifier`, or None for ours.
        n_splits: splits of `inception_score`.
        batch_size: images per call.

    Returns:
        dict with `inception_score`, `inception_score_std` and
        `class_fractions` (list: share of images whose most likely class is
        each class).
    """
    probabilities = classify(images, classifier, batch_size)
    score, std = inception_score(probabilities, min(n_splits, len(probabilities)))
    counts = np.bincount(probabilities.argmax(axis=1), minlength=probabilities.shape[1])
    return {"inception_score": score, "inception_score_std": std,
            "class_fractions": (counts / counts.sum()).tolist()}


def nearest_neighbor_scores(train_images, fake_images):
    """A copying check: how close samples lie to their nearest training image.

    Euclidean pixel distance from each generated image to its nearest
    training image, against each training image's distance to its nearest
    *other* training image (scikit-learn `NearestNeighbors`). Samples that
    copied training images would sit much closer (ratio well below 1); a
    ratio near or above 1 means samples are as novel as a new draw of real
    data would be. A coarse check (cf. Meehan, Chaudhuri, Dasgupta. A
    Non-Parametric Test to Detect Data-Copying in Generative Models.
    AISTATS 2020), not a proof of generalisation.

    Args:
        train_images: float32 `(n_train, height, width, channels)` in [0, 1],
            n_train >= 2.
        fake_images: float32 `(n_fake, height, width, channels)` in [0, 1].

    Returns:
        dict: `fake_median` and `train_median` (median nearest-neighbour
        distances), `ratio` = fake_median / train_median, and
        `fake_below_half` / `train_below_half`: the fraction of samples /
        of training images closer than half of train_median to a (other)
        training image.
    """
    from sklearn.neighbors import NearestNeighbors

    train = check_images(train_images, name="train_images")
    fake = check_images(fake_images, name="fake_images")
    if train.shape[1:] != fake.shape[1:] or len(train) < 2:
        raise ValueError(
            "Expected >= 2 train_images of the fake_images' shape. Received "
            f"{train.shape} and {fake.shape}")
    train = train.reshape(len(train), -1)
    neighbors = NearestNeighbors(n_neighbors=2).fit(train)
    train_distance = neighbors.kneighbors(train)[0][:, 1]  # [:, 0] is the image itself
    fake_distance = neighbors.kneighbors(fake.reshape(len(fake), -1), n_neighbors=1)[0][:, 0]
    train_median = float(np.median(train_distance))
    fake_median = float(np.median(fake_distance))
    return {"fake_median": fake_median, "train_median": train_median,
            "ratio": fake_median / train_median,
            "fake_below_half": float(np.mean(fake_distance < 0.5 * train_median)),
            "train_below_half": float(np.mean(train_distance < 0.5 * train_median))}


def generative_scores(real_images, fake_images, *, feature_extractor=None, classifier=None,
                      kid_subset_size=1000, kid_subsets=100, seed=0):
    """FID, KID and the classifier Inception Score of generated images.

    Args:
        real_images: float32 `(n_real, height, width, channels)` in [0, 1].
        fake_images: float32 `(n_fake, height, width, channels)` in [0, 1].
        feature_extractor: from `load_feature_extractor`, or None for our
            MNIST-5k source features.
        classifier: from `load_classifier`, None for ours, or False to skip
            the Inception Score (non-digit data).
        kid_subset_size, kid_subsets: see `kernel_distance`.
        seed: seed of the KID subsets.

    Returns:
        dict with `fid`, `kid`, `kid_std`, and unless `classifier=False`,
        `inception_score`, `inception_score_std`, `class_fractions`.
    """
    real_images = check_images(real_images, name="real_images")
    fake_images = check_images(fake_images, name="fake_images")
    if real_images.shape[1:] != fake_images.shape[1:]:
        raise ValueError(
            f"Expected real_images and fake_images of one image shape. Received "
            f"{real_images.shape[1:]} and {fake_images.shape[1:]}")
    extractor = feature_extractor if feature_extractor is not None else load_feature_extractor()
    real = extract_features(real_images, extractor)
    fake = extract_features(fake_images, extractor)
    kid, kid_std = kernel_distance(real, fake, kid_subset_size, kid_subsets, seed)
    scores = {"fid": frechet_distance(real, fake), "kid": kid, "kid_std": kid_std}
    if classifier is not False:
        scores.update(classifier_inception_score(fake_images, classifier or None))
    return scores
