"""Deep ensembles of adapters: independently trained members, averaged probabilities."""

import keras
import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from tfunsup.adapt.base_adapter import BaseAdapter, check_class_labels
from tfunsup.utils.export import export_atomically


def member_seeds(seed, n_members):
    """Seeds of the members: distinct, and disjoint across ensemble seeds.

    Args:
        seed: the ensemble's int seed, or None (every member unseeded).
        n_members: int >= 1.

    Returns:
        list of `n_members` ints (or Nones), from `numpy.random.SeedSequence`.
    """
    if seed is None:
        return [None] * n_members
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n_members) % 2**31]


class DeepEnsemble(BaseEstimator):
    """Averages the class probabilities of independently trained adapters.

    Each member is a clone of `estimator` with its own seed (its own
    initialisation, batch order and augmentation), fitted on the same data;
    the ensemble predicts the mean of the members' class probabilities
    (Lakshminarayanan et al., "Simple and scalable predictive uncertainty
    estimation using deep ensembles", NeurIPS 2017). Members share only the
    estimator's `strategy` (and a given fitted source model), so an ensemble
    of `n_members` costs `n_members` fits.

    To adapt an ensemble of source models, give `SHOT` the fitted source
    ensemble as its `source_model`: member `i` then adapts source member `i`
    (`DeepEnsemble(SHOT(source_model=sources), n_members=sources.n_members)`).
    A single fitted source model is adapted by every member.

    Args:
        estimator: an unfitted `SourceOnly`, `DANN` or `SHOT`; its `seed` is
            replaced by each member's.
        n_members: int >= 1, the number of members.
        seed: int seed of the ensemble (members get
            `member_seeds(seed, n_members)`), or None.

    Attributes:
        estimators_: the fitted members.
        n_classes_: number of classes.
    """

    def __init__(self, estimator, *, n_members=3, seed=None):
        self.estimator = estimator
        self.n_members = n_members
        self.seed = seed

    def _check_params(self):
        if not isinstance(self.estimator, BaseAdapter):
            raise ValueError("Expected estimator to be a SourceOnly, DANN or SHOT. Received: "
                             f"estimator of type {type(self.estimator).__name__}")
        if (isinstance(self.n_members, bool) or not isinstance(self.n_members, int)
                or self.n_members < 1):
            raise ValueError(f"Expected an integer n_members >= 1. Received: "
                             f"n_members={self.n_members!r}")
        sources = getattr(self.estimator, "source_model", None)
        if isinstance(sources, DeepEnsemble):
            sources._check_fitted()
            if len(sources.estimators_) != self.n_members:
                raise ValueError(
                    f"Expected a source_model ensemble of n_members={self.n_members} "
                    f"models. Received: {len(sources.estimators_)} members")

    def fit(self, source_images, source_labels, target_images, target_labels=None):
        """Fits every member on the same data (see the member's `fit`).

        Args:
            source_images: float32 `(n_s, height, width, channels)` in
                [0, 1] (or the member's other inputs), or None for `SHOT`
                with a fitted `source_model`.
            source_labels: int `(n_s,)`, or None as `source_images`.
            target_images: float32 `(n_t, h, w, c)` in [0, 1], unlabeled.
            target_labels: must be None (target labels only score).

        Returns:
            self.

        Raises:
            ValueError: bad parameters (before any training), or the
                member's own input errors (raised by the first member,
                before it trains).
        """
        self._check_params()
        sources = getattr(self.estimator, "source_model", None)
        members = []
        for i, seed in enumerate(member_seeds(self.seed, self.n_members)):
            # The members share the strategy: `clone` would deep-copy it.
            member = clone(self.estimator).set_params(seed=seed,
                                                      strategy=self.estimator.strategy)
            if isinstance(sources, DeepEnsemble):
                member.set_params(source_model=sources.estimators_[i])
            elif sources is not None:  # one fitted source model, adapted n_members times
                member.set_params(source_model=sources)
            members.append(member.fit(source_images, source_labels, target_images,
                                      target_labels))
        self.estimators_ = members
        self.n_classes_ = members[0].n_classes_
        return self

    def _check_fitted(self):
        if not hasattr(self, "estimators_"):
            raise NotFittedError("This DeepEnsemble instance is not fitted yet. "
                                 "Call 'fit' before using it.")

    def predict_proba(self, images):
        """Mean class probabilities of the members: float32 `(n, n_classes)`.

        Args:
            images: as the members' `predict_proba`, e.g. float32
                `(n, height, width, channels)` in [0, 1].
        """
        self._check_fitted()
        return np.mean([m.predict_proba(images) for m in self.estimators_],
                       axis=0).astype(np.float32)

    def predict(self, images):
        """Class of each image: int64 `(n,)`, the argmax of `predict_proba`."""
        return np.argmax(self.predict_proba(images), axis=1).astype(np.int64)

    def transform(self, images):
        """The members' features side by side: float32 `(n, n_members * bottleneck_dim)`."""
        self._check_fitted()
        return np.concatenate([m.transform(images) for m in self.estimators_], axis=1)

    def score(self, images, labels):
        """Accuracy of the ensemble's predictions, a float in [0, 1].

        Raises:
            ValueError: labels of another length or outside the classes.
        """
        predictions = self.predict(images)
        labels = check_class_labels(labels, self.n_classes_, len(predictions))
        return float(np.mean(predictions == labels))

    def export_model(self, input_shape=None):
        """One Keras model: the members' exported models, probabilities averaged.

        Args:
            input_shape: see `BaseAdapter.export_model`.

        Returns:
            A functional `keras.Model` with the members' input (`"images"`,
            or `"waveforms"`) returning the mean probabilities
            `(batch, n_classes)`.
        """
        self._check_fitted()
        models = [m.export_model(input_shape) for m in self.estimators_]
        first = models[0].input
        inputs = keras.Input(shape=first.shape[1:], name=first.name.split(":")[0])
        # Renamed copies of the graphs: the members' models share one name.
        outputs = [keras.Model(model.input, model.output, name=f"member_{i}")(inputs)
                   for i, model in enumerate(models)]
        probabilities = (outputs[0] if len(outputs) == 1
                         else keras.layers.Average(name="probabilities")(outputs))
        return keras.Model(inputs, probabilities, name="deep_ensemble")

    def export(self, path, input_shape=None, overwrite=False):
        """Exports `export_model` as a SavedModel; see `BaseAdapter.export`.

        Raises:
            FileExistsError: `path` exists and `overwrite` is False.
        """
        return export_atomically(self.export_model(input_shape), path, overwrite=overwrite)
