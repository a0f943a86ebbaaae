"""DANN: domain-adversarial training with a gradient-reversal layer."""

import keras
import tensorflow as tf

from tfunsup.adapt.base_adapter import (
    BaseAdapter,
    check_source,
    check_target,
    resolve_jit_compile,
    uses_waveforms,
)
from tfunsup.adapt.class_prior import class_frequencies
from tfunsup.adapt.dann_model import DANNModel
from tfunsup.adapt.network import build_domain_discriminator
from tfunsup.adapt.schedules import AnnealedLearningRate
from tfunsup.adapt.source_only import check_training_params
from tfunsup.training import with_op_determinism
from tfunsup.utils.reproducibility import get_strategy, set_seed


class DANN(BaseAdapter):
    """Domain-Adversarial Neural Network (Ganin et al.) as an estimator.

    Trains the shared network (backbone -> bottleneck -> classifier) on
    labeled source batches while a domain discriminator on the bottleneck
    features, behind a gradient-reversal layer, pushes the feature extractor
    towards features in which source and target cannot be told apart
    (`DANNModel` holds the objective). Each train step takes one source and
    one target batch from a zipped `tf.data` pipeline; the reversal strength
    follows `lambda_p = 2 / (1 + exp(-10 p)) - 1` over the training progress
    `p`, as in the paper, times `lambda_max`. Everything else (network,
    frame, augmentation, optimiser) is `SourceOnly`'s, so the two compare
    like for like.

    Args:
        backbone, image_spec, weights, bottleneck_dim, batch_size,
        learning_rate, beta_1, label_smoothing, augment, jit_compile, seed,
        strategy, verbose: as in `SourceOnly`.
        epochs: int >= 1; an epoch is `max(n_source, n_target) // batch_size`
            paired steps.
        discriminator_units: int >= 1, width of the discriminator's two
            hidden layers.
        discriminator_dropout: float in [0, 1), dropout after each of them.
        gamma: float > 0, steepness of the lambda schedule (10).
        lambda_max: float > 0, the schedule's final strength (1 in the
            paper). The default 0.3: with 1, DANN fell below source-only
            on one seed of five on MNIST-5k -> digits (0.783 vs 0.881, seed
            1); with 0.3 it stays above it (see the README).
        learning_rate_decay: bool, anneal the learning rate as
            `lr / (1 + 10 p) ** 0.75` (the paper's schedule; `schedules.
            AnnealedLearningRate`) instead of keeping it constant.

    Attributes (after `fit`):
        network_, feature_extractor_, image_spec_, n_classes_,
        source_class_prior_, input_shape_,
        history_: as in `SourceOnly` (history includes `domain_loss`,
            `domain_accuracy` and `lambda`).
        discriminator_: the trained domain discriminator (keras.Model).

    Reference:
        Ganin, Ustinova, Ajakan, Germain, Larochelle, Laviolette, Marchand,
        Lempitsky. Domain-Adversarial Training of Neural Networks. JMLR 2016.
    """

    def __init__(self, backbone=None, *, image_spec=None, weights="imagenet",
                 bottleneck_dim=128, epochs=10, batch_size=64, learning_rate=1e-3,
                 beta_1=0.5, label_smoothing=0.1, augment="standard", discriminator_units=256,
                 discriminator_dropout=0.5, gamma=10.0, lambda_max=0.3,
                 learning_rate_decay=False, jit_compile="auto", seed=None, deterministic=False,
                 strategy=None, verbose=0):
        self.backbone = backbone
        self.image_spec = image_spec
        self.weights = weights
        self.bottleneck_dim = bottleneck_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.label_smoothing = label_smoothing
        self.augment = augment
        self.discriminator_units = discriminator_units
        self.discriminator_dropout = discriminator_dropout
        self.gamma = gamma
        self.lambda_max = lambda_max
        self.learning_rate_decay = learning_rate_decay
        self.jit_compile = jit_compile
        self.seed = seed
        self.deterministic = deterministic
        self.strategy = strategy
        self.verbose = verbose

    @with_op_determinism
    def fit(self, source_images, source_labels, target_images, target_labels=None):
        """Adapts to the unlabeled target domain; starts fresh every call.

        Args:
            source_images: float32 `(n_s, height, width, channels)` in [0, 1].
            source_labels: int `(n_s,)` classes in `[0, n_classes)`.
            target_images: float32 `(n_t, h, w, c)` in [0, 1], unlabeled;
                any size and channels (brought to the common frame).
            target_labels: must be None (target labels only score).

        Returns:
            self.

        Raises:
            ValueError: bad inputs or parameters, before any training.
        """
        source_data = source_images  # an AudioDataset also gives the AudioSpec
        waveforms = uses_waveforms(self.image_spec, self.backbone, source_images,
                                   target_images)
        source_images, source_labels, n_classes = check_source(source_images, source_labels,
                                                               waveforms)
        target_images = check_target(target_images, target_labels, waveforms)
        check_training_params(self, ("epochs", "batch_size", "bottleneck_dim",
                                     "discriminator_units"))
        if not 0 <= self.discriminator_dropout < 1:
            raise ValueError("Expected discriminator_dropout in [0, 1). Received: "
                             f"discriminator_dropout={self.discriminator_dropout}")
        if self.gamma <= 0:
            raise ValueError(f"Expected gamma > 0. Received: gamma={self.gamma}")
        if self.lambda_max <= 0:
            raise ValueError(f"Expected lambda_max > 0. Received: lambda_max={self.lambda_max}")
        self.source_class_prior_ = class_frequencies(source_labels, n_classes)
        set_seed(self.seed)
        strategy = get_strategy(self.strategy)
        self.history_ = {}
        self.input_shape_ = target_images.shape[1:]
        with strategy.scope():
            self._build_network(n_classes, self.backbone, self.image_spec, self.weights,
                                self.bottleneck_dim, data=source_data)
        source, target = self._frame(source_images), self._frame(target_images)
        batch_size = self._batch_size(len(source), len(target))
        steps_per_epoch = max(len(source), len(target)) // batch_size
        total_steps = self.epochs * steps_per_epoch
        with strategy.scope():
            self.discriminator_ = build_domain_discriminator(
                self.bottleneck_dim, self.discriminator_units, self.discriminator_dropout)
            model = DANNModel(self.network_, self.discriminator_, total_steps,
                              gamma=self.gamma, label_smoothing=self.label_smoothing,
                              lambda_max=self.lambda_max, name="dann")
            learning_rate = (AnnealedLearningRate(self.learning_rate, total_steps)
                             if self.learning_rate_decay else self.learning_rate)
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate, beta_1=self.beta_1),
                jit_compile=resolve_jit_compile(self.jit_compile, strategy, self.deterministic))
            model.optimizer.build(model.network.trainable_variables
                                  + model.discriminator.trainable_variables)
        paired = tf.data.Dataset.zip((self._source_dataset(source, source_labels, batch_size),
                                      self._target_dataset(target, batch_size)))
        history = model.fit(paired, epochs=self.epochs, steps_per_epoch=steps_per_epoch,
                            callbacks=[keras.callbacks.TerminateOnNaN()],
                            verbose=self._fit_verbose(), shuffle=False)
        self._record_history(history)
        return self
