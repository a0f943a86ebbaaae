import numpy as np
import pytest
import tensorflow as tf

from tfunsup.data import load_dataset
from tfunsup.pretraining import (
    EncoderPretrainer,
    SimCLR,
    build_augmenter,
    label_efficiency,
    labeled_subset,
)
from tfunsup.utils.export import export_atomically


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.mark.parametrize("method", ["simclr", "autoencoder"])
def test_pretrainer_gives_an_encoder(method, digits, tmp_path):
    pretrainer = EncoderPretrainer(method, "conv", 8, filters=(8, 16), epochs=2,
                                   batch_size=64, seed=0).fit(digits.images[:256])
    features = pretrainer.transform(digits.images[:10])
    assert features.shape == (10, 8)
    path = export_atomically(pretrainer.encoder_, tmp_path / "encoder")
    reloaded = tf.saved_model.load(str(path))
    np.testing.assert_allclose(reloaded.serve(tf.constant(digits.images[:10])).numpy(),
                               features, atol=1e-5)
    assert len(pretrainer.history_["loss"]) == 2
    assert np.all(np.isfinite(pretrainer.history_["loss"]))
    with pytest.raises(ValueError, match="as in fit"):
        pretrainer.transform(np.zeros((2, 28, 28, 1), np.float32))


@pytest.mark.parametrize("kwargs,match", [
    (dict(method="byol"), "method"),
    (dict(latent_dim=0), "latent_dim"),
    (dict(temperature=0.0), "temperature"),
    (dict(epochs=-1), "epochs"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EncoderPretrainer(**kwargs).fit(np.zeros((4, 8, 8, 1), np.float32))


def test_simclr_trains_under_two_replicas(digits, two_cpu_strategy):
    pretrainer = EncoderPretrainer("simclr", "dense", 4, hidden_units=(16,), epochs=1,
                                   batch_size=64, strategy=two_cpu_strategy, seed=0)
    pretrainer.fit(digits.images[:128])
    assert np.isfinite(pretrainer.history_["loss"][0])
    assert isinstance(pretrainer.model_, SimCLR)


def test_augmenter_changes_images_only_in_training():
    augmenter = build_augmenter((8, 8, 1), seed=0)
    x = np.random.default_rng(0).random((4, 8, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(augmenter(x, training=False).numpy(), x)
    assert not np.allclose(augmenter(x, training=True).numpy(), x)


def test_labeled_subset_is_stratified_and_seeded():
    labels = np.repeat(np.arange(10), 40)
    subset = labeled_subset(labels, 0.05, seed=0)
    assert len(subset) == 20 and np.bincount(labels[subset]).tolist() == [2] * 10
    np.testing.assert_array_equal(subset, labeled_subset(labels, 0.05, seed=0))
    assert not np.array_equal(subset, labeled_subset(labels, 0.05, seed=1))
    assert len(labeled_subset(labels, 1.0, seed=0)) == 400
    with pytest.raises(ValueError, match="fewer than the 10 classes"):
        labeled_subset(labels, 0.01, seed=0)
    with pytest.raises(ValueError, match="fractions"):
        labeled_subset(labels, 1.5, seed=0)


def test_label_efficiency_table(digits):
    from tfunsup.autoencoders import build_conv_encoder

    encoder = build_conv_encoder((8, 8, 1), 8, filters=(8, 16))
    before = [w.copy() for w in encoder.get_weights()]
    x, y = digits.images, digits.labels
    result = label_efficiency(encoder, x[:300], y[:300], x[1000:1300], y[1000:1300],
                              fractions=(1.0,), seeds=(0,), head_steps=3, fine_tune_steps=2)
    table = result["label_efficiency"]
    assert [(r["fraction"], r["method"]) for r in table] == [(1.0, "pretrained"),
                                                             (1.0, "scratch")]
    assert all(0.0 <= r["mean_acc"] <= 1.0 and r["seeds"] == 1 for r in table)
    assert [r["n_labels"] for r in result["runs"]] == [300, 300]
    for old, new in zip(before, encoder.get_weights()):  # the encoder is never modified
        np.testing.assert_array_equal(old, new)
