"""Scoring anomaly detectors: ROC-AUC, average precision, the one-class protocol."""

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from tfunsup.data.validation import check_images, check_labels


def anomaly_metrics(is_anomaly, scores):
    """ROC-AUC and average precision of anomaly scores (scikit-learn).

    Args:
        is_anomaly: int or bool `(n,)`, 1 for anomalies (both classes present).
        scores: float `(n,)`, higher = more anomalous.

    Returns:
        dict with float `roc_auc` and `average_precision` (anomalies are
        the positive class).

    Raises:
        ValueError: mismatched lengths or a single class.
    """
    is_anomaly = np.asarray(is_anomaly).astype(int).reshape(-1)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if is_anomaly.shape != scores.shape:
        raise ValueError(f"Expected is_anomaly and scores of the same length. "
                         f"Received {is_anomaly.shape[0]} and {scores.shape[0]}")
    if len(np.unique(is_anomaly)) != 2:
        raise ValueError("Expected both normal (0) and anomalous (1) items in is_anomaly.")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contains NaN or Inf values.")
    return {"roc_auc": float(roc_auc_score(is_anomaly, scores)),
            "average_precision": float(average_precision_score(is_anomaly, scores))}


def one_class_split(labels, normal_class, train_fraction=0.8, seed=0, anomalies="held_out"):
    """Train/test indices of the one-class protocol for one normal class.

    Every class is split at random into `train_fraction` / the rest; the
    training indices are the normal class's training part. The test
    indices are the held-out part of the normal class plus, with
    `anomalies="held_out"`, the held-out part of every other class (the
    test split is then the same for every `normal_class` given `seed`),
    or with `anomalies="all"` every item of the other classes (the
    protocol of DN2/PANDA-style CIFAR-10 benchmarks: train on 80 % of a
    class, test on the remaining 20 % plus all other classes).

    Args:
        labels: int `(n,)` classes.
        normal_class: the class treated as normal.
        train_fraction: float in (0, 1).
        seed: int, the random split.
        anomalies: `"held_out"` or `"all"`.

    Returns:
        `(train_index, test_index)` sorted int arrays.

    Raises:
        ValueError: bad `train_fraction` or `anomalies`, unknown class.
    """
    if anomalies not in ("held_out", "all"):
        raise ValueError(f"Expected anomalies 'held_out' or 'all'. "
                         f"Received: anomalies={anomalies!r}")
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"Expected train_fraction in (0, 1). "
                         f"Received: train_fraction={train_fraction}")
    rng = np.random.default_rng(seed)
    train, test = {}, []
    for c in np.unique(labels):
        index = rng.permutation(np.flatnonzero(labels == c))
        cut = int(round(train_fraction * len(index)))
        train[c] = index[:cut]
        test.append(index[cut:])
    if normal_class not in train:
        raise ValueError(f"Normal class {normal_class!r} is not in the labels.")
    if anomalies == "all":
        held_out = np.setdiff1d(np.flatnonzero(labels == normal_class), train[normal_class])
        test = [held_out, np.flatnonzero(labels != normal_class)]
    return np.sort(train[normal_class]), np.sort(np.concatenate(test))


def one_class_evaluation(make_detector, images, labels, *, classes=None, train_fraction=0.8,
                         seed=0, progress=None):
    """The standard one-class anomaly benchmark (e.g. Ruff et al. 2018 on MNIST).

    For each class c: fit a fresh detector on the training part of class c
    only (no labels used in fitting), score the held-out part of all classes
    (c normal, every other class anomalous), and compute ROC-AUC and AP.

    Args:
        make_detector: callable `(normal_class) -> detector` with `fit` and
            `score_samples` (e.g. a `ReconstructionAnomalyDetector`).
        images: float32 `(n, height, width, channels)` in [0, 1].
        labels: int `(n,)` classes (used only to split and score).
        classes: the normal classes to run; default all.
        train_fraction: float in (0, 1), share of each class used to train.
        seed: int, the split.
        progress: optional callable `(normal_class, metrics) -> None`.

    Returns:
        dict with `auc_per_class`, `ap_per_class` (`{class: float}`),
        `mean_auc`, `mean_ap`, `test_index` (int array), and `scores`
        (`{class: float array over test_index}`) and `detectors`.

    Reference:
        Ruff et al. Deep One-Class Classification. ICML 2018.
    """
    images = check_images(images, name="images")
    labels = check_labels(labels, len(images))
    classes = list(np.unique(labels) if classes is None else classes)
    result = {"auc_per_class": {}, "ap_per_class": {}, "scores": {}, "detectors": {}}
    test_index = None
    for c in classes:
        train_index, test_index = one_class_split(labels, c, train_fraction, seed)
        detector = make_detector(c).fit(images[train_index])
        scores = detector.score_samples(images[test_index])
        metrics = anomaly_metrics(labels[test_index] != c, scores)
        key = int(c)
        result["auc_per_class"][key] = metrics["roc_auc"]
        result["ap_per_class"][key] = metrics["average_precision"]
        result["scores"][key] = scores
        result["detectors"][key] = detector
        if progress is not None:
            progress(key, metrics)
    result["mean_auc"] = float(np.mean(list(result["auc_per_class"].values())))
    result["mean_ap"] = float(np.mean(list(result["ap_per_class"].values())))
    result["test_index"] = test_index
    return result
