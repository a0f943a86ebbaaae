"""SourceOnly, DANN and SHOT on small real slices of MNIST-5k -> digits
(1-epoch budgets: these tests check behaviour, not accuracy)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.exceptions import NotFittedError

from tfunsup.adapt import DANN, SHOT, SourceOnly, estimate_class_prior

SMALL = {"epochs": 1, "batch_size": 32, "seed": 0}
APPLICATION = "keras:VGG16"  # the quickest application to build and trace here
METHODS = {
    "source-only": lambda **kw: SourceOnly(**{**SMALL, **kw}),
    "dann": lambda **kw: DANN(**{**SMALL, **kw}),
    "shot": lambda **kw: SHOT(**{**SMALL, "adapt_epochs": 1, **kw}),
}


@pytest.fixture(scope="module")
def fitted(domains):
    xs, ys, xt, _ = domains
    source_only = METHODS["source-only"]().fit(xs, ys, xt)
    return {"source-only": source_only,
            "dann": METHODS["dann"]().fit(xs, ys, xt),
            "shot": METHODS["shot"](source_model=source_only).fit(None, None, xt)}


@pytest.mark.parametrize("name", METHODS)
def test_fit_predict_score_transform(name, fitted, domains):
    _, _, xt, yt = domains
    estimator = fitted[name]
    probabilities = estimator.predict_proba(xt)
    assert probabilities.shape == (len(xt), 10) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    predictions = estimator.predict(xt)
    assert predictions.dtype == np.int64
    assert estimator.score(xt, yt) == pytest.approx(np.mean(predictions == yt))
    assert estimator.transform(xt).shape == (len(xt), 128)
    assert estimator.image_spec_.shape == (28, 28, 1)
    assert estimator.input_shape_ == (8, 8, 1)
    assert all(np.isfinite(v).all() for v in estimator.history_.values())


def test_same_seed_same_predictions_with_op_determinism(domains):
    # (All three methods: tests/cli/test_adapt_cli.py.)
    from tfunsup.training import op_determinism_enabled

    xs, ys, xt, _ = domains
    first, again = (METHODS["dann"](deterministic=True).fit(xs, ys, xt) for _ in range(2))
    np.testing.assert_array_equal(again.predict_proba(xt), first.predict_proba(xt))
    assert not op_determinism_enabled()  # restored after fit


@pytest.mark.parametrize("name", METHODS)
def test_savedmodel_reload_parity(name, fitted, domains, tmp_path):
    _, _, xt, _ = domains
    path = fitted[name].export(tmp_path / name)
    reloaded = tf.saved_model.load(str(path))
    served = reloaded.serve(tf.constant(xt)).numpy()
    np.testing.assert_allclose(served, fitted[name].predict_proba(xt), atol=1e-5)
    with pytest.raises(FileExistsError, match="exists"):
        fitted[name].export(path)


def test_shot_is_source_free_and_leaves_its_source_model_unchanged(fitted, domains):
    _, _, xt, _ = domains
    source_model = fitted["source-only"]
    before = [w.copy() for w in source_model.network_.get_weights()]
    shot = SHOT(source_model=source_model, adapt_epochs=1, batch_size=32, seed=0)
    shot.fit(None, None, xt)
    for a, b in zip(before, source_model.network_.get_weights()):
        np.testing.assert_array_equal(a, b)
    classifier = shot.network_.get_layer("classifier")
    np.testing.assert_array_equal(classifier.get_weights()[0],
                                  source_model.network_.get_layer("classifier").get_weights()[0])
    assert shot.pseudo_labels_.shape == (len(xt),)
    assert shot.source_model_ is source_model


def test_trains_under_two_replica_strategy_with_xla_falling_back(two_cpu_strategy, domains):
    xs, ys, xt, _ = domains
    dann = METHODS["dann"](strategy=two_cpu_strategy).fit(xs, ys, xt)
    assert dann.predict(xt).shape == (len(xt),)
    # SHOT trains its source model (a SourceOnly) under the strategy too, and
    # averages mirrored weights.
    with pytest.warns(UserWarning, match="jit_compile=True is not supported"):
        shot = METHODS["shot"](strategy=two_cpu_strategy, jit_compile=True,
                               ema_momentum=0.9).fit(xs, ys, xt)
    assert shot.predict(xt).shape == (len(xt),)


@pytest.fixture
def without_op_determinism():
    """TensorFlow turns XLA off while op determinism (enabled by any seeded
    fit in this process) is on; switch it off for one test."""
    from tensorflow.python.framework import config

    enabled = config.is_op_determinism_enabled()
    config.disable_op_determinism()
    yield
    if enabled:
        config.enable_op_determinism()


def test_xla_compiled_train_step(domains, without_op_determinism):
    import warnings

    xs, ys, xt, _ = domains
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dann = DANN(epochs=1, batch_size=32, seed=None, jit_compile=True).fit(xs, ys, xt)
    assert not [w for w in caught if "jit_compile" in str(w.message)]
    assert np.isfinite(dann.history_["loss"]).all()


def test_any_backbone_spec(domains, source_model_path):
    xs, ys, xt, _ = domains
    # Our TF Hub-style SavedModel (its image_spec.json gives the MNIST frame).
    source_only = SourceOnly(str(source_model_path), **SMALL).fit(xs, ys, xt)
    assert source_only.image_spec_.content_fraction == pytest.approx(20 / 28)
    assert source_only.predict(xt).shape == (len(xt),)
    # An in-memory keras.Model is cloned: the caller's weights stay as they were.
    inputs = keras.Input((28, 28, 1))
    user_model = keras.Model(inputs, keras.layers.Dense(16, activation="relu")(
        keras.layers.Flatten()(inputs)))
    weights = [w.copy() for w in user_model.get_weights()]
    DANN(user_model, **SMALL).fit(xs, ys, xt)
    for a, b in zip(weights, user_model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_keras_application_backbone_at_32x32_rgb(domains):
    from tfunsup.data import ImageSpec

    xs, ys, xt, _ = domains
    estimator = SourceOnly(APPLICATION, weights=None,
                           image_spec=ImageSpec(32, 32, 3, content_fraction=20 / 28),
                           **SMALL).fit(xs[:64], ys[:64], xt)
    assert estimator.predict_proba(xt).shape == (len(xt), 10)


@pytest.mark.parametrize("name", METHODS)
def test_target_labels_are_refused(name, domains):
    from tfunsup.data import ArrayDataset

    xs, ys, xt, yt = domains
    estimator = METHODS[name]()
    with pytest.raises(ValueError, match="Expected target_labels=None"):
        estimator.fit(xs, ys, xt, target_labels=yt)
    with pytest.raises(ValueError, match="ImageDataset 'digits' with labels"):
        estimator.fit(xs, ys, ArrayDataset(xt, yt, "digits"))
    with pytest.raises(ValueError, match="a tuple of 2 items"):
        estimator.fit(xs, ys, (xt, yt))
    assert not hasattr(estimator, "network_")


@pytest.mark.parametrize("name", METHODS)
def test_bad_inputs_fail_before_training(name, domains):
    xs, ys, xt, _ = domains
    estimator = METHODS[name]()
    with pytest.raises(ValueError, match="target_images of rank 4"):
        estimator.fit(xs, ys, xt.reshape(len(xt), -1))
    with pytest.raises(ValueError, match="source_images of rank 4"):
        estimator.fit(xs.reshape(len(xs), -1), ys, xt)
    with pytest.raises(ValueError, match=r"source_labels of shape \(256,\)"):
        estimator.fit(xs, ys[:10], xt)
    with pytest.raises(ValueError, match="at least 2 classes"):
        estimator.fit(xs, np.zeros_like(ys), xt)
    with pytest.raises(ValueError, match="values in \\[0, 1\\]"):
        estimator.fit(xs, ys, xt * 255)
    with pytest.raises(ValueError, match="epochs >= 1. Received: epochs=0"):
        METHODS[name](epochs=0).fit(xs, ys, xt)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        estimator.predict(xt)
    assert not hasattr(estimator, "network_")


def test_score_refuses_labels_outside_the_source_classes(fitted, domains):
    _, _, xt, yt = domains
    with pytest.raises(ValueError, match=r"labels in \[0, 10\)"):
        fitted["dann"].score(xt, yt + 5)


def test_shot_source_arguments(fitted, domains):
    xs, ys, xt, _ = domains
    with pytest.raises(ValueError, match="both a source_model and source data"):
        SHOT(source_model=fitted["source-only"]).fit(xs, ys, xt)
    with pytest.raises(ValueError, match="Expected source_images and source_labels"):
        SHOT().fit(None, None, xt)
    with pytest.raises(ValueError, match="fitted SourceOnly or DANN"):
        SHOT(source_model="model.keras").fit(None, None, xt)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        SHOT(source_model=SourceOnly()).fit(None, None, xt)
    source_model = fitted["source-only"]
    with pytest.raises(ValueError, match="diversity_weight >= 0. Received: diversity_weight=-1"):
        SHOT(source_model=source_model, diversity_weight=-1).fit(None, None, xt)
    for bad in ("flat", [0.5, 0.5], [0.0] + [1 / 9] * 9, [0.2] * 10):
        with pytest.raises(ValueError, match="class_prior"):
            SHOT(source_model=source_model, class_prior=bad).fit(None, None, xt)
    with pytest.raises(ValueError, match="Received: balance='yes'"):
        SHOT(source_model=source_model, balance="yes").fit(None, None, xt)
    with pytest.raises(ValueError, match="Received: augment='thick'"):
        SourceOnly(augment="thick").fit(xs, ys, xt)
    with pytest.raises(ValueError, match="Received: target_augment='strong'"):
        SHOT(source_model=source_model, target_augment="strong").fit(None, None, xt)


def test_shot_target_augment_moves_the_training_batches_only(fitted, domains):
    _, _, xt, _ = domains
    source_model = fitted["source-only"]
    framed = source_model._frame(xt)
    labels = np.arange(len(framed)) % 10

    def first_batch(target_augment, seed=0):
        shot = SHOT(source_model=source_model, batch_size=32, seed=seed,
                    target_augment=target_augment)
        images, batch_labels = next(iter(shot._target_dataset(framed, 32, labels=labels)))
        return images.numpy(), batch_labels.numpy()

    plain, plain_labels = first_batch("none")
    moved, moved_labels = first_batch("affine")
    # The same items in the same order (same shuffle), each image moved.
    np.testing.assert_array_equal(moved_labels, plain_labels)
    assert moved.shape == plain.shape and moved.dtype == np.float32
    assert 0.0 <= moved.min() and moved.max() <= 1.0
    changed = np.abs(moved - plain).reshape(len(moved), -1).max(axis=1) > 0.05
    assert changed.mean() > 0.9, changed
    np.testing.assert_array_equal(first_batch("affine")[0], moved)  # seeded
    assert not np.array_equal(first_batch("affine", seed=1)[0], moved)
    # Pseudo-labels come from the images as they are: one epoch's labels
    # (computed before its training) match those without augmentation, while
    # the trained networks differ.
    shots = [SHOT(source_model=source_model, adapt_epochs=1, batch_size=32, seed=0,
                  target_augment=kind).fit(None, None, xt) for kind in ("none", "affine")]
    np.testing.assert_array_equal(shots[1].pseudo_labels_, shots[0].pseudo_labels_)
    assert not np.allclose(shots[1].predict_proba(xt), shots[0].predict_proba(xt))


def test_shot_ema_momentum_puts_the_averaged_weights_in_the_model(fitted, domains):
    """With a momentum near 1 the average stays at the weights after the first
    step (where it starts): one Adam step of 1e-4 from the source weights,
    where 8 plain steps move them further."""
    _, _, xt, _ = domains
    source_model = fitted["source-only"]
    with pytest.raises(ValueError, match="Received: ema_momentum=1.0"):
        SHOT(source_model=source_model, ema_momentum=1.0).fit(None, None, xt)

    def largest_move(**params):
        shot = SHOT(source_model=source_model, adapt_epochs=2, batch_size=32, seed=0,
                    **params).fit(None, None, xt)
        return max(np.abs(a.numpy() - b.numpy()).max() for a, b in zip(
            shot.feature_extractor_.trainable_variables,
            source_model.feature_extractor_.trainable_variables))

    assert largest_move(ema_momentum=0.999999) < 1.5e-4
    assert largest_move() > 3e-4


def test_shot_class_prior_options(fitted, domains):
    _, _, xt, _ = domains
    source_model = fitted["source-only"]
    np.testing.assert_allclose(source_model.source_class_prior_.sum(), 1.0)
    uniform = SHOT(source_model=source_model, adapt_epochs=1, batch_size=32,
                   seed=0).fit(None, None, xt)  # the default
    np.testing.assert_allclose(uniform.class_prior_, np.full(10, 0.1))
    estimated = SHOT(source_model=source_model, adapt_epochs=1, batch_size=32, seed=0,
                     class_prior="estimated").fit(None, None, xt)
    # EM on the source model's target posteriors, calibrated to the source's
    # class frequencies, floored at 1e-6; the target labels play no part.
    expected = np.maximum(estimate_class_prior(
        source_model.predict_proba(xt), source_model.source_class_prior_), 1e-6)
    np.testing.assert_allclose(estimated.class_prior_, expected / expected.sum(), rtol=1e-5)
    assert estimated.class_prior_.min() >= 1e-6 * 0.99
    assert not np.allclose(estimated.class_prior_, 0.1, atol=1e-3)
    mean = SHOT(source_model=source_model, adapt_epochs=1, batch_size=32, seed=0,
                class_prior="mean").fit(None, None, xt)
    np.testing.assert_allclose(mean.class_prior_, source_model.predict_proba(xt).mean(axis=0),
                               rtol=1e-5)
    given = np.linspace(1, 2, 10) / np.linspace(1, 2, 10).sum()
    shot = SHOT(source_model=source_model, adapt_epochs=1, batch_size=32, seed=0,
                class_prior=given).fit(None, None, xt)
    np.testing.assert_allclose(shot.class_prior_, given)
    assert "prior_kl" in shot.history_


def test_shot_balanced_pseudo_labels(fitted, domains):
    _, _, xt, _ = domains
    shot = SHOT(source_model=fitted["source-only"], adapt_epochs=1, batch_size=32, seed=0,
                balance=True).fit(None, None, xt)
    counts = np.bincount(shot.pseudo_labels_, minlength=10)
    assert counts.min() >= 8 and counts.max() <= 18, counts  # 12.8 each if exact


def test_shot_model_config_keeps_its_class_prior():
    from tfunsup.adapt import SHOTModel
    from tfunsup.adapt.network import build_network

    network, _ = build_network(None, 10, bottleneck_dim=8, seed=0)
    prior = np.linspace(1, 3, 10) / np.linspace(1, 3, 10).sum()
    model = SHOTModel(network, class_prior=prior)
    again = SHOTModel.from_config(model.get_config())
    np.testing.assert_allclose(again.class_prior, prior)
    with pytest.raises(ValueError, match="class_prior"):
        SHOTModel(network, class_prior=np.full(9, 1 / 9))
