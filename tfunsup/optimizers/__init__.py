"""Keras optimizers."""

from tfunsup.optimizers.fused_adam import FusedAdam

__all__ = ["FusedAdam"]
