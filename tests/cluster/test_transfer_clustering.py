import numpy as np
import pytest
import tensorflow as tf

from tfunsup.cluster import TransferClustering
from tfunsup.cluster.transfer_clustering import balanced_assignment
from tfunsup.data import load_dataset


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def fitted(source_model_path, digits):
    """The default configuration on the real digits data (no labels)."""
    return TransferClustering(str(source_model_path), 10, seed=0, verbose=0).fit(digits.images)


@pytest.mark.large
def test_default_beats_raw_pixel_kmeans_by_a_wide_margin(fitted, digits):
    from sklearn.cluster import KMeans

    from tfunsup.metrics import clustering_scores

    scores = clustering_scores(digits.labels, fitted.labels_)
    baseline = clustering_scores(digits.labels, KMeans(10, n_init=10, random_state=0)
                                 .fit_predict(digits.images.reshape(len(digits), -1)))
    assert scores["acc"] >= 0.88
    assert scores["acc"] >= baseline["acc"] + 0.08
    assert scores["nmi"] > baseline["nmi"] and scores["ari"] > baseline["ari"]


@pytest.mark.large
def test_predict_score_transform_and_svm(fitted, digits):
    np.testing.assert_array_equal(fitted.predict(digits.images), fitted.labels_)
    assert fitted.score(digits.images, digits.labels)["acc"] >= 0.88
    assert fitted.score(digits.images, digits.labels, method="svm")["acc"] >= 0.8
    assert fitted.transform(digits.images[:5]).shape == (5, 128)


@pytest.mark.large
def test_labels_never_reach_fit(fitted, digits):
    """Permuting the labels changes the scores, never the assignments: fit
    has no labels argument, and scoring uses them only afterwards."""
    permuted = np.random.default_rng(1).permutation(digits.labels)
    assert fitted.score(digits.images, permuted)["acc"] < 0.2
    with pytest.raises(TypeError):
        TransferClustering("unused", 10).fit(digits.images, digits.labels)


@pytest.mark.large
def test_exported_classifier_reloads_with_same_predictions(fitted, digits, tmp_path):
    path = fitted.export(tmp_path / "classifier")
    reloaded = tf.saved_model.load(str(path))
    probabilities = reloaded.serve(digits.images[:200]).numpy()
    np.testing.assert_allclose(probabilities,
                               fitted.classifier_.predict(digits.images[:200], verbose=0),
                               atol=1e-5)
    np.testing.assert_array_equal(probabilities.argmax(1), fitted.labels_[:200])
    with pytest.raises(FileExistsError):
        fitted.export(path)


def test_same_seed_same_assignments(source_model_path, digits):
    subset = digits.images[:300]

    def run():
        return TransferClustering(str(source_model_path), 10, seed=3, head_epochs=3,
                                  verbose=0).fit(subset).labels_

    np.testing.assert_array_equal(run(), run())


def test_fit_under_two_replica_mirrored_strategy(source_model_path, digits, two_cpu_strategy):
    estimator = TransferClustering(str(source_model_path), 10, seed=0, head_epochs=2,
                                   strategy=two_cpu_strategy, verbose=0)
    estimator.fit(digits.images[:400])
    assert estimator.classifier_.distribute_strategy is two_cpu_strategy
    assert estimator.score(digits.images[:400], digits.labels[:400])["acc"] > 0.6


@pytest.mark.parametrize("kwargs, images, message", [
    ({"n_clusters": 1}, None, "n_clusters >= 2"),
    ({"n_clusters": 50}, np.zeros((20, 8, 8, 1), np.float32), "<= number of samples"),
    ({}, np.full((20, 8, 8, 1), np.nan, np.float32), "NaN or Inf"),
    ({}, np.zeros((20, 8, 8, 2), np.float32), "1 or 3 channels"),
    ({"confidence": 0.0}, None, "confidence in"),
    ({"self_labeling_rounds": 0}, None, "self_labeling_rounds >= 1"),
])
def test_bad_input_fails_before_loading_the_backbone(kwargs, images, message):
    images = np.zeros((20, 8, 8, 1), np.float32) if images is None else images
    # The backbone spec does not exist: validation must fail first.
    estimator = TransferClustering("does/not/exist", **{"n_clusters": 10, **kwargs})
    with pytest.raises(ValueError, match=message):
        estimator.fit(images)


def test_predict_before_fit():
    with pytest.raises(RuntimeError, match="not fitted"):
        TransferClustering("x").predict(np.zeros((1, 8, 8, 1)))


def test_balanced_assignment_equalises_cluster_sizes():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(100, 4))
    logits[:, 0] += 5.0  # everything prefers cluster 0
    q = balanced_assignment(logits, n_iter=200)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(q.sum(axis=0), 25.0, atol=1e-3)
    assert np.bincount(q.argmax(1), minlength=4).min() >= 15


def test_keras_model_backbone_is_not_modified(digits):
    import keras

    images = keras.Input((8, 8, 1))
    model = keras.Model(images, keras.layers.Dense(4)(keras.layers.Flatten()(images)))
    before = [w.copy() for w in model.get_weights()]
    TransferClustering(model, 3, head_epochs=2, seed=0, verbose=0).fit(digits.images[:60])
    assert all(np.array_equal(b, a) for b, a in zip(before, model.get_weights()))
