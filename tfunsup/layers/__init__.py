"""Reusable Keras layers."""

from tfunsup.layers.fused_batch_normalization import FusedBatchNormalization
from tfunsup.layers.gradient_reversal import GradientReversal
from tfunsup.layers.random_low_resolution import RandomLowResolution
from tfunsup.layers.student_t_clustering import StudentTClustering
from tfunsup.layers.to_image_spec import ToImageSpec

__all__ = ["FusedBatchNormalization", "GradientReversal", "RandomLowResolution",
           "StudentTClustering", "ToImageSpec"]
