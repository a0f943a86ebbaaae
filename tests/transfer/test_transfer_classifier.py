import numpy as np
import pytest
import tensorflow as tf

from tfunsup.data import load_dataset
from tfunsup.transfer import TransferClassifier, build_target_model, unfreeze_top


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def few_labels(digits):
    rng = np.random.default_rng(0)
    index = np.concatenate([rng.choice(np.flatnonzero(digits.labels == c), 10, replace=False)
                            for c in range(10)])
    test = np.setdiff1d(np.arange(len(digits)), index)
    return index, test


def test_savedmodel_source_transfers_to_digits(source_model_path, digits, few_labels,
                                               tmp_path):
    """MNIST-5k source SavedModel -> 8x8 digits (framed to 28x28 inside the
    model), 10 labels per class: head, then fine-tuning the whole backbone."""
    index, test = few_labels
    classifier = TransferClassifier(str(source_model_path), head_epochs=30,
                                    head_learning_rate=3e-3, fine_tune_epochs=2,
                                    batch_size=32, seed=0)
    classifier.fit(digits.images[index], digits.labels[index])
    assert classifier.score(digits.images[test], digits.labels[test]) > 0.7
    assert len(classifier.history_["fine_tune"]["loss"]) == 2
    assert classifier.shared_.trainable_weights  # unfrozen for fine-tuning
    path = classifier.export(tmp_path / "target")
    reloaded = tf.saved_model.load(str(path))
    np.testing.assert_allclose(reloaded.serve(tf.constant(digits.images[:50])).numpy(),
                               classifier.predict_proba(digits.images[:50]), atol=1e-5)


def test_savedmodel_backbone_is_shared_whole(source_model_path):
    with pytest.raises(ValueError, match="shared_layers"):
        build_target_model(str(source_model_path), 10, shared_layers=2)
    _, shared = build_target_model(str(source_model_path), 10)
    with pytest.raises(ValueError, match="fine_tune_layers"):
        unfreeze_top(shared, 1)
    with pytest.raises(ValueError, match="scratch"):
        TransferClassifier(str(source_model_path), scratch=True).fit(
            np.zeros((4, 8, 8, 1), np.float32), np.array([0, 1, 0, 1]))


def test_bad_labels_and_unfitted(digits):
    from tfunsup.autoencoders import build_conv_encoder

    encoder = build_conv_encoder((8, 8, 1), 4, filters=(4,))
    with pytest.raises(ValueError, match="at least 2 classes"):
        TransferClassifier(encoder).fit(digits.images[:5], np.zeros(5, int))
    with pytest.raises(ValueError, match="shape"):
        TransferClassifier(encoder).fit(digits.images[:5], np.zeros(4, int))
    with pytest.raises(ValueError, match="not fitted"):
        TransferClassifier(encoder).predict(digits.images[:5])


def test_fits_under_two_replicas(digits, two_cpu_strategy):
    from tfunsup.autoencoders import build_conv_encoder

    encoder = build_conv_encoder((8, 8, 1), 4, filters=(4,))
    classifier = TransferClassifier(encoder, head_epochs=1, fine_tune_epochs=1,
                                    strategy=two_cpu_strategy, jit_compile=True, seed=0)
    classifier.fit(digits.images[:128], digits.labels[:128])
    assert classifier.model_.jit_compile is False  # XLA fails under MirroredStrategy on CPU
    assert classifier.predict(digits.images[:5]).shape == (5,)
