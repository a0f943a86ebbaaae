"""The MNIST-5k source model used as the offline transfer-learning backbone."""

from tfunsup.source.source_model import (
    MNIST_IMAGE_SPEC,
    build_source_cnn,
    default_source_model_path,
    ensure_source_classifier,
    ensure_source_model,
    export_feature_vector,
    train_source_model,
)

__all__ = ["MNIST_IMAGE_SPEC", "build_source_cnn", "default_source_model_path",
           "ensure_source_classifier", "ensure_source_model", "export_feature_vector", "train_source_model"]
