"""Training utilities shared by every flow: how a train step runs (XLA, mixed
precision, op determinism, decided from the devices present) and the
callbacks and argument checks of `fit`."""

from tfunsup.training.acceleration import (
    cpu_flags,
    cpu_supports_bfloat16,
    has_accelerator,
    onednn_isa_cap,
    op_determinism,
    op_determinism_enabled,
    resolve_jit_compile,
    resolve_mixed_precision,
    with_op_determinism,
)
from tfunsup.training.callbacks import WeightAverage, check_fit_params, training_callbacks

__all__ = [
    "check_fit_params", "cpu_flags", "cpu_supports_bfloat16", "has_accelerator",
    "onednn_isa_cap", "op_determinism", "op_determinism_enabled", "resolve_jit_compile",
    "resolve_mixed_precision", "training_callbacks", "WeightAverage", "with_op_determinism",
]
