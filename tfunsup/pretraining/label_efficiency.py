"""The label-efficiency experiment: pretrained encoder vs. training from scratch."""

import math

import keras
import numpy as np
from sklearn.model_selection import train_test_split

from tfunsup.data.validation import check_images, check_labels, check_texts
from tfunsup.transfer.target_model import set_trainable
from tfunsup.transfer.transfer_classifier import TransferClassifier
from tfunsup.utils.reproducibility import reseed_random_layers

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
            f"fraction={fraction} of {len(labels)} training items is {size} labels, fewer "
            f"than the {n_classes} classes; use a larger fraction or more data.")
    subset, _ = train_test_split(np.arange(len(labels)), train_size=size, stratify=labels,
                                 random_state=seed)
    return np.sort(subset)


def _epochs(steps, n_items, batch_size):
    if steps == 0:
        return 0
    return max(1, math.ceil(steps / math.ceil(n_items / batch_size)))


def _is_text(encoder):
    return getattr(encoder, "modality", None) == "text"


def label_efficiency(encoder, train_inputs, train_labels, test_inputs, test_labels, *,
                     fractions=DEFAULT_FRACTIONS, seeds=(0, 1, 2), head_steps=200,
                     fine_tune_steps=100, head_learning_rate=1e-2,
                     fine_tune_learning_rate=None, scratch_learning_rate=None,
                     batch_size=64, scratch_embedding_dim=64, setfit_iterations=0,
                     self_training_threshold=None, self_training_rounds=1,
                     scratch_same_architecture=False, same_architecture_learning_rate=3e-4,
                     cache_dir=None, verbose=0, progress=None):
    """Test accuracy with few labels: pretrained encoder vs. training from scratch.

    For each label fraction and seed, a class-stratified subset of the
    training split keeps its labels (`labeled_subset`), and classifiers are
    trained on it, all for the same number of steps (at least one epoch)
    and scored on the held-out test split.

    Images (`encoder` maps images to features):

    - `"pretrained"`: the pretrained `encoder`, frozen, with a linear probe
      for `head_steps` steps, then everything fine-tuned for
      `fine_tune_steps` steps at `fine_tune_learning_rate`
      (`TransferClassifier`);
    - `"scratch"`: the identical network randomly initialised, trained
      end to end for `head_steps + fine_tune_steps` steps.

    Text (`encoder.modality == "text"`, e.g. `load_text_encoder`; the inputs
    are strings). Randomly initialising a transformer and training it on a
    few hundred labels is both weaker and far slower on a CPU than a bag of
    words, so the scratch baseline is a smaller model with the same
    tokenizer:

    - `"pretrained"`: a linear softmax head on the frozen encoder's
      embeddings (computed once, cached in `cache_dir`), `head_steps` steps;
    - `"fine-tuned"` (only when `fine_tune_steps` > 0): that head and the
      whole encoder trained together for `fine_tune_steps` more steps at
      `fine_tune_learning_rate` (the encoder's weights are restored after
      each run);
    - `"SetFit"` (only when `setfit_iterations` > 0): the encoder first
      fine-tuned contrastively on pairs of the labelled texts
      (`setfit_text_encoder`, `setfit_iterations` rounds of pairs, batch 16,
      Adam 2e-5), then the same softmax head on its embeddings (the
      encoder's weights are restored after each run);
    - `"scratch"`: `build_scratch_text_encoder` (the encoder's tokenizer,
      randomly initialised token embeddings of size `scratch_embedding_dim`,
      mean-pooled) plus the same softmax head, trained end to end for
      `head_steps + fine_tune_steps` steps;
    - `"scratch (same architecture)"` (only when `scratch_same_architecture`):
      the encoder's own architecture with fresh random weights
      (`reinitialized_text_encoder`) plus the same softmax head, trained end
      to end for `head_steps + fine_tune_steps` steps at
      `same_architecture_learning_rate`: the identical network, as for
      images (slow: a forward and backward pass of the whole transformer
      per step).

    With `self_training_threshold` set, the pretrained, SetFit and scratch
    methods (both scratch rows) each get a `"<method> + self-training"` row,
    right after the method's own: the same classifier retrained from
    scratch on its labelled texts plus the other (unlabelled) training texts
    it predicts with probability >= the threshold (`self_training`,
    `self_training_rounds` rounds). Only these rows use the unlabelled
    training texts.

    Args:
        encoder: pretrained `keras.Model`, images -> features, or a text
            encoder, strings -> features (not modified).
        train_inputs, train_labels: the training split: float32 images
            `(n, h, w, c)` in [0, 1], or `(n,)` strings for a text encoder;
            int labels `(n,)`.
        test_inputs, test_labels: the held-out split, the same kinds.
        fractions: label fractions in (0, 1].
        seeds: ints; one labeled subset and initialisation per seed.
        head_steps: int >= 1, steps of the head (probe) phase.
        fine_tune_steps: int >= 0, steps of the fine-tuning phase (0 skips
            it: a linear probe only).
        head_learning_rate, fine_tune_learning_rate, scratch_learning_rate:
            Adam learning rates; None picks the modality's default:
            fine-tuning 3e-4 for images, 5e-5 for a transformer; scratch
            1e-3 for images, 1e-2 for the bag of token embeddings (which
            learns little in 200 steps at 1e-3).
        batch_size: int >= 1.
        scratch_embedding_dim: int >= 1, token embedding size of the text
            scratch baseline.
        setfit_iterations: int >= 0, text only: SetFit's pair-sampling
            rounds (0 skips SetFit; SetFit's default is 20).
        self_training_threshold: float in (0, 1] or None (no self-training),
            text only: the pseudo-labels' confidence threshold τ.
        self_training_rounds: int >= 1, pseudo-labelling rounds.
        scratch_same_architecture: bool, text only: add the
            `"scratch (same architecture)"` row.
        same_architecture_learning_rate: Adam learning rate of that row.
        cache_dir: folder caching the text embeddings (`encode_texts`), or None.
        verbose: Keras verbosity.
        progress: optional callable `(row: dict) -> None` called after each run.

    Returns:
        dict with `"label_efficiency"`: a list of `{"fraction", "method",
        "mean_acc", "std_acc", "seeds"}` rows (for each fraction, the methods
        in the order above); `"runs"`: every `{"fraction", "method", "seed",
        "n_labels", "acc"}`; and `"predictions"`: one int array `(n_test,)`
        of predicted test labels per run, aligned with `"runs"`.

    Raises:
        ValueError: bad data, fractions or step counts.

    Reference:
        Erhan et al. Why Does Unsupervised Pre-training Help Deep Learning?
        JMLR 2010. Howard, Ruder. Universal Language Model Fine-tuning for
        Text Classification. ACL 2018 (few-label text fine-tuning).
        Tunstall et al. Efficient Few-Shot Learning Without Prompts
        (SetFit). arXiv:2209.11055, 2022. Lee. Pseudo-Label. ICML 2013
        Workshop (self-training).
    """
    text = _is_text(encoder)
    if text:
        train_inputs = check_texts(train_inputs, "train_inputs")
        test_inputs = check_texts(test_inputs, "test_inputs")
    else:
        train_inputs = check_images(train_inputs, name="train_inputs")
        test_inputs = check_images(test_inputs, name="test_inputs")
        if test_inputs.shape[1:] != train_inputs.shape[1:]:
            raise ValueError(f"Expected test_inputs of shape (n, {train_inputs.shape[1:]}) as "
                             f"the train_inputs. Received shape={test_inputs.shape}")
    train_labels = check_labels(train_labels, len(train_inputs), name="train_labels")
    test_labels = check_labels(test_labels, len(test_inputs), name="test_labels")
    for name, value, low in (("head_steps", head_steps, 1),
                             ("fine_tune_steps", fine_tune_steps, 0),
                             ("batch_size", batch_size, 1),
                             ("scratch_embedding_dim", scratch_embedding_dim, 1),
                             ("setfit_iterations", setfit_iterations, 0),
                             ("self_training_rounds", self_training_rounds, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"Expected {name} >= {low}. Received: {name}={value!r}")
    if not isinstance(same_architecture_learning_rate, (int, float)) or not (
            same_architecture_learning_rate > 0):
        raise ValueError("Expected same_architecture_learning_rate > 0. Received: "
                         f"same_architecture_learning_rate={same_architecture_learning_rate!r}")
    if self_training_threshold is not None and not (
            isinstance(self_training_threshold, (int, float))
            and 0.0 < self_training_threshold <= 1.0):
        raise ValueError("Expected self_training_threshold in (0, 1] or None. Received: "
                         f"self_training_threshold={self_training_threshold!r}")
    if not text and (setfit_iterations or self_training_threshold is not None
                     or scratch_same_architecture):
        raise ValueError("SetFit, self-training and scratch_same_architecture are text-only "
                         "(images always train the identical network from scratch): expected "
                         "setfit_iterations=0, self_training_threshold=None and "
                         "scratch_same_architecture=False with an image encoder. Received: "
                         f"setfit_iterations={setfit_iterations}, self_training_threshold="
                         f"{self_training_threshold}, scratch_same_architecture="
                         f"{scratch_same_architecture}")
    if not text and fine_tune_steps < 1:
        raise ValueError("Expected fine_tune_steps >= 1 with an image encoder. "
                         f"Received: fine_tune_steps={fine_tune_steps}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("Expected at least one seed. Received: seeds=[]")
    if fine_tune_learning_rate is None:
        fine_tune_learning_rate = 5e-5 if text else 3e-4
    if scratch_learning_rate is None:
        scratch_learning_rate = 1e-2 if text else 1e-3
    fractions = [float(f) for f in fractions]
    subsets = {(f, s): labeled_subset(train_labels, f, s) for f in fractions for s in seeds}

    runs, predictions = [], []

    def record(fraction, method, seed, n_labels, predicted):
        run = {"fraction": fraction, "method": method, "seed": seed, "n_labels": int(n_labels),
               "acc": float(np.mean(predicted == test_labels))}
        runs.append(run)
        predictions.append(np.asarray(predicted, dtype=np.int64))
        if progress is not None:
            progress(run)

    options = dict(head_steps=head_steps, fine_tune_steps=fine_tune_steps,
                   head_learning_rate=head_learning_rate,
                   fine_tune_learning_rate=fine_tune_learning_rate,
                   scratch_learning_rate=scratch_learning_rate, batch_size=batch_size,
                   verbose=verbose)
    if text:
        _text_runs(encoder, train_inputs, train_labels, test_inputs, fractions, seeds, subsets,
                   record, cache_dir=cache_dir, scratch_embedding_dim=scratch_embedding_dim,
                   setfit_iterations=setfit_iterations,
                   self_training_threshold=self_training_threshold,
                   self_training_rounds=self_training_rounds,
                   same_architecture_learning_rate=(same_architecture_learning_rate
                                                    if scratch_same_architecture else None),
                   **options)
    else:
        _image_runs(encoder, train_inputs, train_labels, test_inputs, fractions, seeds, subsets,
                    record, **options)
    table = []
    methods = list(dict.fromkeys(r["method"] for r in runs))
    for fraction in fractions:
        for method in methods:
            accs = [r["acc"] for r in runs if r["fraction"] == fraction and r["method"] == method]
            table.append({"fraction": fraction, "method": method,
                          "mean_acc": float(np.mean(accs)), "std_acc": float(np.std(accs)),
                          "seeds": len(accs)})
    return {"label_efficiency": table, "runs": runs, "predictions": predictions}


def _image_runs(encoder, train_images, train_labels, test_images, fractions, seeds, subsets,
                record, *, head_steps, fine_tune_steps, head_learning_rate,
                fine_tune_learning_rate, scratch_learning_rate, batch_size, verbose):
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
                record(fraction, method, seed, len(x), classifier.predict(test_images))


def _softmax_head(feature_dim, n_classes, seed):
    inputs = keras.Input(shape=(feature_dim,), name="features")
    outputs = keras.layers.Dense(
        n_classes, activation="softmax", name="classifier",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(inputs)
    return keras.Model(inputs, outputs, name="head")


def _text_classifier(text_encoder, n_classes, seed, name):
    """`text_encoder` (strings -> features) under `_softmax_head`: strings
    `(batch,)` -> class probabilities, trained end to end."""
    texts = keras.Input(shape=(), dtype="string", name="texts")
    head = _softmax_head(text_encoder.feature_dim, n_classes, seed)
    return keras.Model(texts, head(text_encoder(texts)), name=name)


def _train(model, inputs, targets, steps, learning_rate, batch_size, seed, verbose):
    import tensorflow as tf

    if steps == 0:
        return
    if inputs.dtype == object:
        inputs = inputs.astype(str)
    dataset = (tf.data.Dataset.from_tensor_slices((inputs, targets))
               .shuffle(len(targets), seed=seed, reshuffle_each_iteration=True)
               .batch(batch_size))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy")
    model.fit(dataset, epochs=_epochs(steps, len(targets), batch_size), verbose=verbose)


class _Classifier:
    """A Keras classifier trained by `_train`, with `predict_proba` (for
    `self_training`)."""

    def __init__(self, build, steps, learning_rate, batch_size, seed, verbose):
        self.build, self.steps, self.learning_rate = build, steps, learning_rate
        self.batch_size, self.seed, self.verbose = batch_size, seed, verbose
        self.model = None

    def __call__(self, inputs, targets):
        keras.utils.set_random_seed(self.seed)
        fitted = _Classifier(self.build, self.steps, self.learning_rate, self.batch_size,
                             self.seed, self.verbose)
        fitted.model = self.build()
        _train(fitted.model, inputs, targets, self.steps, self.learning_rate, self.batch_size,
               self.seed, self.verbose)
        return fitted

    def predict_proba(self, inputs):
        import tensorflow as tf

        if inputs.dtype == object:
            inputs = tf.constant(inputs.astype(str))
        return self.model.predict(inputs, batch_size=256, verbose=0)


def _text_runs(encoder, train_texts, train_labels, test_texts, fractions, seeds, subsets,
               record, *, head_steps, fine_tune_steps, head_learning_rate,
               fine_tune_learning_rate, scratch_learning_rate, batch_size, verbose, cache_dir,
               scratch_embedding_dim, setfit_iterations, self_training_threshold,
               self_training_rounds, same_architecture_learning_rate):
    from tfunsup.backbones.text_encoder import (
        build_scratch_text_encoder,
        encode_texts,
        reinitialized_text_encoder,
    )
    from tfunsup.pretraining.self_training import self_training

    classes = np.unique(train_labels)
    targets = np.searchsorted(classes, train_labels)
    train_features = encode_texts(encoder, train_texts, cache_dir=cache_dir, verbose=verbose > 0)
    test_features = encode_texts(encoder, test_texts, cache_dir=cache_dir, verbose=verbose > 0)
    feature_dim = train_features.shape[1]

    def runs(fraction, seed, method, classifier, inputs, test_inputs, index):
        """Records `method` (and its self-training row) trained on `inputs[index]`."""
        fitted = classifier(inputs[index], targets[index])
        record(fraction, method, seed, len(index),
               classes[np.argmax(fitted.predict_proba(test_inputs), axis=1)])
        if self_training_threshold is None:
            return
        unlabelled = np.setdiff1d(np.arange(len(inputs)), index)
        result = self_training(classifier, inputs[index], targets[index], inputs[unlabelled],
                               threshold=self_training_threshold,
                               n_rounds=self_training_rounds)
        record(fraction, f"{method} + self-training", seed, len(index),
               classes[np.argmax(result["model"].predict_proba(test_inputs), axis=1)])

    def head(seed):
        return _Classifier(lambda: _softmax_head(feature_dim, len(classes), seed), head_steps,
                           head_learning_rate, batch_size, seed, verbose)

    for fraction in fractions:
        for seed in seeds:
            index = subsets[(fraction, seed)]
            keras.utils.set_random_seed(seed)
            runs(fraction, seed, "pretrained", head(seed), train_features, test_features, index)
            if fine_tune_steps > 0:
                keras.utils.set_random_seed(seed)
                probe = _softmax_head(feature_dim, len(classes), seed)
                _train(probe, train_features[index], targets[index], head_steps,
                       head_learning_rate, batch_size, seed, verbose)
                record(fraction, "fine-tuned", seed, len(index),
                       _fine_tuned_predictions(encoder, probe, train_texts[index],
                                               targets[index], test_texts, fine_tune_steps,
                                               fine_tune_learning_rate, batch_size, seed,
                                               verbose, classes))
            if setfit_iterations > 0:
                with _restored(encoder):
                    _setfit(encoder, train_texts, targets, index, setfit_iterations, seed,
                            verbose)
                    needed = (np.arange(len(train_texts)) if self_training_threshold is not None
                              else index)
                    features = np.zeros_like(train_features)
                    features[needed] = encode_texts(encoder, train_texts[needed],
                                                    cache_dir=cache_dir, verbose=verbose > 0)
                    setfit_test = encode_texts(encoder, test_texts, cache_dir=cache_dir,
                                               verbose=verbose > 0)
                runs(fraction, seed, "SetFit", head(seed), features, setfit_test, index)

            def scratch_model(seed=seed):
                return _text_classifier(
                    build_scratch_text_encoder(encoder, scratch_embedding_dim, seed),
                    len(classes), seed, "scratch_classifier")

            runs(fraction, seed, "scratch",
                 _Classifier(scratch_model, head_steps + fine_tune_steps, scratch_learning_rate,
                             batch_size, seed, verbose),
                 train_texts, test_texts, index)
            if same_architecture_learning_rate is None:
                continue

            def same_architecture_model(seed=seed):
                return _text_classifier(reinitialized_text_encoder(encoder, seed), len(classes),
                                        seed, "same_architecture_scratch_classifier")

            runs(fraction, seed, "scratch (same architecture)",
                 _Classifier(same_architecture_model, head_steps + fine_tune_steps,
                             same_architecture_learning_rate, batch_size, seed, verbose),
                 train_texts, test_texts, index)


class _restored:
    """Context restoring a text encoder's weights, trainability and spec_name."""

    def __init__(self, encoder):
        self.encoder = encoder

    def __enter__(self):
        self.weights = self.encoder.get_weights()
        self.trainable = bool(self.encoder.trainable_weights)
        self.spec_name = getattr(self.encoder, "spec_name", None)
        return self.encoder

    def __exit__(self, *exc):
        self.encoder.set_weights(self.weights)
        set_trainable(self.encoder, self.trainable)
        if self.spec_name is not None:
            self.encoder.spec_name = self.spec_name
        return False


def _setfit(encoder, texts, targets, index, iterations, seed, verbose):
    from tfunsup.pretraining.setfit import setfit_text_encoder

    keras.utils.set_random_seed(seed)
    setfit_text_encoder(encoder, texts[index], targets[index], n_iterations=iterations,
                        batch_size=16, learning_rate=2e-5, seed=seed, verbose=verbose)


def _fine_tuned_predictions(encoder, head, texts, targets, test_texts, steps, learning_rate,
                            batch_size, seed, verbose, classes):
    """Trains `encoder` and `head` together, predicts `test_texts`, then
    restores the encoder's weights and trainability."""
    from tfunsup.backbones.text_encoder import encode_texts

    weights = encoder.get_weights()
    was_trainable = bool(encoder.trainable_weights)
    try:
        set_trainable(encoder, True)
        reseed_random_layers(encoder, seed)
        inputs = keras.Input(shape=(), dtype="string", name="texts")
        model = keras.Model(inputs, head(encoder(inputs)), name="fine_tuned_classifier")
        _train(model, texts, targets, steps, learning_rate, batch_size, seed, verbose)
        features = encode_texts(encoder, test_texts)  # never cached: the weights changed
        return classes[np.argmax(head.predict(features, batch_size=256, verbose=0), axis=1)]
    finally:
        set_trainable(encoder, was_trainable)
        encoder.set_weights(weights)
