"""Metrics as pure functions."""

from tfunsup.metrics.clustering import (
    cluster_accuracy,
    cluster_purity,
    clustering_scores,
    match_clusters,
)
from tfunsup.metrics.generative import (
    classifier_inception_score,
    frechet_distance,
    generative_scores,
    inception_score,
    kernel_distance,
    nearest_neighbor_scores,
)

__all__ = ["cluster_accuracy", "cluster_purity", "clustering_scores", "match_clusters"]
__all__ += ["classifier_inception_score", "frechet_distance", "generative_scores",
            "inception_score", "kernel_distance", "nearest_neighbor_scores"]
