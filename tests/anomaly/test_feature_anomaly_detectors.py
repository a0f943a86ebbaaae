import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.covariance import LedoitWolf
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from tfunsup.anomaly import GaussianAnomalyDetector, KNNAnomalyDetector
from tfunsup.anomaly.feature_anomaly_detector import l2_normalize


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(0)
    normal = rng.normal(size=(60, 12)) + 3.0
    queries = np.concatenate([rng.normal(size=(20, 12)) + 3.0, rng.normal(size=(20, 12))])
    return normal.astype(np.float32), queries.astype(np.float32)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_knn_scores_match_brute_force(features, k):
    normal, queries = features
    detector = KNNAnomalyDetector(n_neighbors=k, contamination=0.1).fit_features(normal)
    bank, q = _unit(normal.astype(np.float64)), _unit(queries.astype(np.float64))
    distances = np.linalg.norm(q[:, None, :] - bank[None, :, :], axis=-1)
    expected = np.sort(distances, axis=1)[:, :k].mean(axis=1)
    np.testing.assert_allclose(detector.score_features(queries), expected, rtol=1e-5, atol=1e-6)
    # Training scores leave each image out of its own neighbours.
    within = np.linalg.norm(bank[:, None, :] - bank[None, :, :], axis=-1)
    np.fill_diagonal(within, np.inf)
    np.testing.assert_allclose(detector.train_scores_,
                               np.sort(within, axis=1)[:, :k].mean(axis=1), rtol=1e-5, atol=1e-6)


def test_gaussian_scores_match_mahalanobis(features):
    normal, queries = features
    detector = GaussianAnomalyDetector(contamination=0.1).fit_features(normal)
    unit = _unit(normal.astype(np.float64))
    mean = unit.mean(axis=0)
    precision = np.linalg.inv(LedoitWolf(assume_centered=True).fit(unit - mean).covariance_)
    z = _unit(queries.astype(np.float64)) - mean
    expected = np.sqrt(np.einsum("ij,jk,ik->i", z, precision, z))
    np.testing.assert_allclose(detector.score_features(queries), expected, rtol=1e-4)


@pytest.mark.parametrize("make", [lambda: KNNAnomalyDetector(contamination=0.1),
                                  lambda: GaussianAnomalyDetector(contamination=0.1)])
def test_threshold_predict_and_separation(features, make):
    normal, queries = features
    detector = make().fit_features(normal)
    assert detector.threshold_ == pytest.approx(np.quantile(detector.train_scores_, 0.9))
    scores = detector.score_features(queries)
    np.testing.assert_array_equal(detector.predict_features(queries),
                                  (scores > detector.threshold_).astype(int))
    # The shifted cloud (last 20) scores above the normal one (first 20).
    assert scores[20:].min() > scores[:20].max()
    assert detector.predict_features(queries)[20:].all()


@pytest.mark.parametrize("cls", [KNNAnomalyDetector, GaussianAnomalyDetector])
def test_not_fitted(cls):
    detector = cls()
    with pytest.raises(NotFittedError):
        detector.score_features(np.zeros((2, 4), np.float32))
    with pytest.raises(NotFittedError):
        detector.predict(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(NotFittedError):
        detector.build_scoring_model()


@pytest.mark.parametrize("detector,match", [
    (KNNAnomalyDetector(n_neighbors=0), "n_neighbors"),
    (KNNAnomalyDetector(contamination=0.7), "contamination"),
    (KNNAnomalyDetector(batch_size=0), "batch_size"),
    (GaussianAnomalyDetector(n_splits=1), "n_splits"),
])
def test_bad_parameters(detector, match, features):
    with pytest.raises(ValueError, match=match):
        detector.fit_features(features[0])


def test_bad_features(features):
    normal, _ = features
    with pytest.raises(ValueError, match="NaN"):
        KNNAnomalyDetector().fit_features(np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="more than n_neighbors"):
        KNNAnomalyDetector(n_neighbors=5).fit_features(normal[:5])
    detector = KNNAnomalyDetector().fit_features(normal)
    with pytest.raises(ValueError, match="12 features"):
        detector.score_features(np.zeros((2, 7), np.float32))
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        detector.score_samples(np.full((2, 8, 8, 3), 255.0, np.float32))


def _tiny_backbone():
    keras.utils.set_random_seed(0)
    images = keras.Input(shape=(16, 16, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv_a")(images)
    x = keras.layers.Conv2D(16, 3, activation="relu", name="conv_b")(x)
    return keras.Model(images, keras.layers.GlobalAveragePooling2D()(x))


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(1)
    normal = np.clip(rng.normal(0.3, 0.05, (40, 16, 16, 3)), 0, 1).astype(np.float32)
    odd = np.clip(rng.uniform(0, 1, (10, 16, 16, 3)), 0, 1).astype(np.float32)
    return normal, np.concatenate([normal[:10], odd])


@pytest.mark.parametrize("cls", [KNNAnomalyDetector, GaussianAnomalyDetector])
def test_images_flow_and_export_reload_gives_the_same_scores(cls, blobs, tmp_path):
    normal, mixed = blobs
    detector = cls(_tiny_backbone(), flip_average=True, contamination=0.1).fit(normal[10:])
    scores = detector.score_samples(mixed)
    assert scores[10:].mean() > scores[:10].mean()
    path = detector.export(tmp_path / "detector")
    with pytest.raises(FileExistsError):
        detector.export(tmp_path / "detector")
    reloaded = tf.saved_model.load(str(path))
    outputs = reloaded.serve(tf.constant(mixed))
    np.testing.assert_allclose(outputs["scores"].numpy(), scores, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(outputs["is_anomaly"].numpy(), detector.predict(mixed))
    assert "scores" in reloaded.signatures["serving_default"](images=tf.constant(mixed[:2]))


def test_inner_layer_features(blobs):
    normal, mixed = blobs
    detector = KNNAnomalyDetector(_tiny_backbone(), layer="conv_a").fit(normal)
    assert detector.n_features_in_ == 8
    assert detector.score_samples(mixed).shape == (20,)
    with pytest.raises(ValueError, match="Expected layer to name layers of a Keras functional "
                                         "model inside backbone .* Received: layer='nope', "
                                         "not all found"):
        KNNAnomalyDetector(_tiny_backbone(), layer="nope").fit(normal)


def test_several_layers_are_pooled_normalised_and_concatenated(blobs, tmp_path):
    normal, mixed = blobs
    backbone = _tiny_backbone()
    detector = GaussianAnomalyDetector(backbone, layer=("conv_a", "conv_b"),
                                       flip_average=False).fit(normal)
    assert detector.n_features_in_ == 8 + 16
    features = detector.extract_features(mixed)
    pooled = [keras.Model(backbone.inputs, backbone.get_layer(n).output)(mixed).numpy()
              .mean(axis=(1, 2)) for n in ("conv_a", "conv_b")]
    expected = _unit(np.concatenate([_unit(p) for p in pooled], axis=1))
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)
    path = detector.export(tmp_path / "detector")
    loaded = tf.saved_model.load(str(path))  # keep a reference while serving
    served = loaded.serve(tf.constant(mixed))["scores"].numpy()
    np.testing.assert_allclose(served, detector.score_samples(mixed), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="non-empty sequence"):
        GaussianAnomalyDetector(backbone, layer=()).fit(normal)


def test_l2_normalize():
    np.testing.assert_allclose(np.linalg.norm(l2_normalize(np.ones((3, 4))), axis=1), 1.0)


# -- texts -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def topic_split(topic_texts):
    """14 "money" texts to fit on; 6 held-out money texts then 6 sport texts."""
    texts, labels = topic_texts(n_per_topic=20, n_words=8)
    texts = np.asarray(texts, dtype=object)
    money, sport = list(texts[labels == 0]), list(texts[labels == 1])
    return money[:14], money[14:] + sport[:6]


@pytest.mark.parametrize("cls", [KNNAnomalyDetector, GaussianAnomalyDetector])
def test_texts_flow_and_export_reload_gives_the_same_scores(cls, string_saved_model,
                                                            topic_split, tmp_path):
    normal, queries = topic_split
    detector = cls(str(string_saved_model), contamination=0.1).fit(normal)
    assert detector.modality == "text" and detector.image_spec is None
    scores = detector.score_samples(queries)
    assert roc_auc_score([0] * 6 + [1] * 6, scores) >= 0.9
    np.testing.assert_array_equal(detector.predict(queries), scores > detector.threshold_)
    path = detector.export(tmp_path / "detector")
    reloaded = tf.saved_model.load(str(path))
    outputs = reloaded.serve(tf.constant(queries))
    np.testing.assert_allclose(outputs["scores"].numpy(), scores, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(outputs["is_anomaly"].numpy(), detector.predict(queries))
    assert "scores" in reloaded.signatures["serving_default"](texts=tf.constant(queries[:2]))


def test_text_encoder_inner_layers_cls_pooling_dataset_and_export(topic_bert_preset,
                                                                   topic_split, tmp_path):
    from tfunsup.data.text import TextDataset

    normal, queries = topic_split
    layers = ("transformer_layer_0", "transformer_layer_1")
    detector = GaussianAnomalyDetector(str(topic_bert_preset), layer=layers, pooling="cls",
                                       sequence_length=16).fit(normal)
    assert detector.n_features_in_ == 2 * 8
    data = TextDataset(np.asarray(queries, dtype=object),
                       np.arange(len(queries)).astype(str).astype(object), None, "queries")
    extracted = detector.extract_dataset_features(data, cache_dir=tmp_path / "cache")
    assert list(tmp_path.joinpath("cache").glob("text-embeddings-*.npz"))
    scores = detector.score_samples(queries)
    np.testing.assert_allclose(detector.score_features(extracted.features), scores,
                               rtol=1e-3, atol=1e-4)
    reloaded = tf.saved_model.load(str(detector.export(tmp_path / "detector")))
    np.testing.assert_allclose(reloaded.serve(tf.constant(queries))["scores"].numpy(), scores,
                               rtol=1e-3, atol=1e-4)


def test_text_and_image_options_errors(string_saved_model, topic_split, blobs):
    from tfunsup.anomaly import PANDAAnomalyDetector
    from tfunsup.data.text import TextDataset

    normal, _ = topic_split
    hub = str(string_saved_model)
    with pytest.raises(ValueError, match="pooling applies to the outputs of `layer`"):
        GaussianAnomalyDetector(hub, pooling="cls").fit(normal)
    with pytest.raises(ValueError, match="image_size applies to images"):
        KNNAnomalyDetector(hub, image_size=(8, 8)).fit(normal)
    with pytest.raises(ValueError, match="keras-hub text encoder"):
        KNNAnomalyDetector(hub, layer="embed").fit(normal)
    with pytest.raises(ValueError, match=r"texts\[1\]=3"):
        KNNAnomalyDetector(hub).fit(["a text", 3, "another"])
    with pytest.raises(ValueError, match="PANDA trains the top of an image backbone"):
        PANDAAnomalyDetector(hub).fit(normal)
    with pytest.raises(ValueError, match="pooling="):
        KNNAnomalyDetector(pooling="max").fit_features(np.ones((4, 3)))
    with pytest.raises(ValueError, match="sequence_length >= 8"):
        KNNAnomalyDetector(sequence_length=4).fit_features(np.ones((4, 3)))
    images, _ = blobs
    for options in ({"sequence_length": 16}, {"pooling": "cls"}):
        with pytest.raises(ValueError, match="apply to text encoders"):
            KNNAnomalyDetector(_tiny_backbone(), **options).fit(images)
    texts = TextDataset(np.asarray(normal, dtype=object),
                        np.arange(len(normal)).astype(str).astype(object), None, "t")
    with pytest.raises(ValueError, match="an image backbone"):
        KNNAnomalyDetector(_tiny_backbone()).extract_dataset_features(texts)


def _documented_args(cls):
    """Names in the `Args:` section of `cls`'s own docstring; an entry may
    name several arguments (`a, b,\\n c: shared text`)."""
    import inspect

    block = inspect.cleandoc(cls.__doc__).split("\nArgs:\n", 1)[1].split("\n\n", 1)[0]
    names, pending = set(), ""
    for line in block.splitlines():
        if line.startswith("        ") or not line.startswith("    "):
            continue  # a description's continuation line
        text = pending + line.strip()
        pending = text + " " if text.endswith(",") else ""
        if not pending:
            names |= {name.strip() for name in text.split(":", 1)[0].split(",")}
    return names


def test_docstring_args_name_every_parameter():
    """help() of each detector names all its constructor arguments and no
    stale ones; the shared ones it refers to are documented on the base."""
    import inspect

    from tfunsup.anomaly import FeatureAnomalyDetector, PANDAAnomalyDetector

    detectors = (GaussianAnomalyDetector, KNNAnomalyDetector, PANDAAnomalyDetector)
    for cls in detectors:
        parameters = set(inspect.signature(cls.__init__).parameters) - {"self"}
        assert _documented_args(cls) == parameters, cls.__name__
    shared = set.intersection(*[set(inspect.signature(cls.__init__).parameters)
                                for cls in detectors]) - {"self", "n_neighbors", "algorithm"}
    assert shared | {"sequence_length", "pooling"} <= _documented_args(FeatureAnomalyDetector)
    assert _documented_args(type("Stale", (), {"__doc__": "X.\n\nArgs:\n    a, b: x.\n"})) == {
        "a", "b"}
