"""Datasets, validation and `tf.data` pipelines."""

from tfunsup.data.datasets import (
    DatasetUnavailableError,
    ImageDataset,
    dataset_names,
    load_dataset,
)
from tfunsup.data.image_spec import ImageSpec
from tfunsup.data.pipeline import make_dataset, to_image_spec
from tfunsup.data.validation import check_images, check_labels, check_n_clusters

__all__ = [
    "DatasetUnavailableError", "ImageDataset", "ImageSpec", "check_images",
    "check_labels", "check_n_clusters", "dataset_names", "load_dataset",
    "make_dataset", "to_image_spec",
]
