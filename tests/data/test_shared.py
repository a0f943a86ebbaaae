"""The shared-data setting: one environment variable, a clear error."""

import pytest

from tfunsup.data.shared import (
    DATA_DIR_ENV,
    SharedDataMissingError,
    data_dir,
    data_path,
)


def test_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    (tmp_path / "coil-20").mkdir()
    assert data_dir() == tmp_path
    assert data_path("coil-20") == tmp_path / "coil-20"


def test_missing_path_names_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(SharedDataMissingError, match=DATA_DIR_ENV):
        data_path("usps")


def test_default_is_the_shared_folder_beside_the_checkout(monkeypatch, shared_data):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert data_dir().parts[-2:] == ("shared", "data")
    assert data_dir() == shared_data().resolve()


def test_keras_home_loads_the_shared_imagenet_weights_offline(shared_data):
    shared_data("keras_home", "models")
    import keras

    model = keras.applications.MobileNetV2(alpha=0.35, include_top=False, weights="imagenet",
                                           input_shape=(224, 224, 3), pooling="avg")
    assert model.count_params() == 410_208
