"""Unsupervised pretraining (SimCLR, autoencoder) and fine-tuning with few labels."""

from tfunsup.pretraining.encoder_pretrainer import EncoderPretrainer
from tfunsup.pretraining.label_efficiency import label_efficiency, labeled_subset
from tfunsup.pretraining.losses import cosine_similarity_loss, nt_xent_loss
from tfunsup.pretraining.self_training import self_training
from tfunsup.pretraining.setfit import setfit_pairs, setfit_text_encoder
from tfunsup.pretraining.simclr import SimCLR, build_augmenter, build_projection_head
from tfunsup.pretraining.text_adaptation import RandomWordDeletion, adapt_text_encoder

__all__ = ["EncoderPretrainer", "RandomWordDeletion", "SimCLR", "adapt_text_encoder",
           "build_augmenter", "build_projection_head", "cosine_similarity_loss",
           "label_efficiency", "labeled_subset", "nt_xent_loss", "self_training",
           "setfit_pairs", "setfit_text_encoder"]
