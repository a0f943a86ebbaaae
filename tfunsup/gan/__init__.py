"""GANs: DCGAN-style networks, the GAN / WGAN-GP training objective, training,
sample grids and generator export."""

from tfunsup.gan.conditioning import (
    ClusterCode,
    cluster_latents,
    kmeans_pseudo_labels,
    latent_clusters,
)
from tfunsup.gan.estimator import GANEstimator
from tfunsup.gan.evaluation import sample_quality_report
from tfunsup.gan.export import export_generator
from tfunsup.gan.gan import GAN, OBJECTIVES, default_optimizers, sample_latents
from tfunsup.gan.losses import (
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    interpolate,
    safe_norm,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
)
from tfunsup.gan.networks import build_discriminator, build_generator, upsampling_stages
from tfunsup.gan.sample_grid import SampleGrid
from tfunsup.gan.train import check_gan_arguments, train_gan

__all__ = [
    "GAN", "GANEstimator", "OBJECTIVES", "ClusterCode", "SampleGrid", "build_discriminator",
    "build_generator", "check_gan_arguments", "cluster_latents", "default_optimizers",
    "discriminator_loss", "export_generator", "generator_loss", "gradient_penalty",
    "interpolate", "kmeans_pseudo_labels", "latent_clusters", "safe_norm", "sample_latents",
    "sample_quality_report", "train_gan", "upsampling_stages", "wasserstein_critic_loss",
    "wasserstein_generator_loss",
]
