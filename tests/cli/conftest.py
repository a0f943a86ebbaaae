"""Fixtures of the CLI tests."""

import json

import numpy as np
import pytest

from tfunsup.cli import main


@pytest.fixture
def one_line_error(capsys):
    """A function returning the one line a failed command wrote to stderr
    (asserting that there is exactly one)."""

    def read():
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        return err[0]

    return read


@pytest.fixture
def adapt_seed_runs():
    """`_seed_runs` below, for the adaptation acceptance files."""
    return _seed_runs


def _seed_runs(tmp_path, name, argv, seeds):
    """`tfunsup adapt argv --method shot --seed N` for each seed: {method:
    array of target accuracies}, and the same on the --target-test split
    when there is one."""
    runs, tests = [], []
    for seed in seeds:
        out = tmp_path / f"{name}{seed}"
        assert main(["adapt", *argv, "--method", "shot", "--seed", str(seed),
                     "--embedding", "pca", "--out", str(out), "--quiet"]) == 0
        metrics = json.loads((out / "metrics.json").read_text())
        runs.append(metrics["results"])
        tests.append(metrics["test_results"])
    accuracy = {m: np.array([r[m] for r in runs]) for m in ("source-only", "shot")}
    test = ({m: np.array([r[m] for r in tests]) for m in ("source-only", "shot")}
            if tests[0] is not None else None)
    return accuracy, test
