"""Unsupervised domain adaptation: a labeled source domain, an unlabeled target.

- `SourceOnly`: train on the source, apply to the target (the baseline).
- `DANN`: domain-adversarial training behind a gradient-reversal layer.
- `SHOT`: source-free self-training of a trained source model with
  information maximisation and clustering-refined pseudo-labels.
- `DeepEnsemble`: any of them trained with several seeds, probabilities
  averaged.

All three are scikit-learn style estimators over the same network
(`network.build_network`: any backbone -> bottleneck -> classifier) and the
same common input frame (`preprocessing.to_common_frame`).
"""

from tfunsup.adapt.class_prior import class_frequencies, estimate_class_prior
from tfunsup.adapt.dann import DANN
from tfunsup.adapt.dann_model import DANNModel
from tfunsup.adapt.ensemble import DeepEnsemble
from tfunsup.adapt.losses import (
    diversity,
    entropy,
    information_maximization_loss,
    prior_kl,
)
from tfunsup.adapt.pseudo_labels import cluster_pseudo_labels
from tfunsup.adapt.schedules import dann_lambda
from tfunsup.adapt.shot import SHOT
from tfunsup.adapt.shot_model import SHOTModel
from tfunsup.adapt.source_only import SourceOnly

__all__ = ["DANN", "SHOT", "DANNModel", "DeepEnsemble", "SHOTModel", "SourceOnly",
           "class_frequencies", "cluster_pseudo_labels", "dann_lambda", "diversity", "entropy",
           "estimate_class_prior", "information_maximization_loss", "prior_kl"]
