"""Pretrained feature extractors (backbones) as Keras 3 models."""

from tfunsup.backbones.application_preprocessing import ApplicationPreprocessing
from tfunsup.backbones.hub_layer import BackboneUnavailableError, HubLayer
from tfunsup.backbones.load_backbone import application_names, flip_averaged, load_backbone

__all__ = ["ApplicationPreprocessing", "BackboneUnavailableError", "HubLayer",
           "application_names", "flip_averaged", "load_backbone"]
