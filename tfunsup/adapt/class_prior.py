"""Class priors of an unlabeled target domain, estimated from a classifier's outputs."""

import numpy as np


def estimate_class_prior(probabilities, source_prior=None, max_iter=1000, tol=1e-8):
    """Target class prior by EM re-estimation from a source classifier's posteriors.

    The classifier was trained where classes had frequencies `source_prior`
    and outputs `p_s(y | x)`. If only the class prior changes on the target
    (label shift), the target posteriors are the source ones re-weighted by
    `pi_t / pi_s`, and `pi_t` is the fixed point of

    .. math::
        p_t^{(s)}(y_k|x_i) = \\frac{\\pi^{(s)}_k / \\pi^s_k \\; p_s(y_k|x_i)}
        {\\sum_j \\pi^{(s)}_j / \\pi^s_j \\; p_s(y_j|x_i)}, \\qquad
        \\pi^{(s+1)}_k = \\frac{1}{n}\\sum_i p_t^{(s)}(y_k|x_i),

    started from `pi^(0) = pi_s`; each step increases the likelihood of the
    unlabeled target images. It assumes calibrated posteriors; an
    over-confident classifier gives a prior close to the share of its
    argmax labels.

    Args:
        probabilities: float array `(n, n_classes)`, the source classifier's
            posteriors on the target images, rows summing to 1.
        source_prior: None (uniform) or float array `(n_classes,)`, the
            class frequencies the classifier was trained with; positive.
        max_iter: int >= 1, EM steps at most.
        tol: float >= 0, stop when no class's prior moves by more than this.

    Returns:
        float64 array `(n_classes,)`, the estimated target prior (sums to 1).

    Raises:
        ValueError: on a bad shape or a non-positive source prior.

    Reference:
        Saerens, Latinne, Decaestecker. Adjusting the Outputs of a Classifier
        to New a Priori Probabilities: A Simple Procedure. Neural
        Computation 14(1), 2002.
    """
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 2 or len(probabilities) == 0:
        raise ValueError("Expected probabilities of shape (n, n_classes) with n >= 1. "
                         f"Received: probabilities.shape={probabilities.shape}")
    n_classes = probabilities.shape[1]
    if source_prior is None:
        source_prior = np.full(n_classes, 1 / n_classes)
    source_prior = np.asarray(source_prior, np.float64)
    if source_prior.shape != (n_classes,) or not (source_prior > 0).all():
        raise ValueError(f"Expected a positive source_prior of shape ({n_classes},). "
                         f"Received: source_prior={source_prior}")
    source_prior = source_prior / source_prior.sum()
    prior = source_prior
    for _ in range(max_iter):
        weighted = probabilities * (prior / source_prior)
        posteriors = weighted / np.maximum(weighted.sum(axis=1, keepdims=True), 1e-300)
        new_prior = posteriors.mean(axis=0)
        converged = np.abs(new_prior - prior).max() <= tol
        prior = new_prior
        if converged:
            break
    return prior / prior.sum()


def class_frequencies(labels, n_classes):
    """Share of each class among integer labels, add-one smoothed so none is 0.

    Args:
        labels: int array `(n,)` in `[0, n_classes)`.
        n_classes: int >= 1.

    Returns:
        float64 array `(n_classes,)`, `(count_k + 1) / (n + n_classes)`.
    """
    counts = np.bincount(np.asarray(labels, np.int64), minlength=n_classes)[:n_classes]
    return (counts + 1.0) / (counts.sum() + n_classes)
