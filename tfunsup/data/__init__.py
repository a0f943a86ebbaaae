"""Datasets that know their items, one `tf.data` road to a backbone, cached features."""

from tfunsup.data.audio import (
    AudioDataset,
    audio_pipeline,
    decode_wav,
    load_audio_dataset,
)
from tfunsup.data.datasets import (
    ArrayDataset,
    DatasetUnavailableError,
    FileDataset,
    ImageDataset,
    ImageSummary,
    dataset_names,
    load_dataset,
)
from tfunsup.data.features import (
    FEATURES_FILENAME,
    FeatureCacheMismatchError,
    Features,
    extract_features,
    feature_key,
    find_unreadable,
    load_features,
    merge_features,
    save_features,
)
from tfunsup.data.image_spec import ImageSpec
from tfunsup.data.pipeline import (
    decode_image,
    image_pipeline,
    make_dataset,
    to_image_spec,
)
from tfunsup.data.validation import check_images, check_labels, check_n_clusters

__all__ = [
    "ArrayDataset", "AudioDataset", "audio_pipeline", "decode_wav", "load_audio_dataset", "DatasetUnavailableError", "FEATURES_FILENAME", "FeatureCacheMismatchError",
    "Features", "FileDataset", "ImageDataset", "ImageSpec", "ImageSummary", "check_images",
    "check_labels", "check_n_clusters", "dataset_names", "decode_image", "extract_features",
    "feature_key", "find_unreadable", "image_pipeline", "load_dataset", "load_features",
    "make_dataset", "merge_features", "save_features", "to_image_spec",
]
