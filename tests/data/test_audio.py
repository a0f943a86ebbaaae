import wave

import numpy as np
import pytest
import tensorflow as tf

from tfunsup.data import AudioDataset, audio_pipeline, load_audio_dataset, load_dataset
from tfunsup.data.audio import (
    FSDD_SOURCE_SPEAKERS,
    FSDD_SPEAKERS,
    FSDD_TARGET_SPEAKERS,
    fix_length,
    parse_fsdd_spec,
)


def _write_wav(path, samples, rate=8000, channels=1):
    """16-bit PCM; `samples` int16 `(n,)` or `(n, channels)`."""
    samples = np.asarray(samples, np.int16)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())


def _tone(n, amplitude=8000):
    return (amplitude * np.sin(np.arange(n) / 5.0)).astype(np.int16)


def test_fsdd_is_listed_not_decoded_with_digit_labels_and_speakers(shared_data):
    shared_data("fsdd", "recordings")
    data = load_dataset("fsdd")
    assert isinstance(data, AudioDataset) and "waveforms" not in vars(data)
    assert len(data) == 3000 and data.sample_rate == 8000 and data.n_samples == 8000
    assert data.class_names == tuple(str(d) for d in range(10))
    assert sorted(set(data.speakers)) == list(FSDD_SPEAKERS)
    i = list(data.ids).index("7_theo_12.wav")
    assert data.labels[i] == 7 and data.speakers[i] == "theo"
    np.testing.assert_array_equal(np.bincount(data.labels), [300] * 10)


@pytest.mark.parametrize("spec, kwargs, speakers", [
    ("fsdd-target", {}, FSDD_TARGET_SPEAKERS),
    ("fsdd-source", {}, FSDD_SOURCE_SPEAKERS),
    ("fsdd:george,theo", {}, ("george", "theo")),
    ("fsdd", {"speakers": ["lucas"]}, ("lucas",)),
])
def test_fsdd_speaker_selection(shared_data, spec, kwargs, speakers):
    shared_data("fsdd", "recordings")
    data = load_dataset(spec, **kwargs)
    assert sorted(set(data.speakers)) == sorted(speakers)
    assert len(data) == 500 * len(speakers)


def test_fsdd_waveforms_are_fixed_length_mono_in_unit_range(shared_data):
    shared_data("fsdd", "recordings")
    data = load_dataset("fsdd:nicolas").subset(np.arange(20))
    waveforms = data.waveforms
    assert waveforms.shape == (20, 8000) and waveforms.dtype == np.float32
    assert -1.0 <= waveforms.min() < 0.0 < waveforms.max() <= 1.0


def test_target_and_source_speakers_are_fixed_by_rule():
    # The rule, fixed before any model was trained: the last two names alphabetically.
    assert FSDD_TARGET_SPEAKERS == tuple(sorted(FSDD_SPEAKERS)[-2:]) == ("theo", "yweweler")
    assert set(FSDD_SOURCE_SPEAKERS).isdisjoint(FSDD_TARGET_SPEAKERS)


@pytest.mark.parametrize("spec, match", [
    ("fsdd:", "Expected speakers after 'fsdd:'"),
    ("fsdd:nobody", "Unknown speakers \\['nobody'\\]"),
])
def test_bad_fsdd_specs_name_the_problem(shared_data, spec, match):
    shared_data("fsdd", "recordings")
    with pytest.raises(ValueError, match=match):
        load_dataset(spec)


def test_speakers_with_another_dataset_is_refused():
    with pytest.raises(ValueError, match="speakers= applies to 'fsdd' only"):
        load_dataset("digits", speakers=["theo"])
    with pytest.raises(ValueError, match="either in the spec"):
        load_dataset("fsdd:theo", speakers=["lucas"])
    assert parse_fsdd_spec("fsdd") is None


def test_folder_with_subfolders_gives_labels_and_relative_ids(tmp_path):
    for word in ("no", "yes"):
        (tmp_path / word).mkdir()
        for i in range(2):
            _write_wav(tmp_path / word / f"{i}.wav", _tone(4000))
    data = load_dataset(str(tmp_path))
    assert isinstance(data, AudioDataset)
    assert list(data.ids) == ["no/0.wav", "no/1.wav", "yes/0.wav", "yes/1.wav"]
    assert data.class_names == ("no", "yes")
    np.testing.assert_array_equal(data.labels, [0, 0, 1, 1])


def test_label_and_speaker_patterns_read_file_names(tmp_path):
    for digit, speaker in ((3, "ann"), (10, "bob"), (3, "bob")):
        _write_wav(tmp_path / f"{digit}_{speaker}_0.wav", _tone(100))
    data = load_audio_dataset(tmp_path, label_pattern=r"^(\d+)_",
                              speaker_pattern=r"_([a-z]+)_")
    assert data.class_names == ("3", "10")  # numeric order
    assert dict(zip(data.ids, data.labels)) == {"3_ann_0.wav": 0, "10_bob_0.wav": 1,
                                                "3_bob_0.wav": 0}
    assert sorted(data.select_speakers(["bob"]).ids) == ["10_bob_0.wav", "3_bob_0.wav"]


@pytest.mark.parametrize("kwargs, match", [
    ({"label_pattern": r"^(\d+)_"}, r"does not match file '.*odd\.wav'"),
    ({"label_pattern": "("}, "Invalid label_pattern"),
    ({"label_pattern": r"\d"}, "one \\(group\\)"),
    ({"speaker_pattern": r"_([a-z]+)_"}, "speaker_pattern="),
    ({"duration": 0}, "Expected duration > 0"),
])
def test_bad_patterns_and_arguments_are_named(tmp_path, kwargs, match):
    _write_wav(tmp_path / "1_ann_0.wav", _tone(100))
    _write_wav(tmp_path / "odd.wav", _tone(100))
    with pytest.raises(ValueError, match=match):
        load_audio_dataset(tmp_path, **kwargs)


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "notes.txt").write_text("no audio")
    with pytest.raises(ValueError, match="No wav files found"):
        load_audio_dataset(tmp_path)
    with pytest.raises(FileNotFoundError, match="does-not-exist"):
        load_audio_dataset(tmp_path / "does-not-exist")


def test_unreadable_wav_is_skipped_and_listed(tmp_path):
    _write_wav(tmp_path / "a.wav", _tone(3000))
    (tmp_path / "b.wav").write_bytes(b"RIFF not really a wav file")
    _write_wav(tmp_path / "c.wav", _tone(3000))
    _write_wav(tmp_path / "d.wav", _tone(3000), rate=16000)  # another sample rate
    data = load_audio_dataset(tmp_path, duration=0.5)
    with pytest.raises(ValueError, match="Cannot read wav file '.*b.wav' \\(and 1 more\\)"):
        data.waveforms
    with pytest.warns(UserWarning, match="Skipped 2 unreadable wav file\\(s\\): b.wav, d.wav"):
        readable = data.readable()
    assert list(readable.ids) == ["a.wav", "c.wav"]
    assert readable.skipped == ("b.wav", "d.wav")
    assert readable.waveforms.shape == (2, 4000)


def test_waveforms_are_centred_padded_or_cropped_and_mono(tmp_path):
    _write_wav(tmp_path / "short.wav", np.full(4, 16384))
    _write_wav(tmp_path / "long.wav", np.arange(20) * 100)
    _write_wav(tmp_path / "stereo.wav", np.tile([[16384, -16384]], (8, 1)), channels=2)
    data = load_audio_dataset(tmp_path, duration=8 / 8000)
    by_id = dict(zip(data.ids, data.waveforms))
    np.testing.assert_allclose(by_id["short.wav"], [0, 0, .5, .5, .5, .5, 0, 0])
    np.testing.assert_allclose(by_id["long.wav"] * 32768 / 100, np.arange(6, 14))
    np.testing.assert_allclose(by_id["stereo.wav"], np.zeros(8))  # channels averaged


def test_fix_length_and_pipeline_positions(tmp_path):
    np.testing.assert_array_equal(fix_length(tf.range(5, dtype=tf.float32), 3), [1, 2, 3])
    np.testing.assert_array_equal(fix_length(tf.ones(1), 4), [0, 1, 0, 0])
    for i in range(5):
        _write_wav(tmp_path / f"{i}.wav", _tone(10 + i))
    data = load_audio_dataset(tmp_path, duration=0.01)
    batches = list(audio_pipeline(data, batch_size=2))
    assert [tuple(b.shape) for b, _ in batches] == [(2, 80), (2, 80), (1, 80)]
    np.testing.assert_array_equal(np.concatenate([i for _, i in batches]), np.arange(5))
    with pytest.raises(ValueError, match="batch_size=0"):
        audio_pipeline(data, batch_size=0)
