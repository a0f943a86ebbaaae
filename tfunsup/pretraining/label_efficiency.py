"""The label-efficiency experiment: pretrained encoder vs. training from scratch."""

import math

import numpy as np
from sklearn.model_selection import train_test_split

from tfunsup.data.validation import check_images, check_labels
from tfunsup.transfer.transfer_classifier import TransferClassifier

DEFAULT_FRACTIONS = (0.01, 0.05, 0.1, 1.0)


def labeled_subset(labels, fraction, seed):
    """Indices of a class-stratified random `fraction` of `labels`.

    Args:
        labels: int `(n,)`.
        fraction: float in (0, 1].
        seed: int, which subset.

    Returns:
        int array of indices (all of them when `fraction` is 1).

    Raises:
        ValueError: `fraction` outside (0, 1], or too small to hold one
            example of every class.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"Expected fractions in (0, 1]. Received: fraction={fraction}")
    n_classes = len(np.unique(labels))
    if fraction == 1.0:
        return np.arange(len(labels))
    size = int(round(fraction * len(labels)))
    if size < n_classes:
        raise ValueError(
            f"fraction={fraction} of {len(labels)} training images is {size} labels, fewer "
            f"than the {n_classes} classes; use a larger fraction or more data.")
    subset, _ = train_test_split(np.arange(len(labels)), train_size=size, stratify=labels,
                                 random_state=seed)
    return np.sort(subset)


def _epochs(steps, n_images, batch_size):
    return max(1, math.ceil(steps / math.ceil(n_images / batch_size)))


def label_efficiency(encoder, train_images, train_labels, test_images, test_labels, *,
                     fractions=DEFAULT_FRACTIONS, seeds=(0, 1, 2), head_steps=200,
                     fine_tune_steps=100, head_learning_rate=1e-2,
                     fine_tune_learning_rate=3e-4, scratch_learning_rate=1e-3,
                     batch_size=64, verbose=0, progress=None):
    """Test accuracy with few labels: pretrained encoder vs. the same network from scratch.

    For each label fraction and seed, a class-stratified subset of the
    training split keeps its labels, and two classifiers with the identical
    architecture (the encoder plus a softmax layer) are trained on it:

    - `"pretrained"`: the pretrained `encoder`, frozen, with a linear probe
      for `head_steps` steps, then everything fine-tuned for
      `fine_tune_steps` steps at `fine_tune_learning_rate`;
    - `"scratch"`: the same network randomly initialised, trained
      end to end for `head_steps + fine_tune_steps` steps.

    Both see the same labeled images for the same number of steps (at least
    one epoch); accuracy is measured on the held-out test split.

    Args:
        encoder: pretrained `keras.Model`, images -> features (not modified).
        train_images, train_labels: the training split, float32 `(n, h, w,
            c)` in [0, 1] and int `(n,)`.
        test_images, test_labels: the held-out split.
        fractions: label fractions in (0, 1].
        seeds: ints; one labeled subset and initialisation per seed.
        head_steps, fine_tune_steps: int >= 1, training steps per phase.
        head_learning_rate, fine_tune_learning_rate, scratch_learning_rate:
            Adam learning rates.
        batch_size: int >= 1.
        verbose: Keras verbosity.
        progress: optional callable `(row: dict) -> None` called after each run.

    Returns:
        dict with `"label_efficiency"`: a list of `{"fraction", "method",
        "mean_acc", "std_acc", "seeds"}` rows (for each fraction, pretrained
        then scratch), and `"runs"`: every `{"fraction", "method", "seed",
        "n_labels", "acc"}`.

    Raises:
        ValueError: bad data, fractions or step counts.
    """
    train_images = check_images(train_images, name="train_images")
    train_labels = check_labels(train_labels, len(train_images), name="train_labels")
    test_images = check_images(test_images, name="test_images")
    test_labels = check_labels(test_labels, len(test_images), name="test_labels")
    if test_images.shape[1:] != train_images.shape[1:]:
        raise ValueError(f"Expected test_images of shape (n, {train_images.shape[1:]}) as the "
                         f"train_images. Received shape={test_images.shape}")
    for name, value in (("head_steps", head_steps), ("fine_tune_steps", fine_tune_steps)):
        if value < 1:
            raise ValueError(f"Expected {name} >= 1. Received: {name}={value}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("Expected at least one seed. Received: seeds=[]")
    fractions = [float(f) for f in fractions]
    subsets = {(f, s): labeled_subset(train_labels, f, s) for f in fractions for s in seeds}

    runs = []
    for fraction in fractions:
        for seed in seeds:
            index = subsets[(fraction, seed)]
            x, y = train_images[index], train_labels[index]
            pretrained = TransferClassifier(
                encoder, head_epochs=_epochs(head_steps, len(x), batch_size),
                head_learning_rate=head_learning_rate,
                fine_tune_epochs=_epochs(fine_tune_steps, len(x), batch_size),
                fine_tune_learning_rate=fine_tune_learning_rate, batch_size=batch_size,
                seed=seed, verbose=verbose)
            scratch = TransferClassifier(
                encoder, scratch=True,
                head_epochs=_epochs(head_steps + fine_tune_steps, len(x), batch_size),
                head_learning_rate=scratch_learning_rate, batch_size=batch_size,
                seed=seed, verbose=verbose)
            for method, classifier in (("pretrained", pretrained), ("scratch", scratch)):
                classifier.fit(x, y)
                run = {"fraction": fraction, "method": method, "seed": seed,
                       "n_labels": int(len(x)),
                       "acc": classifier.score(test_images, test_labels)}
                runs.append(run)
                if progress is not None:
                    progress(run)
    table = []
    for fraction in fractions:
        for method in ("pretrained", "scratch"):
            accs = [r["acc"] for r in runs if r["fraction"] == fraction and r["method"] == method]
            table.append({"fraction": fraction, "method": method,
                          "mean_acc": float(np.mean(accs)), "std_acc": float(np.std(accs)),
                          "seeds": len(accs)})
    return {"label_efficiency": table, "runs": runs}
