import json

import numpy as np
import pytest
import tensorflow as tf

from tfunsup.cli import main
from tfunsup.data import ImageSpec, load_dataset
from tfunsup.source import MNIST_IMAGE_SPEC, ensure_source_classifier


def test_feature_vector_saved_model_has_the_tf_hub_interface(source_model_path):
    module = tf.saved_model.load(str(source_model_path))
    images = load_dataset("mnist-5k").images[:8]
    inference = module(images, training=False).numpy()
    assert inference.shape == (8, 128)
    np.testing.assert_allclose(module(images, False).numpy(), inference)
    assert len(module.trainable_variables) == 6  # 2 conv + dense, kernels and biases
    assert ImageSpec.load(source_model_path) == MNIST_IMAGE_SPEC


def test_source_classifier_learned_mnist(saved_models_dir):
    data = load_dataset("mnist-5k")
    classifier = tf.saved_model.load(str(ensure_source_classifier(
        saved_models_dir / "mnist5k_source")))
    accuracy = np.mean(classifier.serve(data.images).numpy().argmax(1) == data.labels)
    assert accuracy > 0.95


def test_source_command_refuses_to_replace_a_model(source_model_path, capsys):
    before = (source_model_path / "saved_model.pb").read_bytes()
    assert main(["source", "--out", str(source_model_path)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (source_model_path / "saved_model.pb").read_bytes() == before


@pytest.mark.large
def test_source_command_trains_and_exports(tmp_path):
    out = tmp_path / "src"
    assert main(["source", "--out", str(out), "--epochs", "1", "--quiet"]) == 0
    record = json.loads((out / "training.json").read_text())
    assert record["epochs"] == 1 and record["train_accuracy"] > 0.8
    assert (out / "saved_model.pb").is_file()
