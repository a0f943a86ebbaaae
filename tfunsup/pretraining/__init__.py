"""Unsupervised pretraining (SimCLR, autoencoder) and fine-tuning with few labels."""

from tfunsup.pretraining.encoder_pretrainer import EncoderPretrainer
from tfunsup.pretraining.label_efficiency import label_efficiency, labeled_subset
from tfunsup.pretraining.losses import nt_xent_loss
from tfunsup.pretraining.simclr import SimCLR, build_augmenter, build_projection_head
from tfunsup.pretraining.text_adaptation import RandomWordDeletion, adapt_text_encoder

__all__ = ["EncoderPretrainer", "RandomWordDeletion", "SimCLR", "adapt_text_encoder",
           "build_augmenter", "build_projection_head", "label_efficiency", "labeled_subset",
           "nt_xent_loss"]
