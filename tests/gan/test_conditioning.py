"""Cluster conditioning: the latent -> cluster map, pseudo-labels, the
conditioned GAN's train step, export and bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfunsup.data import load_dataset
from tfunsup.gan import (
    GAN,
    ClusterCode,
    build_discriminator,
    build_generator,
    cluster_latents,
    export_generator,
    kmeans_pseudo_labels,
    latent_clusters,
    sample_latents,
    train_gan,
)
from tfunsup.metrics import cluster_purity

PRIOR = [0.5, 0.3, 0.15, 0.05]


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("digits")
    return data.images, data.labels


def test_standard_normal_latents_pick_clusters_with_the_prior_frequencies():
    latents = tf.constant(sample_latents(40_000, 3, seed=0))
    counts = np.bincount(latent_clusters(latents, PRIOR).numpy(), minlength=4) / 40_000
    np.testing.assert_allclose(counts, PRIOR, atol=0.01)


def test_cluster_latents_select_the_requested_clusters():
    prior = [0.9998, 0.0001, 0.0001]  # two tiny slices at the upper tail
    labels = np.array([0, 1, 2, 2, 1, 0] * 50)
    latents = cluster_latents(labels, 5, prior, seed=1)
    assert latents.shape == (300, 5) and np.all(np.isfinite(latents))
    np.testing.assert_array_equal(latent_clusters(tf.constant(latents), prior).numpy(), labels)
    # the other coordinates stay standard normal noise
    assert abs(latents[:, 1:].std() - 1.0) < 0.1


def test_cluster_code_layer_one_hot_then_the_other_coordinates():
    layer = ClusterCode(PRIOR)
    latents = cluster_latents([3, 0, 1], 4, PRIOR, seed=0)
    out = layer(tf.constant(latents)).numpy()
    np.testing.assert_array_equal(out[:, :4], np.eye(4)[[3, 0, 1]])
    np.testing.assert_array_equal(out[:, 4:], latents[:, 1:])
    clone = ClusterCode.from_config(layer.get_config())
    np.testing.assert_allclose(clone.cluster_prior, PRIOR)


@pytest.mark.parametrize("prior, match", [
    ([1.0], "n_clusters >= 2"),
    ([0.5, -0.1, 0.6], "non-negative"),
    ([0.0, 0.0], "positive sum"),
])
def test_bad_cluster_prior(prior, match):
    with pytest.raises(ValueError, match=match):
        ClusterCode(prior)


def test_pseudo_labels_overclustering_is_purer(digits):
    images, labels = digits
    ten = kmeans_pseudo_labels(images, 10, seed=0)
    thirty = kmeans_pseudo_labels(images, 30, seed=0)
    assert ten.dtype == np.int32 and ten.shape == (len(images),)
    assert set(np.unique(thirty)) == set(range(30))
    assert cluster_purity(labels, thirty) > cluster_purity(labels, ten)
    assert cluster_purity(labels, thirty) > 0.85
    np.testing.assert_array_equal(kmeans_pseudo_labels(images, 10, seed=0), ten)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_clusters=1), "n_clusters in \\[2, 1797\\]"),
    (dict(n_clusters=5000), "n_clusters in \\[2, 1797\\]"),
    (dict(n_clusters=10, pca_components=0), "pca_components >= 1"),
])
def test_pseudo_labels_bad_arguments(digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        kmeans_pseudo_labels(digits[0], **kwargs)


def _conditioned(objective="gan", n_critic=1):
    generator = build_generator((8, 8, 1), 6, 4, cluster_prior=PRIOR)
    critic = build_discriminator((8, 8, 1), 4, n_clusters=4)
    gan = GAN(generator, critic, objective=objective, n_critic=n_critic, seed=0)
    gan.compile()
    return gan


def test_generated_images_of_a_critic_update_get_the_real_batch_clusters():
    gan = _conditioned()
    labels = tf.constant([3, 2, 1, 0, 0, 1, 2, 3])
    latents = gan._fake_latents(labels, 8, salt=0)
    np.testing.assert_array_equal(latent_clusters(latents, PRIOR).numpy(), labels.numpy())


@pytest.mark.parametrize("objective, n_critic", [("gan", 1), ("wgan-gp", 2)])
def test_conditioned_train_step_updates_both_networks(digits, objective, n_critic):
    gan = _conditioned(objective, n_critic)
    images = tf.constant(digits[0][:32])
    labels = tf.constant(np.arange(32) % 4)
    # every generator weight and every critic kernel (a WGAN critic's output
    # bias cancels out of its loss), the cluster embedding included
    weights = gan.generator.trainable_weights + [
        v for v in gan.discriminator.weights if "bias" not in v.path]
    assert any("cluster_embedding" in v.path for v in weights)
    before = [np.array(v) for v in weights]
    logs = gan.train_step((images, labels))
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert all(not np.array_equal(np.array(v), b) for v, b in zip(weights, before))
    with pytest.raises(ValueError, match="pseudo_labels"):
        gan.train_step(images)


def test_mismatched_conditioning_is_refused():
    conditioned = build_generator((8, 8, 1), 6, 4, cluster_prior=PRIOR)
    with pytest.raises(ValueError, match="or neither"):
        GAN(conditioned, build_discriminator((8, 8, 1), 4))
    with pytest.raises(ValueError, match="discriminator embeds 3"):
        GAN(conditioned, build_discriminator((8, 8, 1), 4, n_clusters=3))


def test_conditioning_steers_the_generator(digits):
    """Trained on zeros and ones as two clusters, each cluster's latents make
    images closer to their own cluster's mean image than to the other's."""
    images, labels = digits
    pair = images[labels <= 1]
    pseudo = kmeans_pseudo_labels(pair, 2, seed=0)
    gan, _ = train_gan(pair, latent_dim=8, width=8, batch_size=16, epochs=25, seed=0,
                       ema_decay=None, pseudo_labels=pseudo)
    means = np.stack([pair[pseudo == k].mean(0) for k in (0, 1)])
    sampler = gan.sampler()
    for k in (0, 1):
        fake = sampler.predict(cluster_latents(np.full(200, k), 8, gan.cluster_prior),
                               verbose=0)
        distance = [np.mean((fake - means[j]) ** 2) for j in (0, 1)]
        assert distance[k] < distance[1 - k]


def test_conditioned_generator_exports_with_latents_only(digits, tmp_path):
    images = digits[0][:128]
    pseudo = kmeans_pseudo_labels(images, 4, seed=0)
    gan, _ = train_gan(images, latent_dim=6, width=4, batch_size=32, epochs=1, seed=0,
                       pseudo_labels=pseudo)
    path = export_generator(gan, tmp_path / "generator")
    loaded = tf.saved_model.load(str(path))
    latents = sample_latents(16, 6, seed=2)
    np.testing.assert_allclose(loaded.serve(latents).numpy(),
                               gan.sampler()(latents).numpy(), atol=1e-5)
    keras_path = tmp_path / "g.keras"
    gan.sampler().save(keras_path)
    reloaded = keras.models.load_model(keras_path)
    np.testing.assert_allclose(reloaded(latents).numpy(), gan.sampler()(latents).numpy(),
                               atol=1e-6)


@pytest.mark.parametrize("pseudo_labels, match", [
    (np.zeros(100, int), "one per image"),
    (np.arange(128) % 4 - 1, "non-negative integers"),
    ((np.arange(128) % 4).astype(float), "non-negative integers"),
    (np.where(np.arange(128) % 4 == 2, 3, np.arange(128) % 4), "none empty"),
    (np.zeros(128, int), "none empty"),
])
def test_bad_pseudo_labels_raise_before_training(digits, pseudo_labels, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        train_gan(digits[0][:128], epochs=1, batch_size=32, pseudo_labels=pseudo_labels,
                  backup_dir=tmp_path / "backup")
    assert not (tmp_path / "backup").exists()


@pytest.mark.parametrize("objective", ["gan", "wgan-gp"])
def test_conditioned_training_xla_and_two_replicas(digits, objective, two_cpu_strategy):
    images = digits[0][:256]
    pseudo = kmeans_pseudo_labels(images, 4, seed=0)
    gan, history = train_gan(images, objective=objective, n_critic=2, latent_dim=6, width=4,
                             batch_size=32, epochs=1, seed=0, jit_compile=True,
                             pseudo_labels=pseudo)
    assert gan.jit_compile is True
    assert all(np.isfinite(v[-1]) for v in history.values())
    gan, history = train_gan(images, objective=objective, n_critic=2, latent_dim=6, width=4,
                             batch_size=32, epochs=1, seed=0, strategy=two_cpu_strategy,
                             pseudo_labels=pseudo)
    assert gan.distribute_strategy is two_cpu_strategy
    assert all(np.isfinite(v[-1]) for v in history.values())
    assert np.all(np.isfinite(gan.generate(8)))
