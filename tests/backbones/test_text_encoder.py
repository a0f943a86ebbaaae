"""Text encoders: keras-hub presets (a real MiniLM folder) and string-input
TF Hub SavedModels through `load_backbone`."""

import sys

import numpy as np
import pytest
import tensorflow as tf

from tfunsup.backbones import load_backbone
from tfunsup.backbones.text_encoder import (
    MaskedPooling,
    encode_texts,
    is_text_preset,
    load_text_encoder,
    truncated_text_encoder,
)

MINILM = ("text-encoders", "all-MiniLM-L6-v2")
PAIR = ["A man is eating food.", "A man is eating a piece of bread."]


@pytest.fixture(scope="module")
def minilm(shared_data):
    pytest.importorskip("keras_hub")
    return load_backbone(shared_data(*MINILM), sequence_length=64)


def test_minilm_sentence_similarity(minilm):
    texts = np.asarray(PAIR + ["The central bank raised interest rates again."], dtype=object)
    embeddings = minilm(texts).numpy()
    assert minilm.modality == "text" and embeddings.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    cosine = embeddings @ embeddings.T
    # sentence-transformers gives 0.76 for this pair (shared data README).
    assert 0.73 < cosine[0, 1] < 0.79
    assert cosine[0, 2] < 0.3 and cosine[1, 2] < 0.3


def test_encode_texts_matches_model_and_caches(minilm, tmp_path):
    texts = PAIR + ["short", "a much longer sentence about football, goals and a late penalty kick"]
    direct = minilm(np.asarray(texts, dtype=object)).numpy()
    bucketed = encode_texts(minilm, texts, batch_size=2, cache_dir=tmp_path)
    np.testing.assert_allclose(bucketed, direct, atol=1e-5)
    cached = list(tmp_path.glob("*.npz"))
    assert len(cached) == 1
    np.testing.assert_array_equal(encode_texts(minilm, texts, cache_dir=tmp_path), bucketed)
    with pytest.raises(ValueError, match="batch_size=0"):
        encode_texts(minilm, texts, batch_size=0)


@pytest.mark.large
def test_minilm_export_reloads_with_same_outputs(minilm, tmp_path):
    texts = np.asarray(PAIR, dtype=object)
    minilm.export(str(tmp_path / "encoder"))
    reloaded = tf.saved_model.load(str(tmp_path / "encoder"))
    np.testing.assert_allclose(reloaded.serve(tf.constant(PAIR)).numpy(),
                               minilm(texts).numpy(), atol=1e-5)


def test_masked_pooling_ignores_padding():
    sequence = np.arange(2 * 3 * 2, dtype="float32").reshape(2, 3, 2)
    mask = np.array([[1, 1, 0], [1, 0, 0]], dtype=bool)
    pooled = MaskedPooling("mean", normalize=False)(sequence, mask).numpy()
    np.testing.assert_allclose(pooled, [[1.0, 2.0], [6.0, 7.0]])
    np.testing.assert_allclose(
        MaskedPooling("cls", normalize=False)(sequence, mask).numpy(), sequence[:, 0])
    with pytest.raises(ValueError, match="pooling='max'"):
        MaskedPooling("max")


def test_string_input_saved_model_loads_as_text_backbone(string_saved_model):
    embed = tf.saved_model.load(str(string_saved_model))
    backbone = load_backbone(string_saved_model, trainable=True)
    texts = np.asarray(["Good movie", "bad MOVIE", "good movie"], dtype=object)
    embeddings = backbone(texts).numpy()
    assert backbone.modality == "text" and embeddings.shape == (3, 8)
    np.testing.assert_allclose(embeddings, embed(tf.constant(texts.astype(str))).numpy(), atol=1e-6)
    np.testing.assert_allclose(embeddings[0], embeddings[2], atol=1e-6)
    assert len(backbone.trainable_weights) == 1
    np.testing.assert_allclose(encode_texts(backbone, list(texts), batch_size=2),
                               embeddings, atol=1e-6)


@pytest.mark.parametrize("spec, expected", [
    ("hf://sentence-transformers/all-MiniLM-L6-v2", True),
    ("kaggle://keras/bert/keras/bert_tiny_en_uncased", True),
    ("keras_hub:bert_tiny_en_uncased", True),
    ("keras:MobileNetV2", False),
    ("https://tfhub.dev/google/nnlm-en-dim50/2", False),
])
def test_is_text_preset(spec, expected):
    assert is_text_preset(spec) is expected


def test_folder_with_config_is_a_preset_but_saved_model_is_not(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert is_text_preset(tmp_path)
    (tmp_path / "saved_model.pb").write_bytes(b"")
    assert not is_text_preset(tmp_path)


def test_missing_keras_hub_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "keras_hub", None)
    with pytest.raises(ImportError, match=r"tfunsup\[text\]"):
        load_text_encoder(tmp_path)


def test_bad_sequence_length_is_rejected_before_loading(tmp_path):
    with pytest.raises(ValueError, match="sequence_length=4"):
        load_text_encoder(tmp_path, sequence_length=4)


def test_default_text_encoder_prefers_the_offline_copy(monkeypatch, tmp_path):
    from tfunsup.backbones.defaults import TEXT_ENCODER_PRESET, default_text_encoder

    monkeypatch.setenv("TFUNSUP_DATA_DIR", str(tmp_path))
    assert default_text_encoder()[0] == TEXT_ENCODER_PRESET == (
        "hf://sentence-transformers/all-MiniLM-L6-v2")
    folder = tmp_path / "text-encoders" / "all-MiniLM-L6-v2"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    spec, reason = default_text_encoder()
    assert spec == str(folder) and "offline copy" in reason


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_truncated_text_encoder_pools_inner_layers(topic_bert_preset, topic_texts, tmp_path):
    import keras

    encoder = load_backbone(topic_bert_preset, sequence_length=16)
    texts, _ = topic_texts(n_per_topic=3, n_words=5)
    layers = ("transformer_layer_0", "transformer_layer_1")
    cls = truncated_text_encoder(encoder, layers, "cls")
    assert cls.modality == "text" and cls.feature_dim == 16
    assert cls.spec_name == (f"{topic_bert_preset},layer=transformer_layer_0+"
                             "transformer_layer_1,pooling=cls")
    features = cls(np.asarray(texts, dtype=object)).numpy()
    # By hand: each layer's first-token state, L2-normalised, concatenated.
    # The keras-hub backbone inside; Keras numbers its name (bert_backbone_1, ...)
    # when an earlier test in this process built one too.
    import keras_hub
    [bert] = [l for l in encoder.token_encoder.layers if isinstance(l, keras_hub.models.Backbone)]
    tokens = encoder.preprocessor(tf.constant(texts))
    states = keras.Model(bert.input, [bert.get_layer(n).output for n in layers])(
        {key: tokens[key] for key in bert.input})
    expected = np.concatenate([_unit(s.numpy()[:, 0]) for s in states], axis=1)
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)
    # encode_texts pads each batch only to its longest text: same features.
    np.testing.assert_allclose(encode_texts(cls, texts, batch_size=4, cache_dir=tmp_path),
                               features, atol=1e-5)
    mean = truncated_text_encoder(encoder, "transformer_layer_0", "mean")
    mask = tokens["padding_mask"].numpy()[..., None]
    by_hand = (states[0].numpy() * mask).sum(axis=1) / mask.sum(axis=1)
    np.testing.assert_allclose(mean(np.asarray(texts, dtype=object)).numpy(), _unit(by_hand),
                               rtol=1e-5, atol=1e-6)


def test_truncated_text_encoder_errors(topic_bert_preset, string_saved_model):
    encoder = load_backbone(topic_bert_preset, sequence_length=16)
    with pytest.raises(ValueError) as error:  # the message of image backbones too
        truncated_text_encoder(encoder, "nope")
    assert str(error.value) == (
        f"Expected layer to name layers of a Keras functional model inside backbone "
        f"'{topic_bert_preset}'. Received: layer='nope', not all found.")
    with pytest.raises(ValueError, match="non-empty sequence"):
        truncated_text_encoder(encoder, ())
    with pytest.raises(ValueError, match="pooling='max'"):
        truncated_text_encoder(encoder, "transformer_layer_0", "max")
    with pytest.raises(ValueError, match="keras-hub text encoder"):
        truncated_text_encoder(load_backbone(str(string_saved_model)), "embed")
