import numpy as np
import pytest
import tensorflow as tf
from sklearn.exceptions import NotFittedError

from tfunsup.anomaly import (
    ReconstructionAnomalyDetector,
    anomaly_metrics,
    one_class_evaluation,
    one_class_split,
)
from tfunsup.data import load_dataset


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def fitted(digits):
    zeros = digits.images[digits.labels == 0]
    return ReconstructionAnomalyDetector("dense", 4, hidden_units=(32,), epochs=30,
                                         batch_size=32, contamination=0.1,
                                         seed=0).fit(zeros[:150])


def test_scores_threshold_and_predict(fitted, digits):
    scores = fitted.score_samples(digits.images)
    assert scores.shape == (len(digits),)
    # The threshold is the (1 - contamination) quantile of the training scores.
    assert fitted.threshold_ == pytest.approx(np.quantile(fitted.train_scores_, 0.9))
    assert np.mean(fitted.train_scores_ > fitted.threshold_) == pytest.approx(0.1, abs=0.01)
    flags = fitted.predict(digits.images)
    assert set(np.unique(flags)) <= {0, 1}
    np.testing.assert_array_equal(flags, (scores > fitted.threshold_).astype(int))
    # Even a tiny autoencoder separates unseen zeros from other digits.
    held_out = np.arange(len(digits)) >= 0
    held_out[np.flatnonzero(digits.labels == 0)[:150]] = False
    auc = anomaly_metrics(digits.labels[held_out] != 0, scores[held_out])["roc_auc"]
    assert auc > 0.9


def test_threshold_from_a_quantile(digits):
    detector = ReconstructionAnomalyDetector("dense", 2, hidden_units=(8,), epochs=1,
                                             threshold_quantile=0.75, seed=0)
    detector.fit(digits.images[:64])
    assert detector.threshold_ == pytest.approx(np.quantile(detector.train_scores_, 0.75))


@pytest.mark.parametrize("contamination", [0.0, -0.1, 0.51, 1.0, "0.1", None])
def test_contamination_outside_range_fails_before_training(contamination):
    detector = ReconstructionAnomalyDetector(contamination=contamination)
    with pytest.raises(ValueError, match="contamination"):
        detector.fit(np.zeros((8, 8, 8, 1), np.float32))
    assert not hasattr(detector, "autoencoder_")


@pytest.mark.parametrize("images,match", [
    (np.full((4, 8, 8, 1), np.nan, np.float32), "NaN"),
    (np.zeros((0, 8, 8, 1), np.float32), "at least one image"),
])
def test_bad_fit_data(images, match):
    with pytest.raises(ValueError, match=match):
        ReconstructionAnomalyDetector(epochs=1).fit(images)


def test_score_shape_must_match_fit(fitted):
    with pytest.raises(ValueError, match=r"as in fit"):
        fitted.score_samples(np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(NotFittedError, match="not fitted"):
        ReconstructionAnomalyDetector().predict(np.zeros((2, 8, 8, 1), np.float32))


def test_export_serves_scores(fitted, digits, tmp_path):
    path = fitted.export(tmp_path / "detector")
    reloaded = tf.saved_model.load(str(path))
    outputs = reloaded.serve(tf.constant(digits.images[:40]))
    np.testing.assert_allclose(outputs["scores"].numpy(),
                               fitted.score_samples(digits.images[:40]), rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(outputs["is_anomaly"].numpy(),
                                  fitted.predict(digits.images[:40]))
    signature = reloaded.signatures["serving_default"]
    assert "scores" in signature(images=tf.constant(digits.images[:2]))


def test_anomaly_metrics_known_values():
    result = anomaly_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert result["roc_auc"] == pytest.approx(0.75)
    assert result["average_precision"] == pytest.approx((1.0 + 2 / 3) / 2)
    with pytest.raises(ValueError, match="both"):
        anomaly_metrics([1, 1], [0.1, 0.2])


def test_one_class_split_all_anomalies():
    labels = np.repeat(np.arange(3), 10)
    train, test = one_class_split(labels, 1, 0.8, seed=0, anomalies="all")
    assert set(labels[train]) == {1} and len(train) == 8
    assert np.bincount(labels[test]).tolist() == [10, 2, 10]
    assert not set(train) & set(test)
    with pytest.raises(ValueError, match="anomalies"):
        one_class_split(labels, 1, anomalies="some")


def test_one_class_split_is_disjoint_and_shares_the_test_set():
    labels = np.repeat(np.arange(3), 10)
    train0, test0 = one_class_split(labels, 0, 0.8, seed=0)
    train2, test2 = one_class_split(labels, 2, 0.8, seed=0)
    np.testing.assert_array_equal(test0, test2)
    assert set(labels[train0]) == {0} and len(train0) == 8
    assert not set(train0) & set(test0) and not set(train2) & set(test2)
    assert np.bincount(labels[test0]).tolist() == [2, 2, 2]


def test_one_class_evaluation_uses_labels_only_to_split_and_score(digits):
    def make(_):
        return ReconstructionAnomalyDetector("dense", 2, hidden_units=(8,), epochs=2,
                                             seed=0)

    result = one_class_evaluation(make, digits.images, digits.labels, classes=[0, 1])
    assert set(result["auc_per_class"]) == {0, 1}
    assert result["mean_auc"] == pytest.approx(np.mean(list(result["auc_per_class"].values())))
    assert len(result["scores"][0]) == len(result["test_index"])
