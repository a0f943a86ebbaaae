"""`export_atomically`: a complete SavedModel or nothing, each weight written once."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfunsup.utils.export import export_atomically


def _stored_values(path):
    """Number of float values in the SavedModel's checkpoint."""
    reader = tf.train.load_checkpoint(str(path / "variables" / "variables"))
    return sum(int(np.prod(shape)) for key, shape in reader.get_variable_to_shape_map().items()
               if key != "_CHECKPOINTABLE_OBJECT_GRAPH")


def _model():
    images = keras.Input((8, 8, 1), name="images")
    x = keras.layers.Conv2D(4, 3)(images)
    x = keras.layers.BatchNormalization()(x)  # non-trainable statistics as well
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(images, keras.layers.Dense(3)(x))


def test_each_weight_is_stored_once_and_reloads_with_the_same_outputs(tmp_path):
    model = _model()
    model.layers[2].moving_mean.assign(np.full(4, 0.5, np.float32))
    export_atomically(model, tmp_path / "model")
    # keras-team/keras#23553: `model.export` stores 2 * count_params values.
    assert _stored_values(tmp_path / "model") == model.count_params()
    reloaded = tf.saved_model.load(str(tmp_path / "model"))
    assert len(reloaded.trainable_variables) == len(model.trainable_weights)
    assert len(reloaded.non_trainable_variables) == len(model.non_trainable_weights)
    x = np.random.default_rng(0).random((5, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(reloaded.serve(x).numpy(), model(x).numpy(), atol=1e-6)
    signature = reloaded.signatures["serving_default"].structured_input_signature[1]
    assert list(signature) == ["images"]


def test_dict_inputs_keep_their_names(tmp_path):
    inputs = {"token_ids": keras.Input((None,), dtype="int32", name="token_ids"),
              "padding_mask": keras.Input((None,), dtype="bool", name="padding_mask")}
    embedded = keras.layers.Embedding(10, 2)(inputs["token_ids"])
    mask = keras.ops.expand_dims(keras.ops.cast(inputs["padding_mask"], "float32"), -1)
    model = keras.Model(inputs, keras.ops.sum(embedded * mask, axis=1))
    export_atomically(model, tmp_path / "model")
    assert _stored_values(tmp_path / "model") == model.count_params()
    reloaded = tf.saved_model.load(str(tmp_path / "model"))
    batch = {"token_ids": np.array([[1, 2, 0]], np.int32),
             "padding_mask": np.array([[True, True, False]])}
    np.testing.assert_allclose(reloaded.serve(batch).numpy(), model(batch).numpy(), atol=1e-6)
    signature = reloaded.signatures["serving_default"].structured_input_signature[1]
    assert sorted(signature) == ["padding_mask", "token_ids"]


def test_an_existing_folder_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "model"
    path.mkdir()
    (path / "mine.txt").write_text("saved by the user")
    with pytest.raises(FileExistsError, match="exists"):
        export_atomically(_model(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging folder left
    assert (path / "mine.txt").read_text() == "saved by the user"
    export_atomically(_model(), path, overwrite=True)
    assert not (path / "mine.txt").exists() and (path / "saved_model.pb").exists()
