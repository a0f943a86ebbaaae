"""The GAN model: train steps of both objectives, strategy, XLA switch, seeds,
resume from a backup, export, bad input."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfunsup.data import load_dataset
from tfunsup.gan import (
    GAN,
    build_discriminator,
    build_generator,
    export_generator,
    train_gan,
)
from tfunsup.training import cpu_supports_bfloat16

SMALL = dict(latent_dim=4, width=4, batch_size=32)


@pytest.fixture(scope="module")
def digits():
    """256 real 8x8 digits in [0, 1] (scikit-learn's), enough for a few steps."""
    return load_dataset("digits").images[:256]


def _weights(model):
    return [np.array(v) for v in model.weights]


@pytest.mark.parametrize("objective, n_critic", [("gan", 1), ("wgan-gp", 2)])
def test_train_step_updates_both_networks(digits, objective, n_critic):
    keras.utils.set_random_seed(0)
    generator = build_generator(digits.shape[1:], 4, 4)
    discriminator = build_discriminator(digits.shape[1:], 4)
    before = {"generator": _weights(generator), "discriminator": _weights(discriminator)}
    gan = GAN(generator, discriminator, objective=objective, n_critic=n_critic, seed=0)
    gan.compile()
    batch = tf.constant(digits[:SMALL["batch_size"] * n_critic])
    logs = gan.train_step(batch)
    assert int(gan.g_optimizer.iterations) == 1
    assert int(gan.d_optimizer.iterations) == n_critic
    expected = {"d_loss", "g_loss"} | ({"gradient_penalty"} if objective == "wgan-gp" else set())
    assert set(logs) == expected and all(np.isfinite(float(v)) for v in logs.values())
    for name, network in (("generator", generator), ("discriminator", discriminator)):
        after = _weights(network)
        changed = [not np.array_equal(a, b) for a, b in zip(before[name], after)]
        # every trainable kernel moved (batch-norm moving statistics aside)
        kernels = [i for i, w in enumerate(network.weights)
                   if w.trainable and "kernel" in w.path]
        assert kernels and all(changed[i] for i in kernels), name


@pytest.mark.parametrize("objective, n_critic", [("gan", 1), ("wgan-gp", 2)])
def test_train_gan_runs_every_step(digits, objective, n_critic):
    gan, history = train_gan(digits, objective=objective, n_critic=n_critic, epochs=1,
                             seed=0, **SMALL)
    steps = len(digits) // (SMALL["batch_size"] * n_critic)
    assert int(gan.g_optimizer.iterations) == steps
    assert int(gan.d_optimizer.iterations) == steps * n_critic
    expected = {"d_loss", "g_loss"} | ({"gradient_penalty"} if objective == "wgan-gp" else set())
    assert set(history) == expected
    assert all(np.isfinite(v[-1]) for v in history.values())


def test_wgan_gp_with_a_dead_critic_stays_finite(digits):
    """A critic with zero gradients makes sqrt(0) in the penalty: no NaN."""
    generator = build_generator((8, 8, 1), 4, 4)
    critic = build_discriminator((8, 8, 1), 4)
    for variable in critic.weights:
        variable.assign(tf.zeros_like(variable))
    gan = GAN(generator, critic, objective="wgan-gp", n_critic=1, seed=0)
    gan.compile()
    logs = gan.train_step(tf.constant(digits[:16]))
    assert float(logs["gradient_penalty"]) == pytest.approx(1.0, abs=1e-4)
    assert all(np.all(np.isfinite(w)) for w in _weights(critic))


def test_same_seed_repeats_the_run(digits):
    first, _ = train_gan(digits, epochs=1, seed=3, deterministic=True, **SMALL)
    second, _ = train_gan(digits, epochs=1, seed=3, deterministic=True, **SMALL)
    for a, b in zip(_weights(first.generator), _weights(second.generator)):
        np.testing.assert_array_equal(a, b)


def test_training_under_a_two_replica_strategy(digits, two_cpu_strategy):
    with pytest.warns(UserWarning, match="jit_compile"):
        gan, history = train_gan(digits, objective="wgan-gp", n_critic=2, epochs=1,
                                 seed=0, strategy=two_cpu_strategy, jit_compile=True, **SMALL)
    assert gan.jit_compile is False
    assert gan.distribute_strategy is two_cpu_strategy
    assert all(np.isfinite(v[-1]) for v in history.values())
    assert np.all(np.isfinite(gan.generate(8)))


def test_xla_compiled_train_step(digits):
    gan, history = train_gan(digits, epochs=1, seed=0, jit_compile=True, **SMALL)
    assert gan.jit_compile is True
    assert np.isfinite(history["g_loss"][-1])


def test_config_round_trip():
    gan = GAN(build_generator((8, 8, 1), 4, 4), build_discriminator((8, 8, 1), 4),
              objective="wgan-gp", n_critic=3, gp_weight=5.0, seed=7)
    clone = GAN.from_config(gan.get_config())
    assert (clone.objective, clone.n_critic, clone.gp_weight, clone.seed, clone.latent_dim) == (
        "wgan-gp", 3, 5.0, 7, 4)
    assert clone.generator.count_params() == gan.generator.count_params()


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("interrupted")


def test_interrupted_training_resumes_from_the_backup(digits, tmp_path):
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError, match="interrupted"):
        train_gan(digits, epochs=4, seed=0, backup_dir=backup, callbacks=[_Interrupt()], **SMALL)
    assert (backup / "latest.weights.h5").is_file()
    gan, history = train_gan(digits, epochs=4, seed=0, backup_dir=backup, **SMALL)
    steps = len(digits) // SMALL["batch_size"]
    assert len(history["d_loss"]) == 2  # epochs 3 and 4 only
    assert int(gan.g_optimizer.iterations) == 4 * steps  # optimizer state restored
    assert sorted(gan.sample_grid.grids) == [3, 4]
    assert not backup.exists()  # deleted once training completes


def test_exported_generator_reproduces_the_model(digits, tmp_path):
    gan, _ = train_gan(digits, epochs=1, seed=0, **SMALL)
    path = export_generator(gan, tmp_path / "generator")
    latents = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    loaded = tf.saved_model.load(str(path))
    np.testing.assert_allclose(loaded.serve(latents).numpy(),
                               gan.sampler()(latents, training=False).numpy(), atol=1e-6)
    signature = loaded.signatures["serving_default"]
    assert list(signature.structured_input_signature[1]) == ["latents"]
    with pytest.raises(FileExistsError):
        export_generator(gan, path)


def test_sample_grid_after_each_epoch(digits, tmp_path):
    gan, _ = train_gan(digits, epochs=2, seed=0, sample_dir=tmp_path, **SMALL)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "samples_epoch_001.png", "samples_epoch_002.png"]
    grid = gan.sample_grid.grids[2]
    assert grid.shape == (64, 8, 8, 1)
    np.testing.assert_allclose(grid, gan.sampler()(gan.sample_grid.latents, training=False))


@pytest.mark.parametrize("change, match", [
    (dict(latent_dim=0), "latent_dim >= 1. Received: latent_dim=0"),
    (dict(images=lambda x: x * 255), r"values in \[0, 1\]"),
    (dict(images=lambda x: x.reshape(len(x), -1)), "rank 4"),
    (dict(batch_size=257), "batch_size <= the number of images"),
    (dict(objective="wgan-gp", batch_size=64), "n_critic=5"),
    (dict(objective="lsgan"), "objective"),
    (dict(epochs=0), "epochs >= 1"),
    (dict(objective="wgan-gp", n_critic=1, normalization="batch"), "per sample"),
    (dict(augment="color"), "augment='color'"),
    (dict(mixed_precision="float8"), "mixed_precision"),
])
def test_bad_input_raises_before_training(digits, tmp_path, change, match):
    arguments = dict(SMALL, epochs=1, seed=0, backup_dir=tmp_path / "backup")
    transform = change.pop("images", lambda x: x)
    arguments.update(change)
    with pytest.raises(ValueError, match=match):
        train_gan(transform(digits), **arguments)
    assert not (tmp_path / "backup").exists()


@pytest.mark.parametrize("mixed_precision, optimizer", [
    ("bfloat16", "Adam"), ("float16", "LossScaleOptimizer")])
def test_mixed_precision_keeps_float32_weights_and_outputs(digits, mixed_precision, optimizer):
    """bfloat16 computes in bfloat16 on a CPU with bfloat16 instructions and
    falls back to float32, with a warning, on one without (AVX2 only)."""
    compute_dtype = mixed_precision
    if mixed_precision == "bfloat16" and not cpu_supports_bfloat16():
        compute_dtype = "float32"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan, history = train_gan(digits[:128], objective="wgan-gp", n_critic=2, epochs=1,
                                 seed=0, mixed_precision=mixed_precision,
                                 augment="translation", **SMALL)
    fell_back = any("without bfloat16 instructions" in str(w.message) for w in caught)
    assert fell_back == (compute_dtype != mixed_precision)
    assert type(gan.d_optimizer).__name__ == optimizer
    assert gan.generator.get_layer("up0").compute_dtype == compute_dtype
    assert all(w.dtype == "float32" for w in gan.generator.weights)
    samples = gan.generate(8)
    assert samples.dtype == np.float32 and np.all(np.isfinite(samples))
    assert all(np.isfinite(v[-1]) for v in history.values())


@pytest.mark.parametrize("normalization", ["batch", "layer", "spectral"])
def test_discriminator_normalizations_train(digits, normalization):
    objective = "gan" if normalization == "batch" else "wgan-gp"
    gan, history = train_gan(digits, objective=objective, n_critic=1, epochs=1, seed=0,
                             normalization=normalization, **SMALL)
    assert all(np.isfinite(v[-1]) for v in history.values())


def test_steps_per_execution_trains_the_same_weights(digits):
    """Several steps per call of the train function change the Python loop,
    not the training: the same seed gives the same generator."""
    one, _ = train_gan(digits, epochs=2, seed=5, deterministic=True, **SMALL)
    four, history = train_gan(digits, epochs=2, seed=5, steps_per_execution=4,
                              deterministic=True, **SMALL)
    assert int(four.g_optimizer.iterations) == 2 * (len(digits) // SMALL["batch_size"])
    for a, b in zip(_weights(one.generator), _weights(four.generator)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert len(history["g_loss"]) == 2


def test_fused_kernels_are_an_option(digits):
    from tfunsup.layers import FusedBatchNormalization
    from tfunsup.optimizers import FusedAdam

    default, _ = train_gan(digits, epochs=1, seed=0, **SMALL)
    fused, history = train_gan(digits, epochs=1, seed=0, fused_kernels=True, **SMALL)
    assert type(default.d_optimizer) is keras.optimizers.Adam
    assert not any(isinstance(layer, FusedBatchNormalization)
                   for layer in default.generator.layers)
    assert isinstance(fused.d_optimizer, FusedAdam) and isinstance(fused.g_optimizer, FusedAdam)
    assert any(isinstance(layer, FusedBatchNormalization) for layer in fused.generator.layers)
    assert all(np.isfinite(v[-1]) for v in history.values())


def test_auto_mixed_precision_is_float32_on_a_cpu(digits):
    gan, _ = train_gan(digits[:64], epochs=1, seed=0, mixed_precision="auto", **SMALL)
    assert gan.generator.get_layer("up0").compute_dtype == "float32"
    assert type(gan.d_optimizer) is keras.optimizers.Adam  # no loss scaling
    assert gan.jit_compile is False  # "auto" on a CPU-only machine
