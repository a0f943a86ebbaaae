"""`tfunsup adapt`'s default run (MNIST-5k -> digits) over seeds: the issue's bars.

In a file of its own so that a parallel test run (pytest-xdist, one file per
worker) can run it beside the MNIST <-> USPS acceptance test."""

import csv
import json

import numpy as np
import pytest

from tfunsup.cli import main
from tfunsup.data import load_dataset


def _predictions(out):
    with open(out / "predictions.csv") as handle:
        rows = list(csv.DictReader(handle))
    return {key: np.array([int(r[key]) for r in rows]) for key in rows[0]}


ACCEPTANCE_SEEDS = (0, 1)  # the README's table has seeds 0-4


@pytest.mark.large
def test_default_run_meets_the_acceptance_numbers(tmp_path):
    """The real defaults (MNIST-5k -> all 1,797 digits, --method all, 10
    epochs each, 10 of SHOT) over two seeds, with a PCA plot instead of
    t-SNE to save time (the plot does not touch training). Bars from the
    issue, with margins measured with oneDNN on and off (see
    the README): best method mean >= 0.93 and no seed below 0.90;
    DANN and SHOT above source-only."""
    import tensorflow as tf

    runs = {}
    for seed in ACCEPTANCE_SEEDS:
        out = tmp_path / f"seed{seed}"
        assert main(["adapt", "--seed", str(seed), "--embedding", "pca", "--out", str(out),
                     "--quiet"]) == 0
        metrics = json.loads((out / "metrics.json").read_text())
        assert (metrics["source"], metrics["target"], metrics["n_target"]) == (
            "mnist-5k", "digits", 1797)
        assert metrics["augment"] == "standard"
        runs[seed] = metrics["results"]
    accuracy = {method: np.array([runs[seed][method] for seed in ACCEPTANCE_SEEDS])
                for method in ("source-only", "dann", "shot")}
    assert accuracy["shot"].mean() >= 0.93, accuracy
    assert accuracy["shot"].min() >= 0.90, accuracy
    assert (accuracy["shot"] > accuracy["source-only"]).all(), accuracy
    assert accuracy["dann"].mean() > accuracy["source-only"].mean(), accuracy
    # The exported models reproduce the last run's predictions on the digits.
    digits = tf.constant(load_dataset("digits").images)
    predictions = _predictions(out)
    for method in ("source-only", "dann", "shot"):
        reloaded = tf.saved_model.load(str(out / "models" / method))
        served = reloaded.serve(digits).numpy().argmax(axis=1)
        np.testing.assert_array_equal(served, predictions[method])
