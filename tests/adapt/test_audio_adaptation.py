"""SourceOnly, DANN and SHOT on waveforms: the same estimators, fed an audio
network (1-epoch budgets on synthetic tones: behaviour, not accuracy; the
FSDD accuracy test is tests/speech/test_fsdd_speech.py)."""

import numpy as np
import pytest
import tensorflow as tf

from tfunsup.adapt import DANN, SHOT, SourceOnly
from tfunsup.adapt.augmentation import augment_waveforms
from tfunsup.adapt.preprocessing import fit_waveforms
from tfunsup.data.audio_spec import AudioSpec

SPEC = AudioSpec(n_samples=2000, sample_rate=8000)
SMALL = {"epochs": 1, "batch_size": 16, "seed": 0, "image_spec": SPEC}
METHODS = {
    "source-only": lambda **kw: SourceOnly(**{**SMALL, **kw}),
    "dann": lambda **kw: DANN(**{**SMALL, **kw}),
    "shot": lambda **kw: SHOT(**{**SMALL, "adapt_epochs": 1, **kw}),
}


def _tones(n, shift, seed):
    """Three classes of tones (300, 700, 1500 Hz, shifted by `shift` Hz in the
    target 'voice'), random phase and gain, a little noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    t = np.arange(SPEC.n_samples) / SPEC.sample_rate
    freqs = np.array([300.0, 700.0, 1500.0])[labels] + shift
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    x = rng.uniform(0.2, 0.6, (n, 1)) * np.sin(2 * np.pi * freqs[:, None] * t + phase)
    x += 0.01 * rng.standard_normal(x.shape)
    return np.clip(x, -1, 1).astype(np.float32), labels


@pytest.fixture(scope="module")
def domains():
    xs, ys = _tones(64, 0.0, 0)
    xt, yt = _tones(32, 40.0, 1)
    return xs, ys, xt, yt


@pytest.fixture(scope="module")
def fitted(domains):
    xs, ys, xt, _ = domains
    source_only = METHODS["source-only"]().fit(xs, ys, xt)
    return {"source-only": source_only,
            "dann": METHODS["dann"]().fit(xs, ys, xt),
            "shot": METHODS["shot"](source_model=source_only).fit(None, None, xt)}


@pytest.mark.parametrize("name", METHODS)
def test_waveforms_take_the_same_estimators(name, fitted, domains):
    _, _, xt, yt = domains
    estimator = fitted[name]
    assert estimator.image_spec_ == SPEC
    assert estimator.network_.get_layer("feature_extractor").get_layer(
        "log_mel_cnn").get_layer("log_mel").__class__.__name__ == "MelSpectrogram"
    probabilities = estimator.predict_proba(xt)
    assert probabilities.shape == (len(xt), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert estimator.score(xt, yt) == pytest.approx(np.mean(estimator.predict(xt) == yt))
    assert estimator.transform(xt).shape == (len(xt), 128)
    # Other lengths are centred and padded/cropped to the network's.
    assert estimator.predict_proba(xt[:, :1500]).shape == (len(xt), 3)
    with pytest.raises(ValueError, match="images of rank 2"):
        estimator.predict(np.zeros((2, 28, 28, 1), np.float32))


def test_export_reloads_with_the_same_outputs(fitted, domains, tmp_path):
    _, _, xt, _ = domains
    estimator = fitted["shot"]
    path = estimator.export(tmp_path / "shot")
    reloaded = tf.saved_model.load(str(path))
    np.testing.assert_allclose(reloaded.serve(tf.constant(xt)).numpy(),
                               estimator.predict_proba(xt), atol=1e-5)


def test_waveform_arrays_without_a_spec_ask_for_one(domains):
    xs, ys, xt, _ = domains
    with pytest.raises(ValueError, match="source_images of rank 4.*image_spec=AudioSpec"):
        SourceOnly(epochs=1).fit(xs, ys, xt)
    with pytest.raises(ValueError, match="target_images of rank 2"):  # one modality
        SourceOnly(**SMALL).fit(xs, ys, np.zeros((4, 28, 28, 1), np.float32))


def test_audio_dataset_gives_the_spec_and_target_labels_are_refused(tmp_path):
    import wave

    from tfunsup.data import load_audio_dataset

    xs, ys = _tones(12, 0.0, 0)
    for i, (x, y) in enumerate(zip(xs, ys)):
        with wave.open(str(tmp_path / f"{y}_s_{i}.wav"), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(SPEC.sample_rate)
            handle.writeframes((x * 32767).astype(np.int16).tobytes())
    data = load_audio_dataset(tmp_path, label_pattern=r"^(\d)_", duration=0.25)
    with pytest.raises(ValueError, match="AudioDataset '.*' with labels"):
        SourceOnly(epochs=1).fit(data, None, data)
    estimator = SourceOnly(epochs=1, batch_size=4, seed=0).fit(data, None,
                                                               data.without_labels())
    assert estimator.image_spec_ == SPEC
    assert estimator.export_model().input_shape == (None, SPEC.n_samples)


def test_image_augmentations_are_refused_for_waveforms(domains):
    xs, ys, xt, _ = domains
    with pytest.raises(ValueError, match="augment 'standard' or 'none' for waveforms"):
        SourceOnly(**SMALL, augment="stroke").fit(xs, ys, xt)


def test_fit_waveforms_centres_and_augmentation_keeps_shape_and_range():
    x = np.arange(1, 7, dtype=np.float32)[None] / 10
    np.testing.assert_allclose(fit_waveforms(x, AudioSpec(4, 8000)), [[.2, .3, .4, .5]])
    np.testing.assert_allclose(fit_waveforms(x, AudioSpec(8, 8000)),
                               [[0, .1, .2, .3, .4, .5, .6, 0]])
    with pytest.raises(ValueError, match="need an audio network"):
        fit_waveforms(x, None)
    batch = tf.constant(_tones(8, 0.0, 0)[0])
    out = augment_waveforms(batch, tf.constant([0, 1], tf.int64))
    assert out.shape == batch.shape
    assert float(tf.reduce_max(tf.abs(out))) <= 1.0
    again = augment_waveforms(batch, tf.constant([0, 1], tf.int64))
    np.testing.assert_array_equal(out.numpy(), again.numpy())  # stateless: repeatable
    identity = augment_waveforms(batch, tf.constant([0, 1], tf.int64), 0.0, 0.0)
    np.testing.assert_allclose(identity.numpy(), batch.numpy(), atol=1e-6)
