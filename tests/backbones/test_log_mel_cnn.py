import numpy as np
import pytest

from tfunsup.backbones.log_mel_cnn import build_log_mel_cnn
from tfunsup.data.audio_spec import AudioSpec


@pytest.mark.parametrize("spec, n_mels, frames", [
    (AudioSpec(8000, 8000), 40, 101),   # FSDD: 1 s at 8 kHz, 32 ms frames, 10 ms hop
    (AudioSpec(16000, 16000), 40, 101),
    (AudioSpec(4000, 8000), 40, 51),
])
def test_front_end_and_feature_shapes(spec, n_mels, frames):
    model = build_log_mel_cnn(spec, n_mels=n_mels, feature_dim=64, seed=0)
    assert model.input_shape == (None, spec.n_samples)
    assert model.get_layer("log_mel").output.shape == (None, n_mels, frames)
    x = np.random.default_rng(0).uniform(-1, 1, (3, spec.n_samples)).astype(np.float32)
    features = model(x, training=False).numpy()
    assert features.shape == (3, 64) and np.isfinite(features).all()
    assert model.audio_spec == spec


def test_features_of_a_recording_do_not_depend_on_its_batch():
    # Keras' `top_db` floor is taken over the whole batch; the backbone uses a
    # fixed floor (`min_power`) instead, so one recording gives one feature vector.
    model = build_log_mel_cnn(AudioSpec(2000, 8000), seed=0)
    rng = np.random.default_rng(0)
    quiet = 0.001 * rng.standard_normal((1, 2000)).astype(np.float32)
    loud = np.clip(rng.standard_normal((1, 2000)), -1, 1).astype(np.float32)
    alone = model(quiet, training=False).numpy()
    together = model(np.concatenate([quiet, loud]), training=False).numpy()[:1]
    np.testing.assert_allclose(alone, together, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"spec": (8000, 8000)}, "Expected an AudioSpec"),
    ({"spec": AudioSpec(8000, 8000), "hop_seconds": 0.00001}, "hop_seconds"),
])
def test_bad_arguments_are_named(kwargs, match):
    spec = kwargs.pop("spec")
    with pytest.raises(ValueError, match=match):
        build_log_mel_cnn(spec, **kwargs)


def test_audio_spec_checks_its_fields():
    assert AudioSpec(8000, 8000).duration == 1.0
    with pytest.raises(ValueError, match="n_samples=0"):
        AudioSpec(0, 8000)
    with pytest.raises(ValueError, match="sample_rate=8000.0"):
        AudioSpec(10, 8000.0)
