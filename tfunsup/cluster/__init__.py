"""Transfer clustering: pretrained features -> clusters -> classifier."""

from tfunsup.cluster.transfer_clustering import TransferClustering

__all__ = ["TransferClustering"]
