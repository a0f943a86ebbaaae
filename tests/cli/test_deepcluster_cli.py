"""`tfunsup deepcluster` through the console entry point."""

import json

import pytest

from tfunsup.cli import main

FAST = ["--data", "digits", "--pretrain-epochs", "1", "--refine", "kmeans", "--quiet"]


def test_small_run_writes_outputs_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["deepcluster", "--out", str(out), "--export", *FAST]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "assignments.csv", "clusters.png", "encoder", "metrics.json"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "digits" and metrics["n_samples"] == 1797
    assert metrics["refine"] == "kmeans" and 0.0 < metrics["acc"] <= 1.0
    assert metrics["baseline"]["method"] == "k-means on raw pixels"
    assert metrics["cpu_seconds"] > 0 and set(metrics["timings"]) == {"pretrain", "refine"}
    rows = (out / "assignments.csv").read_text().splitlines()
    assert rows[0] == "index,cluster,label" and len(rows) == 1798
    before = (out / "metrics.json").read_text()
    capsys.readouterr()
    assert main(["deepcluster", "--out", str(out), *FAST]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "metrics.json").read_text() == before


@pytest.mark.parametrize("argv, message", [
    (["--data", "nope"], "Unknown dataset 'nope'"),
    (["--n-clusters", "1"], "--n-clusters >= 2"),
    (["--n-clusters", "5000"], "n_clusters <= number of samples"),
    (["--pretrain-epochs", "-2"], "--pretrain-epochs >= 0"),
    (["--max-shift", "2"], "max_shift < 1"),
    (["--latent-dim", "0"], "--latent-dim >= 1"),
])
def test_bad_input_one_line_error_no_output(argv, message, tmp_path, one_line_error):
    out = tmp_path / "out"
    assert main(["deepcluster", "--out", str(out), *FAST, *argv]) == 2
    assert message in one_line_error()
    assert not out.exists()
