"""One-class anomaly detection: pretrained-feature detectors (kNN, Gaussian,
PANDA-adapted kNN),
autoencoder reconstruction error, and their evaluation."""

from tfunsup.anomaly.evaluation import (
    anomaly_metrics,
    one_class_evaluation,
    one_class_split,
)
from tfunsup.anomaly.feature_anomaly_detector import FeatureAnomalyDetector
from tfunsup.anomaly.gaussian_anomaly_detector import GaussianAnomalyDetector
from tfunsup.anomaly.knn_anomaly_detector import KNNAnomalyDetector
from tfunsup.anomaly.panda_anomaly_detector import PANDAAnomalyDetector
from tfunsup.anomaly.reconstruction_anomaly_detector import (
    ReconstructionAnomalyDetector,
    check_contamination,
)

__all__ = ["FeatureAnomalyDetector", "GaussianAnomalyDetector", "KNNAnomalyDetector",
           "PANDAAnomalyDetector", "ReconstructionAnomalyDetector", "anomaly_metrics", "check_contamination",
           "one_class_evaluation", "one_class_split"]
