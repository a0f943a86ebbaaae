"""SHOT: source-free adaptation by information maximisation and self-training."""

import keras
import numpy as np
import tensorflow as tf

from tfunsup.adapt.augmentation import TARGET_AUGMENTATIONS, augment_target
from tfunsup.adapt.base_adapter import (
    BaseAdapter,
    check_source,
    check_target,
    data_input_spec,
    resolve_jit_compile,
    uses_waveforms,
)
from tfunsup.adapt.class_prior import estimate_class_prior
from tfunsup.adapt.pseudo_labels import cluster_pseudo_labels
from tfunsup.adapt.shot_model import SHOTModel
from tfunsup.adapt.source_only import SourceOnly, check_training_params
from tfunsup.data.audio_spec import AudioSpec
from tfunsup.training import WeightAverage, with_op_determinism
from tfunsup.training.callbacks import check_momentum
from tfunsup.utils.reproducibility import get_strategy, set_seed


class SHOT(BaseAdapter):
    """Source HypOthesis Transfer (Liang et al.) as an estimator.

    Uses a trained source model's own outputs as the learning target on the
    unlabeled target domain — no source data in the adaptation phase:

    1. source model: `source_model` (a fitted `SourceOnly` or `DANN`), or a
       `SourceOnly` trained here on the source data with the same
       hyper-parameters;
    2. its classifier (the source hypothesis) is frozen; a copy of its
       feature extractor is adapted for `adapt_epochs` epochs on the target
       images. Each epoch starts by computing pseudo-labels from the
       current predictions refined by clustering in feature space
       (`cluster_pseudo_labels`), then trains with information
       maximisation (diversity term weighted by `diversity_weight`) plus
       `beta` times the pseudo-label cross-entropy (`SHOTModel`). Batch-norm
       statistics move to the target domain. With `target_augment="affine"`
       the training batches are randomly moved copies of the target images
       (`augmentation.augment_target`), while the pseudo-labels still come
       from the images as they are.

    The diversity term pulls the batch's mean prediction towards a target
    class prior (`losses.prior_kl`): the uniform one, as in the paper, or one
    estimated before adaptation from the source model's predictions on the
    target images, without target labels (`class_prior.estimate_class_prior`).

    Args:
        backbone, image_spec, weights, bottleneck_dim, epochs, batch_size,
        learning_rate, beta_1, label_smoothing, augment: the source phase,
            as in `SourceOnly` (unused when `source_model` is given).
        source_model: None, or a fitted `SourceOnly`/`DANN` to start from
            (left unchanged); then `fit` takes no source data.
        adapt_epochs: int >= 1, epochs of target-side training.
        adapt_learning_rate: float > 0, Adam learning rate of the adaptation.
        beta: float >= 0, weight of the pseudo-label loss (0.3 in the paper).
        diversity_weight: float >= 0, weight of the diversity term of the
            information maximisation (1 in the paper). The default 2 keeps a
            weak source model from settling into a fixed point where the
            pseudo-label loss confirms a merged class (measured on MNIST-5k
            -> digits: from a 0.42 source model, SHOT reached 0.85 with 1,
            with target 9s called 3, and 0.95 with 2; from 0.85-0.88
            source models the two weights give the same 0.97).
        class_prior: the class distribution the diversity term pulls
            towards: `"uniform"` (the paper's diversity term, the default),
            `"estimated"` (the source model's target posteriors, EM-adjusted
            for label shift, Saerens et al. 2002), `"mean"` (the plain mean
            of those posteriors), or a float array
            `(n_classes,)`, positive, summing to 1. `"mean"` suits a
            class-imbalanced target and a strong source model: MNIST-5k ->
            USPS (16 % zeros, 7 % eights), seeds 0-4, SHOT reached
            0.978 +- 0.006 with `"uniform"`, 0.985 +- 0.006 with
            `"estimated"` (EM overshoots: a prior of 0.037 for fives, whose
            share is 0.076) and 0.989 +- 0.001 with `"mean"`. From a weak
            source model both estimates copy its confusions (MNIST-5k ->
            digits, seed 0, a 0.81 source model calling 9s 3: SHOT 0.973
            uniform, 0.838 mean, 0.656 EM, which gave 1s and 4s a prior of
            0), so `"uniform"` stays the default.
        n_iter: int >= 0, hard re-clustering rounds of the pseudo-labels.
        balance: bool, assign pseudo-labels so that every class gets as
            many target images (`pseudo_labels.balanced_assignment`); only
            for targets known to be class-balanced.
        target_augment: `"none"` (the paper's SHOT, the default) or
            `"affine"`: random shifts (10 %), rotations (10 degrees) and
            scales (10 %) of the target images in the adaptation batches
            (images only; pseudo-labels still come from the images as
            they are). MNIST-test -> USPS with the wide small CNN, seeds
            0-4: USPS train 0.992 -> 0.994, USPS test 0.976 -> 0.978 (README).
        ema_momentum: None (the paper's SHOT, the default) or a float in
            (0, 1): the adaptation also keeps an exponential moving average
            of the feature extractor's weights, batch-norm statistics
            included, updated after every step
            (`tfunsup.training.WeightAverage`; Polyak & Juditsky 1992,
            the mean teacher's average of Tarvainen & Valpola 2017), and
            the fitted model is that average. Pseudo-labels still come from
            the trained weights. MNIST-test -> USPS as in `target_augment`,
            0.998: see the README.
        jit_compile, seed, deterministic, strategy, verbose: as in
            `SourceOnly`.

    Attributes (after `fit`):
        network_, feature_extractor_, image_spec_, n_classes_, input_shape_,
        history_: as in `SourceOnly`; `history_` holds the adaptation
            metrics (`entropy`, `diversity`, `pseudo_label_loss`, ...).
        source_model_: the source estimator adaptation started from.
        pseudo_labels_: int64 `(n_target,)`, the last epoch's pseudo-labels.
        class_prior_: float64 `(n_classes,)`, the prior the diversity term
            used.
        source_class_prior_: the source model's class frequencies.

    Reference:
        Liang, Hu, Feng. Do We Really Need to Access the Source Data? Source
        Hypothesis Transfer for Unsupervised Domain Adaptation. ICML 2020.
    """

    def __init__(self, backbone=None, *, source_model=None, image_spec=None,
                 weights="imagenet", bottleneck_dim=128, epochs=10, batch_size=64,
                 learning_rate=1e-3, beta_1=0.5, label_smoothing=0.1, augment="standard",
                 adapt_epochs=10, adapt_learning_rate=1e-4, beta=0.3, diversity_weight=2.0,
                 class_prior="uniform", n_iter=1, balance=False, target_augment="none",
                 ema_momentum=None, jit_compile="auto", seed=None, deterministic=False,
                 strategy=None, verbose=0):
        self.backbone = backbone
        self.source_model = source_model
        self.image_spec = image_spec
        self.weights = weights
        self.bottleneck_dim = bottleneck_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.label_smoothing = label_smoothing
        self.augment = augment
        self.adapt_epochs = adapt_epochs
        self.adapt_learning_rate = adapt_learning_rate
        self.beta = beta
        self.diversity_weight = diversity_weight
        self.class_prior = class_prior
        self.n_iter = n_iter
        self.balance = balance
        self.target_augment = target_augment
        self.ema_momentum = ema_momentum
        self.jit_compile = jit_compile
        self.seed = seed
        self.deterministic = deterministic
        self.strategy = strategy
        self.verbose = verbose

    def _check_params(self, source_given):
        if self.source_model is not None:
            if source_given:
                raise ValueError(
                    "SHOT got both a source_model and source data; pass source_images="
                    "None and source_labels=None to adapt the given source model, or "
                    "source_model=None to train one on the source data.")
            if not isinstance(self.source_model, BaseAdapter):
                raise ValueError(
                    "Expected source_model to be a fitted SourceOnly or DANN. Received: "
                    f"source_model of type {type(self.source_model).__name__}")
            self.source_model._check_fitted()
        elif not source_given:
            raise ValueError("Expected source_images and source_labels (or a fitted "
                             "source_model). Received: source_images=None")
        check_training_params(self, ("epochs", "batch_size", "bottleneck_dim", "adapt_epochs"))
        if self.adapt_learning_rate <= 0:
            raise ValueError("Expected adapt_learning_rate > 0. Received: "
                             f"adapt_learning_rate={self.adapt_learning_rate}")
        if self.beta < 0:
            raise ValueError(f"Expected beta >= 0. Received: beta={self.beta}")
        if self.diversity_weight < 0:
            raise ValueError("Expected diversity_weight >= 0. Received: "
                             f"diversity_weight={self.diversity_weight}")
        if isinstance(self.class_prior, str):
            if self.class_prior not in ("uniform", "estimated", "mean"):
                raise ValueError("Expected class_prior 'uniform', 'estimated', 'mean' or an "
                                 "array. "
                                 f"Received: class_prior={self.class_prior!r}")
        else:
            prior = np.asarray(self.class_prior, np.float64)
            if prior.ndim != 1 or not (prior > 0).all() or not np.isclose(prior.sum(), 1.0,
                                                                         atol=1e-4):
                raise ValueError("Expected class_prior as a positive 1-D array summing to 1. "
                                 f"Received: class_prior={self.class_prior!r}")
        if not isinstance(self.balance, (bool, np.bool_)):
            raise ValueError(f"Expected balance True or False. Received: balance={self.balance!r}")
        if isinstance(self.n_iter, bool) or not isinstance(self.n_iter, int) or self.n_iter < 0:
            raise ValueError(f"Expected an integer n_iter >= 0. Received: n_iter={self.n_iter!r}")
        if not (isinstance(self.target_augment, str)
                and self.target_augment in TARGET_AUGMENTATIONS):
            raise ValueError(f"Expected target_augment in {TARGET_AUGMENTATIONS}. "
                             f"Received: target_augment={self.target_augment!r}")
        if self.ema_momentum is not None:
            check_momentum(self.ema_momentum, "ema_momentum")

    def _source_phase(self, source_images, source_labels, target_images, data_spec=None):
        if self.source_model is not None:
            return self.source_model
        return SourceOnly(
            self.backbone, image_spec=self.image_spec if self.image_spec is not None
            else data_spec, weights=self.weights,
            bottleneck_dim=self.bottleneck_dim, epochs=self.epochs,
            batch_size=self.batch_size, learning_rate=self.learning_rate,
            beta_1=self.beta_1, label_smoothing=self.label_smoothing,
            augment=self.augment, jit_compile=self.jit_compile, seed=self.seed,
            deterministic=self.deterministic,
            strategy=self.strategy, verbose=self.verbose,
        ).fit(source_images, source_labels, target_images)

    @with_op_determinism
    def fit(self, source_images, source_labels, target_images, target_labels=None):
        """Trains (or takes) the source model, then adapts it to the target.

        Args:
            source_images: float32 `(n_s, height, width, channels)` in
                [0, 1], or None with a fitted `source_model`.
            source_labels: int `(n_s,)` classes, or None with `source_model`.
            target_images: float32 `(n_t, h, w, c)` in [0, 1], unlabeled.
            target_labels: must be None (target labels only score).

        Returns:
            self.

        Raises:
            ValueError: bad inputs or parameters, before any training.
        """
        source_given = source_images is not None or source_labels is not None
        source_data = source_images  # an AudioDataset also gives the AudioSpec
        from_source_model = (self.source_model is not None
                             and isinstance(getattr(self.source_model, "image_spec_", None),
                                            AudioSpec))
        waveforms = from_source_model or uses_waveforms(self.image_spec, self.backbone,
                                                        source_images, target_images)
        if source_given:
            source_images, source_labels, n_classes = check_source(source_images, source_labels,
                                                                   waveforms)
        target_images = check_target(target_images, target_labels, waveforms)
        self._check_params(source_given)
        if waveforms and self.target_augment != "none":
            raise ValueError("Expected target_augment='none' for waveforms (the affine moves "
                             f"are for images). Received: target_augment={self.target_augment!r}")
        if not isinstance(self.class_prior, str):
            n_classes = n_classes if source_given else self.source_model.n_classes_
            if np.shape(self.class_prior) != (n_classes,):
                raise ValueError(f"Expected class_prior of shape ({n_classes},) (the source "
                                 f"classes). Received: shape {np.shape(self.class_prior)}")
        self.source_model_ = self._source_phase(source_images, source_labels, target_images,
                                                data_input_spec(source_data))
        source = self.source_model_
        self.class_prior_ = self._class_prior(source, target_images)
        self.source_class_prior_ = source.source_class_prior_
        set_seed(self.seed)
        strategy = get_strategy(self.strategy)
        self.history_ = {}
        self.input_shape_ = target_images.shape[1:]
        with strategy.scope():
            # A fresh copy of the source network (no pretrained weights to load:
            # they are overwritten).
            self._build_network(source.n_classes_, source.backbone, source.image_spec_,
                                None, source.bottleneck_dim)
            self.network_.set_weights(source.network_.get_weights())
            model = SHOTModel(self.network_, beta=self.beta,
                              diversity_weight=self.diversity_weight,
                              class_prior=self.class_prior_, name="shot")
            model.compile(optimizer=keras.optimizers.Adam(self.adapt_learning_rate),
                          jit_compile=resolve_jit_compile(self.jit_compile, strategy,
                                                          self.deterministic))
            model.optimizer.build(model.feature_extractor.trainable_variables)
        average = (None if self.ema_momentum is None
                   else WeightAverage(model.feature_extractor, self.ema_momentum))
        callbacks = [keras.callbacks.TerminateOnNaN()] + ([average] if average is not None else [])
        target = self._frame(target_images)
        batch_size = self._batch_size(len(target))
        steps_per_epoch = len(target) // batch_size
        for epoch in range(self.adapt_epochs):
            self.pseudo_labels_ = self._pseudo_labels(target)
            dataset = self._target_dataset(target, batch_size, labels=self.pseudo_labels_,
                                           seed_offset=1 + epoch)
            history = model.fit(dataset, initial_epoch=epoch, epochs=epoch + 1,
                                steps_per_epoch=steps_per_epoch,
                                callbacks=callbacks, verbose=self._fit_verbose(),
                                shuffle=False)
            self._record_history(history)
        if average is not None:
            average.apply()
        return self

    def _class_prior(self, source, target_images):
        n_classes = source.n_classes_
        if isinstance(self.class_prior, str) and self.class_prior == "uniform":
            return np.full(n_classes, 1 / n_classes)
        if isinstance(self.class_prior, str):
            posteriors = source.predict_proba(target_images)
            if self.class_prior == "mean":
                return posteriors.astype(np.float64).mean(axis=0)
            prior = estimate_class_prior(posteriors, source.source_class_prior_)
            # EM can drive a class's share to 0, which the KL cannot take.
            prior = np.maximum(prior, 1e-6)
            return prior / prior.sum()
        prior = np.asarray(self.class_prior, np.float64)
        return prior / prior.sum()

    def _target_dataset(self, images, batch_size, labels=None, seed_offset=1):
        """The adaptation batches; randomly moved copies with `target_augment`."""
        dataset = super()._target_dataset(images, batch_size, labels=labels,
                                          seed_offset=seed_offset)
        if self.target_augment == "none":
            return dataset
        # Its own stream of stateless seeds: not the source augmentation's.
        seed = tf.constant(((0 if self.seed is None else int(self.seed)) + 1) * 7919
                           + seed_offset, tf.int64)

        def augment(index, batch):
            x, y = batch
            return augment_target(x, tf.stack([seed, index])), y

        return dataset.enumerate().map(augment).prefetch(2)

    def _pseudo_labels(self, framed_target):
        features = self._predict_framed(self.feature_extractor_, framed_target)
        logits = self.network_.get_layer("classifier")(features).numpy()
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return cluster_pseudo_labels(features, probabilities, n_iter=self.n_iter,
                                     balance=self.balance)
