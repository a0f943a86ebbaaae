"""Transfer clustering: pretrained features -> clusters -> classifier."""

from tfunsup.cluster.transfer_clustering import TransferClustering, resolve_backbone

__all__ = ["TransferClustering", "resolve_backbone"]
