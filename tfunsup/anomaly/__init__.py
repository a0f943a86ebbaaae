"""Anomaly detection by reconstruction error, and its evaluation."""

from tfunsup.anomaly.evaluation import anomaly_metrics, one_class_evaluation, one_class_split
from tfunsup.anomaly.reconstruction_anomaly_detector import (
    ReconstructionAnomalyDetector,
    check_contamination,
)

__all__ = ["ReconstructionAnomalyDetector", "anomaly_metrics", "check_contamination",
           "one_class_evaluation", "one_class_split"]
