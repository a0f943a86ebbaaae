"""Source -> target transfer: shared layers from a source model, new
task-specific layers, head training then fine-tuning."""

from tfunsup.transfer.target_model import (
    build_target_model,
    clone_with_weights,
    set_trainable,
    shared_part,
    unfreeze_top,
)
from tfunsup.transfer.transfer_classifier import TransferClassifier

__all__ = ["TransferClassifier", "build_target_model", "clone_with_weights", "set_trainable",
           "shared_part", "unfreeze_top"]

