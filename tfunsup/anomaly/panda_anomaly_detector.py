"""PANDA: a pretrained backbone's top adapted to the normal data, then kNN (DN2)."""

import numbers

import numpy as np

from tfunsup.anomaly.feature_anomaly_detector import check_features
from tfunsup.anomaly.knn_anomaly_detector import KNNAnomalyDetector


def split_backbone(backbone, frozen_until, layer=None):
    """Cuts a Keras functional backbone into a frozen lower part and a top to train.

    Args:
        backbone: a `load_backbone` model wrapping a Keras functional model
            (a `keras:` application or an in-memory `keras.Model`).
        frozen_until: name of a layer of that inner model; it and every
            layer before it stay frozen.
        layer: None for the inner model's outputs, or a layer name or a
            sequence of names after `frozen_until` whose outputs are the
            features (pooled later, see `PANDAAnomalyDetector`).

    Returns:
        `(lower, top)`: `lower` maps images (the backbone's `image_spec`)
        to `frozen_until`'s output maps `(batch, h, w, channels)` and carries
        `image_spec` and `spec_name`; `top` maps those maps to the list of
        `layer` outputs and shares the backbone's layers (clone it before
        training).

    Raises:
        ValueError: no inner functional model has these layers, `layer` is
            empty, or a `layer` output does not depend on `frozen_until`
            alone.
    """
    import keras

    from tfunsup.backbones.inner_layers import call_through, find_inner_model, layer_names

    if not isinstance(frozen_until, str):
        raise ValueError(f"Expected frozen_until to be a layer name. "
                         f"Received: frozen_until={frozen_until!r}")
    layers = layer_names(layer, optional=True)
    inner = find_inner_model(backbone, [frozen_until] + (layers or []),
                             received={"frozen_until": frozen_until, "layer": layer})
    cut = inner.get_layer(frozen_until).output
    outputs = list(inner.outputs) if layers is None else [
        inner.get_layer(n).output for n in layers]
    try:
        top = keras.Model(cut, outputs, name=f"top_after_{frozen_until}")
    except ValueError as error:
        raise ValueError(f"Expected the feature layers to depend only on frozen_until="
                         f"{frozen_until!r}. Received: layer={layer!r} ({error})") from None
    images, maps = call_through(backbone, inner,
                                keras.Model(inner.inputs, cut, name=f"to_{frozen_until}"))
    lower = keras.Model(images, maps, name="frozen_lower")
    lower.image_spec = backbone.image_spec
    lower.spec_name = f"{getattr(backbone, 'spec_name', backbone.name)},maps={frozen_until}"
    return lower, top


def feature_encoder(top, map_shape, n_views):
    """Flattened lower-part maps -> unit-norm features through `top`.

    Each of the `n_views` views' maps (the image, and its mirror image when
    flip-averaging) goes through `top`; every 4-D output is globally
    average-pooled; several outputs are L2-normalised each and
    concatenated (as `truncated_backbone` does); the views are averaged and
    the result L2-normalised: the same features as the frozen detectors'
    feature model when `top` is unchanged.

    Args:
        top: the `top` of `split_backbone` (or a trained clone).
        map_shape: `(h, w, channels)` of one view's maps.
        n_views: int >= 1.

    Returns:
        A `keras.Model`: float32 `(batch, n_views * h * w * channels)` ->
        float32 `(batch, feature_dim)` of unit-norm rows.
    """
    import keras
    from keras import ops

    h, w, c = map_shape
    maps = keras.Input(shape=(n_views * h * w * c,), name="maps")
    outputs = top(ops.reshape(maps, (-1, h, w, c)))
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    pooled = [ops.mean(o, axis=(1, 2)) if len(o.shape) == 4 else o for o in outputs]
    if len(pooled) == 1:
        x = pooled[0]
    else:
        x = ops.concatenate([ops.normalize(p, axis=-1, order=2) for p in pooled], axis=-1)
    x = ops.mean(ops.reshape(x, (-1, n_views, x.shape[-1])), axis=1)
    return keras.Model(maps, ops.normalize(x, axis=-1, order=2), name="feature_encoder")


class PANDAAnomalyDetector(KNNAnomalyDetector):
    """kNN anomaly scores after adapting the backbone's top to the normal data (PANDA).

    `fit(normal_images)` runs the frozen lower part of the backbone (up to
    `frozen_until`) once, then trains a copy of the layers after it on the
    normal images only with PANDA's compactness loss

    .. math::
        L(\\theta) = \\frac{1}{n} \\sum_i \\|\\phi_\\theta(x_i) - c\\|_2^2

    where `phi` are the (pooled, multi-level, flip-averaged) unit-norm
    features of the `layer` outputs and `c` the mean of the normal
    images' features before training. Collapse (every image mapped to `c`)
    is held off as in PANDA-ES: few epochs, the global gradient norm
    clipped to `clipnorm`, and early stopping on the relative compactness
    of a held-out share (`validation_fraction`) of the normal images
    (Keras `EarlyStopping`, best epoch restored). Batch normalisation keeps
    its ImageNet statistics (inference mode) while its scale and offset
    train. The anomaly score is then DN2's: the mean Euclidean distance to
    the `n_neighbors` nearest features of all normal training images in
    the adapted space (`KNNAnomalyDetector`).

    Training works on the cached lower-part maps, so `extract_features`
    returns those maps (flattened, both views side by side) rather than
    features; `fit_features` / `score_features` take them.

    Args:
        backbone: a `tfunsup.backbones.load_backbone` spec of a Keras
            functional model (default ImageNet `"keras:MobileNetV2"`).
        n_neighbors, algorithm: the kNN scoring, as documented in
            `KNNAnomalyDetector` (DN2 and PANDA use `n_neighbors=2`).
        layer: None for the backbone's own output, an inner layer name or a
            tuple of names after `frozen_until` (pooled; several are
            L2-normalised and concatenated).
        frozen_until: inner layer whose output is cached; everything after
            it trains (default `"block_13_project_BN"` of MobileNetV2, so
            blocks 14-16 train).
        epochs: int >= 1, the most training epochs.
        learning_rate: float > 0 of SGD.
        momentum: float in [0, 1) of SGD.
        weight_decay: float >= 0 of SGD.
        clipnorm: float > 0, the largest global gradient norm. PANDA clips
            at 1e-3 over ~2,300 steps (5,000 images, 15 epochs); with a
            few hundred normal images (25 steps an epoch for 800) 1e-3
            barely moves the features, so the default is 1e-2.
        train_batch_size: int >= 1, images per training step.
        validation_fraction: float in [0, 0.5), the held-out share of the
            normal images whose compactness drives early stopping (0: no
            early stopping, all `epochs` run). The held-out images join the
            kNN bank after training.
        patience: int >= 1, epochs without an improvement of at least
            `min_delta` (relative compactness) before stopping.
        min_delta: float >= 0.
        seed: int, seeds the validation split, the batch order and Keras.
        batch_size: int >= 1, images per frozen-backbone call.
        image_size, flip_average, contamination, verbose: as documented in
            `FeatureAnomalyDetector` (images only: PANDA takes no text
            encoder, so no `sequence_length` or `pooling`).

    Attributes (after `fit`):
        encoder_: the `keras.Model` from maps to adapted unit-norm features.
        center_: float32 `(feature_dim,)`, the compactness centre.
        loss_scale_: float, the pretrained features' compactness (the mean
            squared distance to `center_` before training).
        history_: dict of per-epoch `loss` (and `val_loss`), relative
            compactness (1 = before training).
        n_epochs_: int, epochs run; `best_epoch_`: epoch whose weights are
            kept (1-based).
        bank_, nearest_neighbors_, train_scores_, threshold_: as in
            `KNNAnomalyDetector`, in the adapted feature space.

    Reference:
        Reiss, Cohen, Bergman, Hoshen. PANDA: Adapting Pretrained Features
        for Anomaly Detection and Segmentation. CVPR 2021 (official code:
        SGD lr 1e-2, momentum 0.9, weight decay 5e-5, gradient norm clipped
        at 1e-3, batch 32, ResNet-152 in eval mode with its last two stages
        trained). Bergman, Cohen, Hoshen. Deep Nearest Neighbor Anomaly
        Detection. arXiv:2002.10445, 2020.
    """

    def __init__(self, backbone="keras:MobileNetV2", n_neighbors=2, *, image_size=None,
                 layer=None, frozen_until="block_13_project_BN", epochs=10,
                 learning_rate=1e-2, momentum=0.9, weight_decay=5e-5, clipnorm=1e-2,
                 train_batch_size=32, validation_fraction=0.1, patience=2, min_delta=1e-3,
                 seed=0, flip_average=True, contamination=0.05, batch_size=64,
                 algorithm="auto", verbose=0):
        self.backbone = backbone
        self.n_neighbors = n_neighbors
        self.image_size = image_size
        self.layer = layer
        self.frozen_until = frozen_until
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.train_batch_size = train_batch_size
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.seed = seed
        self.flip_average = flip_average
        self.contamination = contamination
        self.batch_size = batch_size
        self.algorithm = algorithm
        self.verbose = verbose

    _shared_parameters = ("backbone", "image_size", "layer", "frozen_until", "flip_average")

    def _check_params(self):
        super()._check_params()
        for name in ("epochs", "train_batch_size", "patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"Expected {name} >= 1. Received: {name}={value!r}")
        for name in ("learning_rate", "clipnorm"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not value > 0:
                raise ValueError(f"Expected {name} > 0. Received: {name}={value!r}")
        if not isinstance(self.momentum, numbers.Real) or not 0 <= self.momentum < 1:
            raise ValueError(f"Expected momentum in [0, 1). Received: momentum={self.momentum!r}")
        for name in ("weight_decay", "min_delta"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not value >= 0:
                raise ValueError(f"Expected {name} >= 0. Received: {name}={value!r}")
        fraction = self.validation_fraction
        if not isinstance(fraction, numbers.Real) or not 0 <= fraction < 0.5:
            raise ValueError(f"Expected validation_fraction in [0, 0.5). "
                             f"Received: validation_fraction={fraction!r}")
        if not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool):
            raise ValueError(f"Expected an int seed. Received: seed={self.seed!r}")

    # -- the frozen lower part ---------------------------------------------------------

    def _feature_model(self, channels):
        """Images -> the lower part's maps, flattened, the mirror image's
        maps after the image's when `flip_average` (built once per channel
        count)."""
        import dataclasses

        import keras

        from tfunsup.backbones import load_backbone
        from tfunsup.layers import ToImageSpec

        models = self.__dict__.setdefault("_feature_models", {})
        if channels in models:
            return models[channels]
        if "_backbone" not in self.__dict__:
            backbone = load_backbone(self.backbone, image_size=self.image_size)
            if getattr(backbone, "modality", None) == "text":
                raise ValueError(f"PANDA trains the top of an image backbone. Received the "
                                 f"text encoder backbone={self.backbone!r} (use "
                                 "KNNAnomalyDetector or GaussianAnomalyDetector for texts)")
            self._backbone, self._top = split_backbone(backbone, self.frozen_until, self.layer)
            spec = backbone.image_spec
            probe = np.zeros((1, spec.height or 224, spec.width or 224, spec.channels),
                             np.float32)
            self._map_shape = tuple(int(d) for d in self._backbone(probe).shape[1:])
        lower = self._backbone
        images = keras.Input(shape=(None, None, channels), name="images")
        x = ToImageSpec(**dataclasses.asdict(lower.image_spec), name="to_image_spec")(images)
        views = [x, keras.ops.flip(x, axis=2)] if self.flip_average else [x]
        maps = [keras.ops.reshape(lower(v, training=False), (-1, int(np.prod(self._map_shape))))
                for v in views]
        flat = maps[0] if len(maps) == 1 else keras.ops.concatenate(maps, axis=-1)
        models[channels] = keras.Model(images, flat, name="lower_maps_model")
        return models[channels]

    def share_feature_model(self, other):
        """Reuses `other`'s loaded lower part and top template (same
        `backbone`, `image_size`, `layer`, `frozen_until`, `flip_average`).
        Returns self."""
        super().share_feature_model(other)
        self._top, self._map_shape = other._top, other._map_shape
        return self

    def _check_input_features(self, features, n_features=None):
        # The maps are the top's input: checked, not normalised.
        return check_features(features, n_features=n_features)

    # -- training and scoring ------------------------------------------------------------

    def _n_views(self):
        return 2 if self.flip_average else 1

    def _fit_scorer(self, maps):
        import keras

        from tfunsup.anomaly.compactness import CompactnessModel
        from tfunsup.utils.reproducibility import set_seed

        if "_top" not in self.__dict__:
            self._feature_model(3)
        expected = self._n_views() * int(np.prod(self._map_shape))
        if maps.shape[1] != expected:
            raise ValueError(f"Expected maps of {expected} values per image (the lower part's "
                             f"{self._map_shape} x {self._n_views()} views). "
                             f"Received shape={maps.shape}")
        set_seed(self.seed)
        top = keras.models.clone_model(self._top)
        top.set_weights(self._top.get_weights())
        for layer in top.layers:  # (load_backbone freezes the backbone it loads)
            layer.trainable = True
        encoder = feature_encoder(top, self._map_shape, self._n_views())
        initial = encoder.predict(maps, batch_size=self.batch_size, verbose=0)
        order = np.random.default_rng(self.seed).permutation(len(maps))
        n_val = int(round(self.validation_fraction * len(maps)))
        n_val = min(n_val, len(maps) - 2) if self.validation_fraction > 0 else 0
        fit_index, val_index = order[n_val:], order[:n_val]
        self.center_ = initial[fit_index].mean(axis=0).astype(np.float32)
        scale = float(np.mean(np.sum((initial[fit_index] - self.center_) ** 2, axis=1)))
        self.loss_scale_ = max(scale, 1e-12)
        model = CompactnessModel(encoder, self.center_, loss_scale=self.loss_scale_)
        model.compile(optimizer=keras.optimizers.SGD(
            self.learning_rate, momentum=self.momentum, weight_decay=self.weight_decay or None,
            global_clipnorm=self.clipnorm))
        callbacks, validation = [], None
        if n_val > 0:
            validation = (maps[val_index],)
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.patience, min_delta=self.min_delta,
                restore_best_weights=True))
        history = model.fit(maps[fit_index], batch_size=self.train_batch_size,
                            epochs=self.epochs, validation_data=validation, shuffle=True,
                            callbacks=callbacks, verbose=self.verbose)
        self.history_ = {k: [float(v) for v in values] for k, values in history.history.items()}
        self.n_epochs_ = len(self.history_["loss"])
        self.best_epoch_ = (callbacks[0].best_epoch + 1 if callbacks else self.n_epochs_)
        self.encoder_ = encoder
        return super()._fit_scorer(self._encode(maps))

    def _encode(self, maps):
        return np.asarray(self.encoder_.predict(maps, batch_size=self.batch_size, verbose=0),
                          np.float32)

    def transform_features(self, maps):
        """Adapted unit-norm features of lower-part maps from
        `extract_features`; float32 `(n, feature_dim)`.

        Raises:
            NotFittedError: before `fit`.
        """
        self._check_fitted()
        return self._encode(self._check_input_features(maps, self.n_features_in_))

    def _score(self, maps):
        return super()._score(self._encode(maps))

    def _scoring_layer(self):
        import keras

        maps = keras.Input(shape=(self.n_features_in_,), name="maps")
        scores = super()._scoring_layer()(self.encoder_(maps))
        return keras.Model(maps, scores, name="panda_scores")
