"""Self-training: confident pseudo-labels of unlabelled items, then retraining."""

import numpy as np


def self_training(fit, labelled_inputs, labels, unlabelled_inputs, *, threshold=0.8,
                  n_rounds=3):
    """Trains a classifier on labelled items plus its own confident pseudo-labels.

    Round 0 fits on the labelled items only. Each following round predicts
    the unlabelled items with the last classifier, keeps those whose
    highest class probability is at least `threshold` (the fixed confidence
    threshold τ of Pseudo-Label and FixMatch), and fits a fresh classifier on
    the labelled items plus these pseudo-labelled ones. Pseudo-labels are
    recomputed every round, so an item may enter, change class or leave.
    Stops early when a round selects the same items with the same labels.

    Args:
        fit: callable `(inputs, labels) -> model`, training a new classifier
            on an array of inputs and int labels `(m,)`; `model.predict_proba(
            inputs)` returns float `(m, n_classes)` probabilities, columns in
            the sorted order of `labels`' values.
        labelled_inputs: array `(n, ...)` (features or strings).
        labels: int array `(n,)`.
        unlabelled_inputs: array `(u, ...)` of the same kind, no labels.
        threshold: float in (0, 1], τ.
        n_rounds: int >= 0, pseudo-labelling rounds (0: the labelled items only).

    Returns:
        dict with `"model"` (the last classifier), `"n_pseudo_labels"`: the
        number of pseudo-labelled items per round (list, round 1 first) and
        `"pseudo_labels"`: int array `(u,)` of the last round's pseudo-labels,
        -1 for unselected items.

    Raises:
        ValueError: mismatched lengths, no unlabelled items or bad parameters.

    Reference:
        Lee. Pseudo-Label: The Simple and Efficient Semi-Supervised Learning
        Method for Deep Neural Networks. ICML 2013 Workshop. Sohn et al.
        FixMatch. NeurIPS 2020 (the confidence threshold).
    """
    labels = np.asarray(labels)
    if labels.shape != (len(labelled_inputs),):
        raise ValueError(f"Expected labels of shape ({len(labelled_inputs)},) like the "
                         f"labelled_inputs. Received shape={labels.shape}")
    if len(unlabelled_inputs) == 0:
        raise ValueError("Expected at least one unlabelled item. Received: 0")
    if not (isinstance(threshold, (int, float)) and 0.0 < threshold <= 1.0):
        raise ValueError(f"Expected threshold in (0, 1]. Received: threshold={threshold!r}")
    if isinstance(n_rounds, bool) or not isinstance(n_rounds, (int, np.integer)) or n_rounds < 0:
        raise ValueError(f"Expected n_rounds >= 0. Received: n_rounds={n_rounds!r}")
    classes = np.unique(labels)
    model = fit(labelled_inputs, labels)
    pseudo = np.full(len(unlabelled_inputs), -1, dtype=np.int64)
    counts = []
    for _ in range(int(n_rounds)):
        probabilities = np.asarray(model.predict_proba(unlabelled_inputs))
        selected = probabilities.max(axis=1) >= threshold
        new = np.where(selected, classes[probabilities.argmax(axis=1)], -1)
        if counts and np.array_equal(new, pseudo):
            break
        pseudo = new
        counts.append(int(selected.sum()))
        if not selected.any():
            break
        model = fit(np.concatenate([labelled_inputs, unlabelled_inputs[selected]]),
                    np.concatenate([labels, pseudo[selected]]))
    return {"model": model, "n_pseudo_labels": counts, "pseudo_labels": pseudo}


__all__ = ["self_training"]
