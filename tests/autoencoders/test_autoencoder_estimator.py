import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfunsup.autoencoders import Autoencoder, AutoencoderEstimator
from tfunsup.data import load_dataset


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def fitted(digits):
    return AutoencoderEstimator("conv", 6, filters=(8, 16), epochs=4, batch_size=64,
                                seed=0).fit(digits.images[:512], digits.images[512:640])


def test_fit_transform_reconstruct(fitted, digits):
    x = digits.images[:20]
    codes = fitted.transform(x)
    assert codes.shape == (20, 6) and codes.dtype == np.float32
    assert fitted.reconstruct(x).shape == x.shape
    np.testing.assert_allclose(fitted.inverse_transform(codes), fitted.reconstruct(x),
                               atol=1e-5)
    losses = fitted.history_["loss"]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert len(fitted.history_["val_loss"]) == 4
    errors = fitted.reconstruction_error(x)
    assert errors.shape == (20,) and np.all(errors > 0)


def test_same_seed_same_codes(digits):
    def fit(seed):
        return AutoencoderEstimator("dense", 3, hidden_units=(16,), noise_stddev=0.1,
                                    epochs=1, batch_size=64, seed=seed,
                                    deterministic=True).fit(digits.images[:128])

    first, again, other = fit(0).transform(digits.images[:50]), fit(0), fit(1)
    np.testing.assert_array_equal(again.transform(digits.images[:50]), first)
    assert not np.allclose(other.transform(digits.images[:50]), first)


@pytest.mark.parametrize("images,match", [
    (np.full((4, 8, 8, 1), np.nan, np.float32), "NaN"),
    (np.zeros((0, 8, 8, 1), np.float32), "at least one image"),
    (np.full((4, 8, 8, 1), 2.0, np.float32), r"\[0, 1\]"),
])
def test_bad_fit_input_fails_before_training(images, match):
    estimator = AutoencoderEstimator(epochs=1)
    with pytest.raises(ValueError, match=match):
        estimator.fit(images)
    assert not hasattr(estimator, "encoder_")


@pytest.mark.parametrize("kwargs,match", [
    (dict(latent_dim=0), "latent_dim"),
    (dict(architecture="rnn"), "architecture"),
    (dict(epochs=-1), "epochs"),
    (dict(batch_size=0), "batch_size"),
    (dict(noise_stddev=-1.0), "noise_stddev"),
    (dict(jit_compile="yes"), "jit_compile"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AutoencoderEstimator(**kwargs).fit(np.zeros((4, 8, 8, 1), np.float32))


def test_mismatched_shapes_and_not_fitted(fitted):
    with pytest.raises(ValueError, match=r"shape \(n, 8, 8, 1\)"):
        fitted.transform(np.zeros((3, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        fitted.reconstruction_error(np.full((3, 8, 8, 1), np.inf, np.float32))
    with pytest.raises(ValueError, match="not fitted"):
        AutoencoderEstimator().transform(np.zeros((3, 8, 8, 1), np.float32))


def test_export_reloads_with_same_outputs(fitted, digits, tmp_path):
    paths = fitted.export(tmp_path)
    encoder = tf.saved_model.load(str(paths["encoder"]))
    decoder = tf.saved_model.load(str(paths["decoder"]))
    x = digits.images[:32]
    codes = encoder.serve(tf.constant(x)).numpy()
    np.testing.assert_allclose(codes, fitted.transform(x), atol=1e-5)
    np.testing.assert_allclose(decoder.serve(tf.constant(codes)).numpy(),
                               fitted.inverse_transform(codes), atol=1e-5)
    with pytest.raises(FileExistsError):
        fitted.export(tmp_path)


class _Interrupt(keras.callbacks.Callback):
    """Raises at the end of epoch `at` (after BackupAndRestore saved it)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise RuntimeError("killed")


class _EpochLog(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_backup_and_restore_resumes_an_interrupted_fit(digits, tmp_path):
    backup = tmp_path / "backup"
    images = digits.images[:256]  # 4 steps per epoch

    def estimator(callbacks):
        return AutoencoderEstimator("dense", 4, hidden_units=(16,), epochs=5, batch_size=64,
                                    backup_dir=backup, callbacks=callbacks, seed=0)

    first = _EpochLog()
    with pytest.raises(RuntimeError, match="killed"):
        estimator([first, _Interrupt(at=2)]).fit(images)
    assert first.epochs == [0, 1, 2]
    assert (backup / "training_metadata.json").is_file()

    second = _EpochLog()
    resumed = estimator([second]).fit(images)
    assert second.epochs == [3, 4]  # nothing redone
    assert len(resumed.history_["loss"]) == 2
    # Weights and optimizer state came from the backup: 5 epochs x 4 steps in total.
    assert int(resumed.autoencoder_.optimizer.iterations.numpy()) == 5 * 4
    assert not backup.exists()  # deleted once training completed


def test_under_two_replica_strategy_without_xla(digits, two_cpu_strategy):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator = AutoencoderEstimator("dense", 4, hidden_units=(16,), epochs=1,
                                         jit_compile=True, strategy=two_cpu_strategy,
                                         seed=0).fit(digits.images[:128])
    assert any("MirroredStrategy" in str(w.message) for w in caught)
    assert estimator.autoencoder_.jit_compile is False
    assert np.isfinite(estimator.history_["loss"][0])
    assert estimator.transform(digits.images[:10]).shape == (10, 4)


def test_autoencoder_model_config_round_trip():
    from tfunsup.autoencoders import build_dense_decoder, build_dense_encoder

    model = Autoencoder(build_dense_encoder((8, 8, 1), 3, (8,)),
                        build_dense_decoder(3, (8, 8, 1), (8,)), noise_stddev=0.1)
    clone = Autoencoder.from_config(model.get_config())
    assert clone.noise_stddev == 0.1 and clone.encoder.output.shape == (None, 3)


def test_encoder_is_a_backbone(fitted, digits):
    """The encoder plugs into the backbone loader the cluster flow uses."""
    from tfunsup.backbones import load_backbone

    backbone = load_backbone(fitted.encoder_)
    features = backbone.predict(digits.images[:16], verbose=0)
    np.testing.assert_allclose(features, fitted.transform(digits.images[:16]), atol=1e-5)
