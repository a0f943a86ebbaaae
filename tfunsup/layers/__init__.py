"""Reusable Keras layers."""

from tfunsup.layers.random_low_resolution import RandomLowResolution
from tfunsup.layers.to_image_spec import ToImageSpec

__all__ = ["RandomLowResolution", "ToImageSpec"]
