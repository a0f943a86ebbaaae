"""Metrics as pure functions."""

from tfunsup.metrics.clustering import cluster_accuracy, clustering_scores, match_clusters

__all__ = ["cluster_accuracy", "clustering_scores", "match_clusters"]
