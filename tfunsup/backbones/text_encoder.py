"""Pretrained text encoders as Keras 3 models mapping strings to embeddings.

Two kinds of spec give a text encoder:

- a keras-hub preset: a local folder (keras-hub layout, or a Hugging Face
  layout such as sentence-transformers' `all-MiniLM-L6-v2` with
  `config.json`, `model.safetensors` and `vocab.txt`), `hf://<org>/<name>`,
  `kaggle://<owner>/<model>/...` or `keras_hub:<preset_name>`. The preset's
  tokenizer and transformer backbone are loaded with keras-hub and the token
  states are pooled into one vector per text (masked mean by default, as
  sentence-transformers pools);
- a TF Hub text-embedding SavedModel whose function takes a `(batch,)`
  string tensor (nnlm, Universal Sentence Encoder), loaded through
  `HubLayer` (see `load_backbone`).

keras-hub is an optional dependency: `pip install "tfunsup[text]"`.
"""

import hashlib
import json
import os
from pathlib import Path

import keras
import numpy as np

PRESET_SCHEMES = ("hf://", "kaggle://", "keras_hub:")
POOLING_MODES = ("mean", "cls")
TEXT_EXTRA_HINT = 'pip install "tfunsup[text]"'


def require_keras_hub():
    """Imports keras-hub, or raises an ImportError naming the `[text]` extra."""
    try:
        import keras_hub
    except ImportError as error:
        raise ImportError(
            "Text encoders from keras-hub presets need the optional "
            f"dependency keras-hub: {TEXT_EXTRA_HINT} ({error})."
        ) from error
    return keras_hub


def is_text_preset(spec):
    """Whether `spec` names a keras-hub preset (rather than a SavedModel).

    True for `hf://`, `kaggle://` and `keras_hub:` specs, and for a local
    folder holding `config.json` but no `saved_model.pb` (keras-hub or
    Hugging Face layout).
    """
    if isinstance(spec, keras.Model) or not isinstance(spec, (str, os.PathLike)):
        return False
    text = str(spec)
    if text.startswith(PRESET_SCHEMES):
        return True
    path = Path(text).expanduser()
    return (path.is_dir() and (path / "config.json").is_file()
            and not (path / "saved_model.pb").is_file())


@keras.saving.register_keras_serializable(package="tfunsup")
class MaskedPooling(keras.layers.Layer):
    """Pools token states `(batch, seq_len, dim)` into `(batch, dim)`.

    Args:
        mode: `"mean"` averages the states of the real (unpadded) tokens, as
            sentence-transformers does; `"cls"` takes the first token's state.
        normalize: whether to L2-normalise the pooled vector (so a dot product
            is the cosine similarity).

    Call arguments:
        sequence: float tensor `(batch, seq_len, dim)`.
        padding_mask: bool or int tensor `(batch, seq_len)`, true for tokens.

    Returns:
        float32 tensor `(batch, dim)`.
    """

    def __init__(self, mode="mean", normalize=True, **kwargs):
        super().__init__(**kwargs)
        if mode not in POOLING_MODES:
            raise ValueError(f"Expected pooling in {POOLING_MODES}. Received: pooling={mode!r}")
        self.mode = mode
        self.normalize = normalize

    def call(self, sequence, padding_mask):
        if self.mode == "cls":
            pooled = sequence[:, 0, :]
        else:
            mask = keras.ops.cast(padding_mask, sequence.dtype)[..., None]
            total = keras.ops.sum(sequence * mask, axis=1)
            count = keras.ops.maximum(keras.ops.sum(mask, axis=1), 1.0)
            pooled = total / count
        pooled = keras.ops.cast(pooled, "float32")
        if self.normalize:
            pooled = pooled / keras.ops.maximum(
                keras.ops.norm(pooled, axis=-1, keepdims=True), 1e-12)
        return pooled

    def compute_output_shape(self, sequence_shape, padding_mask_shape=None):
        return (sequence_shape[0], sequence_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode, normalize=self.normalize)
        return config


def _sentence_transformers_options(spec):
    """(pooling, normalize) from a local sentence-transformers folder, or None."""
    path = Path(str(spec)).expanduser()
    pooling_file = path / "1_Pooling" / "config.json"
    if not pooling_file.is_file():
        return None
    config = json.loads(pooling_file.read_text())
    pooling = "cls" if config.get("pooling_mode_cls_token") else "mean"
    normalize = False
    modules_file = path / "modules.json"
    if modules_file.is_file():
        modules = json.loads(modules_file.read_text())
        normalize = any(m.get("type", "").endswith("Normalize") for m in modules)
    return pooling, normalize


def _text_model(texts, embeddings, name, *, spec_name, sequence_length, preprocessor,
                token_encoder):
    """The strings -> embeddings `keras.Model` of every text backbone, with the
    attributes the flows read: `modality = "text"`, `image_spec = None`,
    `spec_name`, `sequence_length`, `feature_dim` (from `embeddings`),
    `preprocessor` (strings to token dicts, or None) and `token_encoder`
    (token dicts to embeddings, or None)."""
    model = keras.Model(texts, embeddings, name=name)
    model.modality = "text"
    model.image_spec = None
    model.spec_name = spec_name
    model.sequence_length = sequence_length
    model.feature_dim = int(embeddings.shape[-1])
    model.preprocessor = preprocessor
    model.token_encoder = token_encoder
    return model


def load_text_encoder(spec, *, sequence_length=128, trainable=False,
                      pooling=None, normalize=None):
    """Builds a strings-to-embeddings Keras model from a keras-hub preset.

    Args:
        spec: a keras-hub preset: local folder (keras-hub or Hugging Face
            layout), `"hf://<org>/<name>"`, `"kaggle://<owner>/<model>/..."`
            or `"keras_hub:<preset_name>"` (e.g. `"keras_hub:bert_tiny_en_uncased"`).
            The model family needs a keras-hub `TextClassifierPreprocessor`
            (BERT, RoBERTa, DistilBERT, ALBERT, DeBERTa-v3, ELECTRA, XLM-R...).
        sequence_length: int >= 8. Texts are truncated to this many tokens
            (including the start/end tokens). 128 covers AG News snippets;
            use 256-512 for news articles at a higher cost.
        trainable: whether the transformer's weights are trained (fine-tuning).
        pooling: `"mean"` (masked mean over tokens) or `"cls"`; None reads a
            sentence-transformers folder's `1_Pooling/config.json`, else mean.
        normalize: L2-normalise the embeddings; None follows a
            sentence-transformers folder's `modules.json`, else True.

    Returns:
        A functional `keras.Model` named `"backbone"` mapping a string tensor
        `(batch,)` to float32 `(batch, feature_dim)` embeddings. Attributes:
        `modality = "text"`, `spec_name`, `sequence_length`, `feature_dim`,
        `preprocessor` (strings to token dicts) and `token_encoder` (token
        dicts of any length to embeddings, used by `encode_texts`).

    Raises:
        ImportError: keras-hub is not installed (names the `[text]` extra).
        ValueError: a bad `sequence_length` or `pooling`, or a preset that is
            not a text encoder.
        BackboneUnavailableError: a remote preset that cannot be downloaded.
    """
    from tfunsup.backbones.hub_layer import BackboneUnavailableError

    if not isinstance(sequence_length, int) or sequence_length < 8:
        raise ValueError(
            f"Expected sequence_length >= 8. Received: sequence_length={sequence_length!r}")
    if pooling is not None and pooling not in POOLING_MODES:
        raise ValueError(f"Expected pooling in {POOLING_MODES}. Received: pooling={pooling!r}")
    keras_hub = require_keras_hub()
    name = str(spec)
    preset = name[len("keras_hub:"):] if name.startswith("keras_hub:") else name
    if not preset.startswith(PRESET_SCHEMES) and Path(preset).expanduser().is_dir():
        preset = str(Path(preset).expanduser())
    options = _sentence_transformers_options(preset)
    if pooling is None:
        pooling = options[0] if options else "mean"
    if normalize is None:
        normalize = options[1] if options else True
    try:
        backbone = keras_hub.models.Backbone.from_preset(preset)
        preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
            preset, sequence_length=sequence_length)
    except (OSError, ConnectionError) as error:
        raise BackboneUnavailableError(
            f"Cannot load text encoder '{name}': {str(error).splitlines()[0][:160]}. "
            "Remote presets need the network or a filled cache.") from error
    except (ValueError, KeyError) as error:
        raise ValueError(
            f"Backbone '{name}' is not a keras-hub text encoder with a "
            f"TextClassifierPreprocessor: {str(error).splitlines()[0][:200]}") from error
    backbone.trainable = trainable
    token_inputs = {
        key: keras.Input(shape=(None,), dtype=tensor.dtype, name=key)
        for key, tensor in backbone.input.items()
    }
    token_inputs["padding_mask"] = keras.Input(shape=(None,), dtype="bool", name="padding_mask")
    states = backbone({key: token_inputs[key] for key in backbone.input})
    if isinstance(states, dict):
        states = states["sequence_output"]
    pooled = MaskedPooling(pooling, normalize, name="pool")(states, token_inputs["padding_mask"])
    token_encoder = keras.Model(token_inputs, pooled, name="token_encoder")

    texts = keras.Input(shape=(), dtype="string", name="texts")
    tokens = preprocessor(texts)
    embeddings = token_encoder({key: tokens[key] for key in token_inputs})
    return _text_model(texts, embeddings, "backbone", spec_name=name,
                       sequence_length=sequence_length, preprocessor=preprocessor,
                       token_encoder=token_encoder)


def truncated_text_encoder(encoder, layer, pooling="mean"):
    """A keras-hub text encoder cut at inner layers, their token states pooled.

    The text analogue of
    `tfunsup.anomaly.feature_anomaly_detector.truncated_backbone`: the token
    states of each named layer of the transformer are pooled into one
    vector per text (`MaskedPooling`: the masked mean over the real tokens,
    or the first, `[CLS]`, token's state) and L2-normalised; several layers
    give the concatenation of their pooled vectors, so every level weighs
    the same (Rippel, Mertens & Merhof's multi-level features, ICPR 2020).

    Args:
        encoder: a model from `load_text_encoder` (it needs `preprocessor`
            and `token_encoder`).
        layer: the name of a layer of the keras-hub backbone, e.g.
            `"transformer_layer_3"` (BERT-style backbones name them
            `transformer_layer_0` ... and the embedding output
            `embeddings_layer_norm`), or a sequence of names.
        pooling: `"mean"` or `"cls"`.

    Returns:
        A functional `keras.Model` mapping strings `(batch,)` to float32
        `(batch, feature_dim)`, with the attributes of `load_text_encoder`'s
        models (`modality = "text"`, `spec_name` naming the layers and the
        pooling, `sequence_length`, `feature_dim`, `preprocessor`,
        `token_encoder`), so `encode_texts` embeds and caches with it.

    Raises:
        ValueError: `encoder` is not a keras-hub text encoder (e.g. a TF Hub
            SavedModel), a layer name it does not have (the message of
            `tfunsup.backbones.inner_layers.find_inner_model`, as for image
            backbones), an empty `layer` or a bad `pooling`.
    """
    from tfunsup.backbones.inner_layers import find_inner_model, layer_names

    layers = layer_names(layer)
    name = getattr(encoder, "spec_name", encoder.name)
    if pooling not in POOLING_MODES:
        raise ValueError(f"Expected pooling in {POOLING_MODES}. Received: pooling={pooling!r}")
    token_encoder = getattr(encoder, "token_encoder", None)
    if token_encoder is None:
        raise ValueError(f"Expected a keras-hub text encoder to take inner layers from. "
                         f"Received: layer={layer!r} with text backbone '{name}', whose "
                         "layers are not reachable (use its output: layer=None)")
    inner = find_inner_model(token_encoder, layers, received={"layer": layer}, spec_name=name)
    trunk = keras.Model(inner.input, [inner.get_layer(n).output for n in layers],
                        name="to_" + "_and_".join(layers))
    token_inputs = {key: keras.Input(shape=(None,), dtype=tensor.dtype, name=key)
                    for key, tensor in token_encoder.input.items()}
    states = trunk({key: token_inputs[key] for key in inner.input})
    states = states if isinstance(states, (list, tuple)) else [states]
    pooled = [MaskedPooling(pooling, normalize=True, name=f"pool_{n}")(
        s, token_inputs["padding_mask"]) for n, s in zip(layers, states)]
    x = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(name="levels")(pooled)
    truncated = keras.Model(token_inputs, x, name="token_encoder")
    texts = keras.Input(shape=(), dtype="string", name="texts")
    tokens = encoder.preprocessor(texts)
    return _text_model(texts, truncated({key: tokens[key] for key in token_inputs}), "backbone",
                       spec_name=f"{name},layer={'+'.join(layers)},pooling={pooling}",
                       sequence_length=encoder.sequence_length,
                       preprocessor=encoder.preprocessor, token_encoder=truncated)


def text_encoder_from_hub_layer(layer, spec_name):
    """Wraps a string-input `HubLayer` as a strings-to-embeddings model.

    Args:
        layer: a `HubLayer` whose SavedModel takes a `(batch,)` string tensor
            (TF Hub text embeddings: nnlm, Universal Sentence Encoder).
        spec_name: the handle, kept as `model.spec_name`.

    Returns:
        A functional `keras.Model` named `"backbone"` mapping strings `(batch,)`
        to float32 `(batch, feature_dim)`, with `modality = "text"`.

    Raises:
        ValueError: the SavedModel does not return `(batch, feature_dim)`.
    """
    texts = keras.Input(shape=(), dtype="string", name="texts")
    embeddings = layer(texts)
    if len(embeddings.shape) != 2:
        raise ValueError(
            f"Text backbone '{spec_name}' outputs shape {embeddings.shape}; "
            "expected (batch, feature_dim).")
    return _text_model(texts, embeddings, "backbone", spec_name=spec_name,
                       sequence_length=None, preprocessor=None, token_encoder=None)


def build_scratch_text_encoder(encoder, embedding_dim=64, seed=None):
    """A from-scratch text encoder sharing a pretrained encoder's tokenizer.

    The texts go through `encoder`'s own keras-hub preprocessor (same
    tokenizer, vocabulary and truncation), then a randomly initialised token
    embedding table, masked-mean-pooled over the real tokens: a fastText-style
    bag of token embeddings. It is the "no pretraining" baseline of
    `tfunsup.pretraining.label_efficiency` on text, trained end to end on the
    labelled texts only.

    Args:
        encoder: a model from `load_text_encoder` (it needs `preprocessor`).
        embedding_dim: int >= 1, size of the token embeddings and the output.
        seed: int or None, seeds the embedding initialiser.

    Returns:
        A functional `keras.Model` mapping a string tensor `(batch,)` to
        float32 `(batch, embedding_dim)`, with `modality = "text"`,
        `feature_dim` and `sequence_length` as `encoder`'s.

    Raises:
        ValueError: `encoder` has no keras-hub preprocessor, or a bad
            `embedding_dim`.

    Reference:
        Joulin, Grave, Bojanowski, Mikolov. Bag of Tricks for Efficient Text
        Classification. EACL 2017.
    """
    preprocessor = getattr(encoder, "preprocessor", None)
    if preprocessor is None:
        raise ValueError("Expected a keras-hub text encoder with a `preprocessor` "
                         "(load_text_encoder). "
                         f"Received: encoder={getattr(encoder, 'name', encoder)!r}")
    if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) or embedding_dim < 1:
        raise ValueError(f"Expected embedding_dim >= 1. Received: embedding_dim={embedding_dim!r}")
    texts = keras.Input(shape=(), dtype="string", name="texts")
    tokens = preprocessor(texts)
    embedded = keras.layers.Embedding(
        preprocessor.tokenizer.vocabulary_size(), embedding_dim,
        embeddings_initializer=keras.initializers.RandomNormal(stddev=0.1, seed=seed),
        name="token_embedding")(tokens["token_ids"])
    pooled = MaskedPooling("mean", normalize=False, name="pool")(embedded, tokens["padding_mask"])
    return _text_model(texts, pooled, "scratch_text_encoder",
                       spec_name=f"scratch,{embedding_dim}",
                       sequence_length=getattr(encoder, "sequence_length", None),
                       preprocessor=preprocessor, token_encoder=None)


def reinitialized_text_encoder(encoder, seed=None):
    """A keras-hub text encoder's own architecture with fresh random weights.

    The transformer and pooling of `encoder` are rebuilt from their
    configuration (`keras.models.clone_model`), so every weight comes from
    the architecture's own initialisers (BERT's truncated normal, std 0.02)
    instead of the pretrained checkpoint; the tokenizer and packer are
    `encoder`'s. It is "the same classifier trained from scratch" of the
    pretraining literature (Erhan et al. 2010), the reference of
    `tfunsup.pretraining.label_efficiency`'s `"scratch (same architecture)"`
    row. `encoder` is not modified.

    Args:
        encoder: a model from `load_text_encoder` (it needs `preprocessor`
            and `token_encoder`).
        seed: int or None; sets Keras' global random seed before the weights
            are drawn (`keras.utils.set_random_seed`), so one seed gives one
            initialisation.

    Returns:
        A functional `keras.Model` from a string tensor `(batch,)` to float32
        `(batch, feature_dim)`, trainable, with the attributes of
        `load_text_encoder`'s models.

    Raises:
        ValueError: `encoder` is not a keras-hub text encoder.
    """
    token_encoder = getattr(encoder, "token_encoder", None)
    if token_encoder is None or getattr(encoder, "preprocessor", None) is None:
        raise ValueError("Expected a keras-hub text encoder (load_text_encoder) to rebuild. "
                         f"Received: encoder={getattr(encoder, 'name', encoder)!r}")
    from tfunsup.transfer.target_model import set_trainable

    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    fresh = keras.models.clone_model(token_encoder)
    set_trainable(fresh, True)  # the clone keeps a frozen encoder's trainable=False
    texts = keras.Input(shape=(), dtype="string", name="texts")
    tokens = encoder.preprocessor(texts)
    return _text_model(texts, fresh({key: tokens[key] for key in fresh.input}),
                       "reinitialized_text_encoder",
                       spec_name=f"{getattr(encoder, 'spec_name', encoder.name)},random_weights",
                       sequence_length=encoder.sequence_length,
                       preprocessor=encoder.preprocessor, token_encoder=fresh)


def encode_texts(encoder, texts, *, batch_size=32, cache_dir=None, verbose=False):
    """Embeds texts with a text encoder, optionally cached on disk.

    With a keras-hub encoder, texts are tokenised once, sorted by length and
    each batch is padded only to its longest text (at most the encoder's
    `sequence_length`): masked pooling makes this exact while skipping most
    padding work. Rows come back in the input order.

    Args:
        encoder: a model from `load_text_encoder` or a string-input
            `load_backbone` model.
        texts: sequence of `str`, length n.
        batch_size: int >= 1.
        cache_dir: folder for an `.npz` cache keyed by the encoder spec,
            sequence length and the texts' hash; a second call with the same
            inputs reads it instead of embedding again. None disables it.
        verbose: print progress.

    Returns:
        float32 array `(n, feature_dim)`.

    Raises:
        ValueError: empty `texts` or a bad `batch_size`.
    """
    texts = [str(t) for t in texts]
    if not texts:
        raise ValueError("Expected at least one text. Received: texts=[]")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Expected batch_size >= 1. Received: batch_size={batch_size!r}")
    cache_file = None
    if cache_dir is not None:
        digest = hashlib.sha256()
        digest.update(f"{getattr(encoder, 'spec_name', encoder.name)}|"
                      f"{getattr(encoder, 'sequence_length', None)}|".encode())
        for text in texts:
            digest.update(text.encode("utf-8", "replace") + b"\0")
        cache_file = Path(cache_dir) / f"text-embeddings-{digest.hexdigest()[:20]}.npz"
        if cache_file.is_file():
            with np.load(cache_file) as cached:
                return cached["embeddings"]
    token_encoder = getattr(encoder, "token_encoder", None)
    if token_encoder is None:
        embeddings = np.concatenate([
            keras.ops.convert_to_numpy(encoder(np.asarray(texts[i:i + batch_size], dtype=object)))
            for i in range(0, len(texts), batch_size)])
    else:
        embeddings = _encode_bucketed(encoder, texts, batch_size, verbose)
    embeddings = embeddings.astype("float32")
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".partial.npz")
        np.savez(partial, embeddings=embeddings)
        partial.replace(cache_file)
    return embeddings


def tokenize_texts(encoder, texts):
    """Tokenises texts once for batches packed by `pack_token_rows`.

    Args:
        encoder: a keras-hub text encoder (`load_text_encoder`).
        texts: sequence of `str` `(n,)`.

    Returns:
        `(token_ids, lengths)`: a `tf.RaggedTensor` of token ids `(n, None)`
        (no special tokens) and int `(n,)` NumPy lengths.
    """
    import tensorflow as tf

    # Inside tf.data the tokenizer keeps tf.RaggedTensor outputs (eagerly it
    # returns Python lists).
    pieces = tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object).astype(str)) \
        .batch(512).map(encoder.preprocessor.tokenizer)
    token_ids = tf.concat(list(pieces), axis=0)
    return token_ids, token_ids.row_lengths().numpy()


def pack_token_rows(encoder, token_ids, lengths, rows):
    """The token encoder's inputs for some texts, padded only to the longest.

    Args:
        encoder: the keras-hub text encoder of `tokenize_texts`.
        token_ids, lengths: from `tokenize_texts`.
        rows: int array `(b,)`, the texts of the batch.

    Returns:
        dict of the `encoder.token_encoder` inputs, each `(b, length)` with
        length = the longest text + 2 special tokens, at most
        `encoder.sequence_length`.
    """
    import tensorflow as tf

    preprocessor = encoder.preprocessor
    length = int(min(encoder.sequence_length, lengths[rows].max() + 2))
    ids, segments = preprocessor.packer((tf.gather(token_ids, rows),), sequence_length=length)
    inputs = {"token_ids": ids, "segment_ids": segments,
              "padding_mask": ids != preprocessor.tokenizer.pad_token_id}
    return {key: inputs[key] for key in encoder.token_encoder.input}


def _encode_bucketed(encoder, texts, batch_size, verbose):
    token_ids, lengths = tokenize_texts(encoder, texts)
    order = np.argsort(-lengths, kind="stable")
    out = np.zeros((len(texts), encoder.feature_dim), dtype="float32")
    for done, start in enumerate(range(0, len(texts), batch_size)):
        rows = order[start:start + batch_size]
        inputs = pack_token_rows(encoder, token_ids, lengths, rows)
        out[rows] = keras.ops.convert_to_numpy(encoder.token_encoder(inputs, training=False))
        if verbose and done % 20 == 0:
            length = inputs["token_ids"].shape[1]
            print(f"encode_texts: {start + len(rows)}/{len(texts)} (length {length})", flush=True)
    return out


__all__ = ["MaskedPooling", "build_scratch_text_encoder", "encode_texts", "is_text_preset",
           "load_text_encoder", "pack_token_rows", "reinitialized_text_encoder",
           "require_keras_hub", "text_encoder_from_hub_layer", "tokenize_texts",
           "truncated_text_encoder"]
