"""SetFit pairs and fine-tuning, and self-training, on data and a tiny BERT
preset the tests build (not the real MiniLM)."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tfunsup.pretraining import self_training, setfit_pairs


def test_setfit_pairs_one_positive_and_one_negative_per_item_and_round():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    pairs, targets = setfit_pairs(labels, n_iterations=3, seed=0)
    assert pairs.shape == (2 * 3 * 8, 2) and targets.shape == (48,)
    same = labels[pairs[:, 0]] == labels[pairs[:, 1]]
    np.testing.assert_array_equal(targets, same.astype(np.float32))
    assert targets.sum() == 24 and np.all(pairs[:, 0] != pairs[:, 1])
    assert np.array_equal(np.bincount(pairs[:, 0]), np.full(8, 6))  # each item anchors 6
    again, _ = setfit_pairs(labels, n_iterations=3, seed=0)
    np.testing.assert_array_equal(pairs, again)


@pytest.mark.parametrize("labels,kwargs,match", [
    ([0, 0, 0], {}, "at least two classes"),
    ([0, 0, 1], {}, "at least two classes"),  # class 1 has a single item
    ([0, 0, 1, 1], dict(n_iterations=0), "n_iterations"),
    ([[0, 1]], {}, "shape"),
])
def test_setfit_pairs_rejects_bad_input(labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        setfit_pairs(labels, **kwargs)


def _blobs(n, seed):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    return rng.normal(size=(n, 2)) + 3.0 * labels[:, None], labels


def _logistic(x, y):
    return LogisticRegression().fit(x, y)


def test_self_training_pseudo_labels_confident_unlabelled_items():
    x, y = _blobs(400, seed=0)
    labelled = np.array([0, 1, 2, 3])
    unlabelled = np.arange(4, 400)
    result = self_training(_logistic, x[labelled], y[labelled], x[unlabelled], threshold=0.9,
                           n_rounds=3)
    pseudo = result["pseudo_labels"]
    chosen = pseudo >= 0
    assert 0 < result["n_pseudo_labels"][-1] == chosen.sum() < len(unlabelled)
    assert np.mean(pseudo[chosen] == y[unlabelled][chosen]) > 0.97
    probabilities = result["model"].predict_proba(x[unlabelled])
    assert probabilities.shape == (len(unlabelled), 2)
    # No rounds: the classifier of the labelled items alone, nothing pseudo-labelled.
    plain = self_training(_logistic, x[labelled], y[labelled], x[unlabelled], n_rounds=0)
    assert plain["n_pseudo_labels"] == [] and np.all(plain["pseudo_labels"] == -1)
    np.testing.assert_allclose(plain["model"].coef_, _logistic(x[labelled], y[labelled]).coef_)


@pytest.mark.parametrize("kwargs,match", [
    (dict(threshold=0.0), "threshold"), (dict(threshold=1.5), "threshold"),
    (dict(n_rounds=-1), "n_rounds"),
])
def test_self_training_rejects_bad_parameters(kwargs, match):
    x, y = _blobs(10, seed=0)
    with pytest.raises(ValueError, match=match):
        self_training(_logistic, x[:4], y[:4], x[4:], **kwargs)
    with pytest.raises(ValueError, match="labels of shape"):
        self_training(_logistic, x[:4], y[:3], x[4:])
    with pytest.raises(ValueError, match="unlabelled"):
        self_training(_logistic, x[:4], y[:4], x[:0])


keras_hub = pytest.importorskip("keras_hub")
import keras  # noqa: E402

from tfunsup.backbones.text_encoder import encode_texts, load_text_encoder  # noqa: E402
from tfunsup.pretraining import label_efficiency, setfit_text_encoder  # noqa: E402


@pytest.fixture
def encoder(tiny_text_preset):
    keras.utils.set_random_seed(0)  # the dropout layers' seeds
    return load_text_encoder(tiny_text_preset, sequence_length=16)


def _class_gap(embeddings, labels):
    """Mean cosine within classes minus across classes."""
    e = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    cosine = e @ e.T
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    return cosine[same & off_diagonal].mean() - cosine[~same].mean()


def test_setfit_text_encoder_pulls_classes_apart_in_place(encoder, sentiment_texts):
    texts, labels = sentiment_texts(24, seed=0)
    before = encode_texts(encoder, texts)
    name = encoder.spec_name
    result = setfit_text_encoder(encoder, texts, labels, n_iterations=4, batch_size=8,
                                 learning_rate=1e-2, seed=0)
    assert result["encoder"] is encoder and result["n_pairs"] == 2 * 4 * 24
    assert np.isfinite(result["loss"])
    assert not encoder.trainable_weights  # trainability restored
    assert encoder.spec_name.startswith(name + ",setfit(n=24,") and "seed=0" in encoder.spec_name
    after = encode_texts(encoder, texts)
    assert _class_gap(after, labels) > _class_gap(before, labels) + 0.1


def test_setfit_text_encoder_rejects_bad_input(encoder, sentiment_texts):
    texts, labels = sentiment_texts(8, seed=0)
    with pytest.raises(ValueError, match="labels of shape"):
        setfit_text_encoder(encoder, texts, labels[:4])
    with pytest.raises(ValueError, match="batch_size"):
        setfit_text_encoder(encoder, texts, labels, batch_size=0)
    with pytest.raises(ValueError, match="learning_rate"):
        setfit_text_encoder(encoder, texts, labels, learning_rate=0)

    images = keras.Input(shape=(4,))
    with pytest.raises(ValueError, match="keras-hub text encoder"):
        setfit_text_encoder(keras.Model(images, images), texts, labels)


def test_label_efficiency_setfit_and_self_training_rows(encoder, tmp_path, sentiment_texts):
    train_texts, train_labels = sentiment_texts(100, seed=0)
    test_texts, test_labels = sentiment_texts(40, seed=1)
    before = [w.copy() for w in encoder.get_weights()]
    name = encoder.spec_name
    result = label_efficiency(encoder, train_texts, train_labels, test_texts, test_labels,
                              fractions=(0.2,), seeds=(0,), head_steps=20, fine_tune_steps=0,
                              head_learning_rate=0.05, scratch_learning_rate=0.05,
                              batch_size=16, setfit_iterations=1, self_training_threshold=0.6,
                              cache_dir=tmp_path)
    assert [r["method"] for r in result["label_efficiency"]] == [
        "pretrained", "pretrained + self-training", "SetFit", "SetFit + self-training",
        "scratch", "scratch + self-training"]
    assert all(r["n_labels"] == 20 for r in result["runs"])
    for run, predicted in zip(result["runs"], result["predictions"]):
        assert run["acc"] == pytest.approx(np.mean(predicted == test_labels))
    for old, new in zip(before, encoder.get_weights()):  # restored after SetFit
        np.testing.assert_array_equal(old, new)
    assert encoder.spec_name == name and not encoder.trainable_weights
    with pytest.raises(ValueError, match="self_training_threshold"):
        label_efficiency(encoder, train_texts, train_labels, test_texts, test_labels,
                         self_training_threshold=0.0)
    with pytest.raises(ValueError, match="setfit_iterations"):
        label_efficiency(encoder, train_texts, train_labels, test_texts, test_labels,
                         setfit_iterations=-1)


def test_setfit_text_encoder_repeats_with_its_seed_whatever_ran_before(encoder, sentiment_texts):
    """The same seed from the same weights gives the same encoder, also after
    another run moved the dropout streams on (label_efficiency tunes one
    encoder once per seed and subset)."""
    texts, labels = sentiment_texts(16, seed=0)
    start = encoder.get_weights()

    def tuned(seed):
        encoder.set_weights(start)
        setfit_text_encoder(encoder, texts, labels, n_iterations=2, batch_size=8,
                            learning_rate=1e-2, seed=seed)
        return encoder.get_weights()

    first, other, again = tuned(5), tuned(6), tuned(5)
    for a, b in zip(first, again):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert max(np.abs(a - b).max() for a, b in zip(first, other)) > 1e-3
