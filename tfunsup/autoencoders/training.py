"""Moved to `tfunsup.training`; kept so that existing imports keep working."""

from tfunsup.training import check_fit_params, resolve_jit_compile, training_callbacks

__all__ = ["check_fit_params", "resolve_jit_compile", "training_callbacks"]
