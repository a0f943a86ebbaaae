"""Reusable Keras layers."""

from tfunsup.layers.random_low_resolution import RandomLowResolution

__all__ = ["RandomLowResolution"]
