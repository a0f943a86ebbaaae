"""Few-label text classification and unsupervised text-encoder adaptation,
on a tiny BERT preset the tests build (not the real MiniLM)."""

import numpy as np
import pytest

keras_hub = pytest.importorskip("keras_hub")

from tfunsup.backbones.text_encoder import (  # noqa: E402
    build_scratch_text_encoder,
    encode_texts,
    load_text_encoder,
    reinitialized_text_encoder,
)
from tfunsup.pretraining import (  # noqa: E402
    RandomWordDeletion,
    adapt_text_encoder,
    label_efficiency,
)


@pytest.fixture
def encoder(tiny_text_preset):
    return load_text_encoder(tiny_text_preset, sequence_length=16)


def test_scratch_encoder_shares_the_tokenizer_and_ignores_padding(encoder):
    scratch = build_scratch_text_encoder(encoder, embedding_dim=5, seed=0)
    assert scratch.preprocessor is encoder.preprocessor and scratch.feature_dim == 5
    table = scratch.get_layer("token_embedding").embeddings.numpy()
    ids = encoder.preprocessor.tokenizer(["good movie"])[0]  # eagerly a list
    expected = table[[2, *ids, 3]].mean(axis=0)  # [CLS] good movie [SEP], no padding
    np.testing.assert_allclose(scratch(np.asarray(["good movie"], dtype=object)).numpy()[0],
                               expected, atol=1e-6)
    with pytest.raises(ValueError, match="embedding_dim=0"):
        build_scratch_text_encoder(encoder, embedding_dim=0)


def test_text_label_efficiency_rows_runs_and_predictions(encoder, tmp_path, sentiment_texts):
    train_texts, train_labels = sentiment_texts(80, seed=0)
    test_texts, test_labels = sentiment_texts(40, seed=1)
    before = [w.copy() for w in encoder.get_weights()]
    result = label_efficiency(encoder, train_texts, train_labels, test_texts, test_labels,
                              fractions=(1.0,), seeds=(0,), head_steps=20, fine_tune_steps=2,
                              head_learning_rate=0.05, scratch_learning_rate=0.05,
                              scratch_same_architecture=True,
                              same_architecture_learning_rate=1e-2, batch_size=16,
                              cache_dir=tmp_path)
    table = result["label_efficiency"]
    assert [(r["fraction"], r["method"]) for r in table] == [
        (1.0, m) for m in ("pretrained", "fine-tuned", "scratch",
                           "scratch (same architecture)")]
    assert [r["n_labels"] for r in result["runs"]] == [80, 80, 80, 80]
    assert len(result["predictions"]) == len(result["runs"])
    for run, predicted in zip(result["runs"], result["predictions"]):
        assert predicted.shape == (40,)
        assert run["acc"] == pytest.approx(np.mean(predicted == test_labels))
    # One word decides the label: the scratch bag of tokens and the 1-layer
    # transformer from random weights learn it from 80 labels.
    assert result["runs"][2]["acc"] >= 0.9 and result["runs"][3]["acc"] >= 0.9, result["runs"]
    assert len(list(tmp_path.glob("*.npz"))) == 2  # train and test embeddings cached
    for old, new in zip(before, encoder.get_weights()):  # restored, never reinitialised
        np.testing.assert_array_equal(old, new)
    assert not encoder.trainable_weights


def test_reinitialized_encoder_is_the_architecture_with_fresh_seeded_weights(encoder):
    before = [w.copy() for w in encoder.get_weights()]
    fresh = reinitialized_text_encoder(encoder, seed=1)
    again = reinitialized_text_encoder(encoder, seed=1)
    other = reinitialized_text_encoder(encoder, seed=2)
    assert fresh.preprocessor is encoder.preprocessor and fresh.feature_dim == encoder.feature_dim
    assert fresh.spec_name.endswith(",random_weights") and fresh.trainable_weights
    shapes = [w.shape for w in encoder.get_weights()]
    assert [w.shape for w in fresh.get_weights()] == shapes
    # Every randomly drawn weight is new (norm scales and biases start at constants).
    drawn = [i for i, w in enumerate(fresh.get_weights()) if np.std(w) > 0]
    assert len(drawn) >= 6  # token, position, segment embeddings, Q/K/V/output, FFN kernels
    for i in drawn:
        assert not np.allclose(fresh.get_weights()[i], before[i]), (i, shapes[i])
        np.testing.assert_array_equal(fresh.get_weights()[i], again.get_weights()[i])
    assert any(not np.array_equal(fresh.get_weights()[i], other.get_weights()[i])
               for i in drawn)
    texts = np.asarray(["good movie", "a dull plot"], dtype=object)
    assert fresh(texts).shape == (2, encoder.feature_dim)
    for old, new in zip(before, encoder.get_weights()):  # the pretrained encoder is untouched
        np.testing.assert_array_equal(old, new)
    with pytest.raises(ValueError, match="keras-hub text encoder"):
        reinitialized_text_encoder(build_scratch_text_encoder(encoder, 4))


def test_text_label_efficiency_rejects_bad_input(encoder, sentiment_texts):
    texts, labels = sentiment_texts(20, seed=0)
    with pytest.raises(ValueError, match="train_inputs of str"):
        label_efficiency(encoder, [1, 2, 3], [0, 1, 0], texts, labels)
    with pytest.raises(ValueError, match="fine_tune_steps >= 0"):
        label_efficiency(encoder, texts, labels, texts, labels, fine_tune_steps=-1)
    with pytest.raises(ValueError, match="fewer than the 2 classes"):
        label_efficiency(encoder, texts, labels, texts, labels, fractions=(0.01,))
    with pytest.raises(ValueError, match="same_architecture_learning_rate=0"):
        label_efficiency(encoder, texts, labels, texts, labels, scratch_same_architecture=True,
                         same_architecture_learning_rate=0)


def test_random_word_deletion_only_in_training():
    layer = RandomWordDeletion(0.5, seed=0)
    texts = np.asarray(["one two three four five six seven eight"] * 4, dtype=object)
    np.testing.assert_array_equal(layer(texts).numpy().astype(str), texts.astype(str))
    views = [t.decode().split() for t in layer(texts, training=True).numpy()]
    assert all(set(v) <= set(texts[0].split()) for v in views)
    assert 0 < np.mean([len(v) for v in views]) < 8
    with pytest.raises(ValueError, match="rate=1.0"):
        RandomWordDeletion(1.0)


def test_adapt_text_encoder_trains_in_place_and_renames(encoder, tmp_path, sentiment_texts):
    texts, _ = sentiment_texts(64, seed=0)
    before = encode_texts(encoder, texts[:8])
    name = encoder.spec_name
    result = adapt_text_encoder(encoder, texts, epochs=1, batch_size=16, learning_rate=1e-2,
                                temperature=0.1, word_deletion=0.2, max_texts=48, seed=0)
    assert result["encoder"] is encoder and result["n_texts"] == 48
    assert len(result["loss"]) == 1 and np.all(np.isfinite(result["loss"]))
    assert not encoder.trainable_weights  # trainability restored
    assert encoder.spec_name.startswith(name + ",simcse(") and "seed=0" in encoder.spec_name
    assert np.abs(encode_texts(encoder, texts[:8]) - before).max() > 1e-3


@pytest.mark.parametrize("kwargs,match", [
    (dict(epochs=0), "epochs"), (dict(batch_size=1), "batch_size"),
    (dict(temperature=0), "temperature"), (dict(max_texts=1), "max_texts"),
    (dict(batch_size=64), "at least batch_size=64"),
])
def test_adapt_text_encoder_bad_parameters(encoder, kwargs, match, sentiment_texts):
    texts, _ = sentiment_texts(40, seed=0)
    with pytest.raises(ValueError, match=match):
        adapt_text_encoder(encoder, texts, **kwargs)


def test_adapt_text_encoder_needs_a_text_encoder():
    import keras

    images = keras.Input(shape=(4,))
    with pytest.raises(ValueError, match="text encoder"):
        adapt_text_encoder(keras.Model(images, images), ["a b"] * 4)
