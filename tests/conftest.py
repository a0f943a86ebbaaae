"""Shared fixtures. Two logical CPU devices are configured before TensorFlow
starts so that tests can run under a two-replica MirroredStrategy."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)


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
