"""Shared fixtures. Two logical CPU devices are configured before TensorFlow
starts so that tests can run under a two-replica MirroredStrategy."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Under pytest-xdist each worker gets its share of the cores for its thread
# pools (TensorFlow's intra-op pool, OpenBLAS/OpenMP, numba), so that two
# workers on two cores do not run four busy threads. Set before numpy and
# TensorFlow load; inherited by the notebook kernels and CLI subprocesses.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _share = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                  "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_name, _share)


def _data_dir():
    value = os.environ.get("TFUNSUP_DATA_DIR")
    if value:
        return Path(value).expanduser()
    return (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()


def _writable_keras_home():
    """Keras reads KERAS_HOME once, at import, and writes keras.json there:
    a temporary folder whose `models/` links the shared ImageNet weight files,
    so `weights="imagenet"` loads them offline as it loads its download."""
    home = Path(tempfile.mkdtemp(prefix="tfunsup-keras-home-"))
    (home / "models").mkdir()
    shared = _data_dir() / "keras_home" / "models"
    if shared.is_dir():
        for weights in shared.iterdir():
            (home / "models" / weights.name).symlink_to(weights)
    return home


if "KERAS_HOME" not in os.environ:
    os.environ["KERAS_HOME"] = str(_writable_keras_home())

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)


@pytest.fixture(scope="session")
def shared_data():
    """`shared_data(*parts)`: a path in the offline data folder
    (`TFUNSUP_DATA_DIR`, default ../shared/data). A missing path skips the
    test on a developer's machine and fails it in CI (`CI` set)."""

    def locate(*parts):
        path = _data_dir().joinpath(*parts)
        if not path.exists():
            message = f"shared data missing: {path} (set TFUNSUP_DATA_DIR)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        return path

    return locate


@pytest.fixture(scope="session")
def saved_models_dir(tmp_path_factory):
    """A session folder holding the default MNIST-5k source models, trained
    once; `TFUNSUP_SAVED_MODELS` points at it for the library and the CLI."""
    from tfunsup.source import ensure_source_model

    folder = tmp_path_factory.mktemp("saved_models")
    os.environ["TFUNSUP_SAVED_MODELS"] = str(folder)
    ensure_source_model(folder / "mnist5k_source")
    return folder


@pytest.fixture(scope="session")
def source_model_path(saved_models_dir):
    """Path of the MNIST-5k source feature-vector SavedModel."""
    return saved_models_dir / "mnist5k_source"


@pytest.fixture(scope="session")
def two_cpu_strategy():
    """A MirroredStrategy over two logical CPU devices."""
    return tf.distribute.MirroredStrategy(
        [d.name for d in tf.config.list_logical_devices("CPU")[:2]])


TOPIC_WORDS = {
    "money": "bank market shares profit economy rates growth prices".split(),
    "sport": "goal match team cup club league player score".split(),
}


def _topic_texts(n_per_topic=15, n_words=12, seed=0):
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(words, n_words)) for words in TOPIC_WORDS.values()
             for _ in range(n_per_topic)]
    return texts, np.repeat(np.arange(len(TOPIC_WORDS)), n_per_topic)


@pytest.fixture(scope="session")
def topic_texts():
    """`topic_texts(n_per_topic=15, n_words=12, seed=0) -> (texts, labels)`:
    texts of words drawn from two disjoint topic vocabularies ("money" 0,
    "sport" 1)."""
    return _topic_texts


@pytest.fixture(scope="session")
def topic_bert_preset(tmp_path_factory):
    """A keras-hub preset folder of a 2-layer, 8-d BERT (random weights)
    whose vocabulary covers `topic_texts`' words: a fast keras-hub text
    encoder with inner layers."""
    keras_hub = pytest.importorskip("keras_hub")
    folder = tmp_path_factory.mktemp("topic_bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
             *[word for words in TOPIC_WORDS.values() for word in words]]
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocab, lowercase=True)
    keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=16) \
        .save_to_preset(str(folder))
    import keras

    keras.utils.set_random_seed(0)
    keras_hub.models.BertBackbone(
        vocabulary_size=len(vocab), num_layers=2, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=16, dropout=0.0).save_to_preset(str(folder))
    return folder


@pytest.fixture(scope="session")
def string_saved_model(tmp_path_factory):
    """A tiny nnlm-style TF Hub text embedding SavedModel (strings -> the
    mean of hashed-word vectors, 8-d), made here: a fast text backbone."""
    table = tf.Variable(tf.random.stateless_normal((64, 8), seed=(1, 2)))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def embed(texts):
        words = tf.strings.split(tf.strings.lower(texts))
        buckets = tf.strings.to_hash_bucket_fast(words, 64)
        return tf.reduce_mean(tf.gather(table, buckets), axis=1)

    module = tf.train.Checkpoint()
    module.__call__ = embed
    module.variables = [table]
    module.trainable_variables = [table]
    path = tmp_path_factory.mktemp("text_backbone") / "hashed_bag_of_words"
    tf.saved_model.save(module, str(path))
    return path


def pytest_collection_modifyitems(config, items):
    """Test files holding `large` tests are collected first (order otherwise
    kept), so that pytest-xdist's `--dist loadfile --no-loadscope-reorder`
    (the README's command) hands out the longest work first and the short
    files fill the end: with one core per worker, a long file left for last
    keeps one core idle. (Without `--no-loadscope-reorder`, xdist orders the
    files by their number of tests instead.)

    Tests marked `readme_check` re-run a README table's full-budget command
    (minutes to half an hour each): skipped unless TFUNSUP_README_CHECKS=1."""
    large = {item.path for item in items if item.get_closest_marker("large")}
    items.sort(key=lambda item: item.path not in large)
    if os.environ.get("TFUNSUP_README_CHECKS") != "1":
        skip = pytest.mark.skip(reason="re-runs a README table's full-budget command; "
                                       "set TFUNSUP_README_CHECKS=1")
        for item in items:
            if item.get_closest_marker("readme_check"):
                item.add_marker(skip)
