"""Fixtures of the text tests: a tiny BERT preset and toy sentiment texts."""

import numpy as np
import pytest

POSITIVE = "good great fun superb".split()
NEGATIVE = "bad awful boring dull".split()
FILLER = "the movie film plot a".split()


@pytest.fixture(scope="session")
def tiny_text_preset(tmp_path_factory):
    """A keras-hub preset folder of a 1-layer, 8-d BERT (random weights,
    dropout 0.1) whose 18-word vocabulary covers `sentiment_texts`."""
    keras_hub = pytest.importorskip("keras_hub")
    import keras

    # The random weights would otherwise follow whatever ran before in this
    # process (pytest-xdist decides that), and with them the tests' margins.
    keras.utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("tiny_bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *POSITIVE, *NEGATIVE, *FILLER]
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocab, lowercase=True)
    keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=16) \
        .save_to_preset(str(folder))
    keras_hub.models.BertBackbone(
        vocabulary_size=len(vocab), num_layers=1, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=16, dropout=0.1).save_to_preset(str(folder))
    return folder


@pytest.fixture(scope="session")
def sentiment_texts():
    """`sentiment_texts(n, seed)`: `(texts, labels)`, texts of three filler
    words plus one sentiment word; label 1 = negative, alternating."""

    def make(n, seed):
        rng = np.random.default_rng(seed)
        labels = np.arange(n) % 2
        texts = [" ".join([*rng.choice(FILLER, 3), rng.choice(NEGATIVE if y else POSITIVE)])
                 for y in labels]
        return np.asarray(texts, dtype=object), labels

    return make
