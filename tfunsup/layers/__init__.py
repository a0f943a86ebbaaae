"""Reusable Keras layers."""

from tfunsup.layers.gradient_reversal import GradientReversal
from tfunsup.layers.random_low_resolution import RandomLowResolution
from tfunsup.layers.to_image_spec import ToImageSpec

__all__ = ["GradientReversal", "RandomLowResolution", "ToImageSpec"]
