"""DeepEnsemble over the adapters, on small real slices of MNIST-5k -> digits
(1-epoch budgets: behaviour, not accuracy)."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from tfunsup.adapt import SHOT, DeepEnsemble, SourceOnly
from tfunsup.adapt.ensemble import member_seeds

SMALL = {"epochs": 1, "batch_size": 32}


@pytest.fixture(scope="module")
def sources(domains):
    xs, ys, xt, _ = domains
    return DeepEnsemble(SourceOnly(**SMALL), n_members=2, seed=0).fit(xs, ys, xt)


def test_member_seeds_are_distinct_and_differ_across_ensemble_seeds():
    assert member_seeds(None, 2) == [None, None]
    seeds = member_seeds(0, 3) + member_seeds(1, 3)
    assert len(set(seeds)) == 6
    assert member_seeds(0, 3) == member_seeds(0, 3)
    assert member_seeds(0, 3)[:2] == member_seeds(0, 2)


def test_members_are_independent_fits_and_the_ensemble_averages_them(sources, domains):
    _, _, xt, yt = domains
    first, second = sources.estimators_
    assert (first.seed, second.seed) == tuple(member_seeds(0, 2))
    assert sources.estimator.seed is None  # the template is not fitted or changed
    probabilities = [m.predict_proba(xt) for m in sources.estimators_]
    assert np.abs(probabilities[0] - probabilities[1]).max() > 1e-3
    np.testing.assert_allclose(sources.predict_proba(xt), np.mean(probabilities, axis=0),
                               atol=1e-6)
    predictions = sources.predict(xt)
    assert predictions.dtype == np.int64
    assert sources.score(xt, yt) == pytest.approx(np.mean(predictions == yt))
    assert sources.transform(xt).shape == (len(xt), 2 * 128)


def test_shot_member_i_adapts_source_member_i(sources, domains):
    _, _, xt, _ = domains
    shot = DeepEnsemble(SHOT(source_model=sources, adapt_epochs=1, batch_size=32),
                        n_members=2, seed=0).fit(None, None, xt)
    for member, source in zip(shot.estimators_, sources.estimators_):
        assert member.source_model_ is source
    # One fitted source model is adapted by every member, each with its own seed.
    single = DeepEnsemble(SHOT(source_model=sources.estimators_[0], adapt_epochs=1,
                               batch_size=32), n_members=2, seed=0).fit(None, None, xt)
    assert all(m.source_model_ is sources.estimators_[0] for m in single.estimators_)
    assert single.estimators_[0].seed != single.estimators_[1].seed


def test_members_share_the_estimators_strategy(domains):
    """`clone` deep-copies a strategy; the members must train under the user's one."""
    xs, ys, xt, _ = domains
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    ensemble = DeepEnsemble(SourceOnly(**SMALL, strategy=strategy), n_members=2,
                            seed=0).fit(xs[:64], ys[:64], xt)
    assert all(m.strategy is strategy for m in ensemble.estimators_)


def test_savedmodel_reload_parity(sources, domains, tmp_path):
    _, _, xt, _ = domains
    path = sources.export(tmp_path / "ensemble")
    reloaded = tf.saved_model.load(str(path))
    served = reloaded.serve(tf.constant(xt)).numpy()
    np.testing.assert_allclose(served, sources.predict_proba(xt), atol=1e-5)
    with pytest.raises(FileExistsError, match="exists"):
        sources.export(path)


def test_clone_and_bad_parameters(sources, domains):
    xs, ys, xt, _ = domains
    copy = clone(DeepEnsemble(SourceOnly(**SMALL), n_members=2, seed=3))
    assert copy.get_params()["n_members"] == 2 and copy.seed == 3
    with pytest.raises(NotFittedError, match="DeepEnsemble"):
        copy.predict(xt)
    for n_members in (0, 1.5, True):
        with pytest.raises(ValueError, match="n_members"):
            DeepEnsemble(SourceOnly(**SMALL), n_members=n_members).fit(xs, ys, xt)
    with pytest.raises(ValueError, match="estimator of type str"):
        DeepEnsemble("shot").fit(xs, ys, xt)
    with pytest.raises(ValueError, match="n_members=3 models. Received: 2 members"):
        DeepEnsemble(SHOT(source_model=sources), n_members=3).fit(None, None, xt)
    with pytest.raises(NotFittedError):
        DeepEnsemble(SHOT(source_model=copy), n_members=2).fit(None, None, xt)
