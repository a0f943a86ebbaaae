"""Source-only baseline: train on the labeled source, apply to the target."""

import keras

from tfunsup.adapt.augmentation import resolve_augment
from tfunsup.adapt.base_adapter import (
    BaseAdapter,
    check_source,
    check_target,
    resolve_jit_compile,
    uses_waveforms,
)
from tfunsup.adapt.class_prior import class_frequencies
from tfunsup.training import with_op_determinism
from tfunsup.utils.reproducibility import get_strategy, set_seed


def check_training_params(estimator, names=("epochs", "batch_size", "bottleneck_dim")):
    """Raises ValueError on a training hyper-parameter out of range."""
    for name in names:
        value = getattr(estimator, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Expected an integer {name} >= 1. Received: {name}={value!r}")
    if estimator.learning_rate <= 0:
        raise ValueError(
            f"Expected learning_rate > 0. Received: learning_rate={estimator.learning_rate}")
    if not 0 <= estimator.beta_1 < 1:
        raise ValueError(f"Expected beta_1 in [0, 1). Received: beta_1={estimator.beta_1}")
    if not 0 <= estimator.label_smoothing < 1:
        raise ValueError("Expected label_smoothing in [0, 1). Received: "
                         f"label_smoothing={estimator.label_smoothing}")
    resolve_augment(estimator.augment)


class SourceOnly(BaseAdapter):
    """Source-only baseline: a classifier trained on the source domain only.

    The reference point of every adaptation method: the same network
    (backbone -> bottleneck -> classifier, `tfunsup.adapt.network`), the
    same common frame, augmentation, optimiser and schedule as `DANN`, with
    no target data in training.

    Args:
        backbone: None (or `"small_cnn"`) for the default small CNN,
            `"small_cnn,width=N"` for one N times as wide, or any
            `tfunsup.backbones.load_backbone` spec (TF Hub handle, SavedModel
            folder, `"keras:<ApplicationName>"`, keras.Model); fine-tuned.
            For recordings (an `AudioDataset`, or waveform arrays with an
            `AudioSpec`), None is the log-mel CNN
            (`tfunsup.backbones.log_mel_cnn`), or a keras.Model over
            waveforms `(batch, samples)`.
        image_spec: `ImageSpec` of the common frame both domains are brought
            to; None for the backbone's own (small CNN: MNIST's 28x28 frame
            with a 20x20 digit). For waveform arrays an `AudioSpec`
            (length, sample rate); an `AudioDataset` supplies its own.
        weights: `"imagenet"` or None, for `keras:` backbones.
        bottleneck_dim: int >= 1, size of the feature space.
        epochs: int >= 1, passes over the source data.
        batch_size: int >= 1.
        learning_rate: float > 0, Adam learning rate (constant).
        beta_1: float in [0, 1), Adam's first-moment decay; 0.5 (as for
            GANs) keeps DANN's adversarial game stable, and `SourceOnly`
            uses the same optimiser so the two compare like for like.
        label_smoothing: float in [0, 1).
        augment: source-side augmentation (`tfunsup.adapt.augmentation`):
            `"standard"` (or True) random low resolution and translation;
            `"stroke"` also random stroke thickening (shaped to
            thick-stroked targets, so opt-in); `"affine"` also random
            rotation and scale (`augment_source`); `"none"` (or False).
        jit_compile: XLA for the train step: True, False or `"auto"`
            (Keras decides: off on CPU, where XLA is slower).
        seed: int or None; seeds the random number generators.
        deterministic: bool; TensorFlow op determinism during `fit` (with a
            seed, CPU runs repeat bit for bit; no XLA), restored afterwards.
        strategy: `tf.distribute.Strategy`; default the current one.
        verbose: 0 silent, 1 one line per epoch.

    Attributes (after `fit`):
        network_: keras.Model, framed images -> logits `(batch, n_classes)`.
        feature_extractor_: keras.Model, framed images -> `(batch, bottleneck_dim)`.
        image_spec_: `ImageSpec` of the common frame.
        n_classes_: int, number of source classes.
        source_class_prior_: float64 `(n_classes,)`, the source classes'
            frequencies (what the classifier's outputs are calibrated to).
        input_shape_: `(height, width, channels)` of the target images (the
            source images' when fitted without target images); `(samples,)`
            for waveforms.
        image_spec_ holds an `AudioSpec` when fitted on recordings.
        history_: dict of per-epoch training metrics.
    """

    def __init__(self, backbone=None, *, image_spec=None, weights="imagenet",
                 bottleneck_dim=128, epochs=10, batch_size=64, learning_rate=1e-3,
                 beta_1=0.5, label_smoothing=0.1, augment="standard", jit_compile="auto",
                 seed=None, deterministic=False, strategy=None, verbose=0):
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
        self.jit_compile = jit_compile
        self.seed = seed
        self.deterministic = deterministic
        self.strategy = strategy
        self.verbose = verbose

    @with_op_determinism
    def fit(self, source_images, source_labels, target_images=None, target_labels=None):
        """Trains the classifier on the source domain; starts fresh every call.

        Args:
            source_images: float32 `(n_s, height, width, channels)` in [0, 1];
                or recordings: an `AudioDataset` (labels taken from it when
                `source_labels` is None), or waveforms `(n_s, samples)` in
                [-1, 1] with `image_spec=AudioSpec(...)`.
            source_labels: int `(n_s,)` classes in `[0, n_classes)`.
            target_images: optional float32 `(n_t, h, w, c)` in [0, 1] (or
                the target's recordings, without labels); not
                trained on, only checked and used for the export input shape.
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
        if target_images is not None or target_labels is not None:
            target_images = check_target(target_images, target_labels, waveforms)
        check_training_params(self)
        self.source_class_prior_ = class_frequencies(source_labels, n_classes)
        set_seed(self.seed)
        strategy = get_strategy(self.strategy)
        self.history_ = {}
        self.input_shape_ = (target_images if target_images is not None
                             else source_images).shape[1:]
        with strategy.scope():
            self._build_network(n_classes, self.backbone, self.image_spec, self.weights,
                                self.bottleneck_dim, data=source_data)
        framed = self._frame(source_images)
        batch_size = self._batch_size(len(framed))
        steps_per_epoch = len(framed) // batch_size
        with strategy.scope():
            self.network_.compile(
                optimizer=keras.optimizers.Adam(self.learning_rate, beta_1=self.beta_1),
                loss=keras.losses.CategoricalCrossentropy(
                    from_logits=True, label_smoothing=self.label_smoothing),
                jit_compile=resolve_jit_compile(self.jit_compile, strategy, self.deterministic))
        history = self.network_.fit(
            self._source_dataset(framed, source_labels, batch_size), epochs=self.epochs,
            steps_per_epoch=steps_per_epoch, callbacks=[keras.callbacks.TerminateOnNaN()],
            verbose=self._fit_verbose(), shuffle=False)
        self._record_history(history)
        return self
