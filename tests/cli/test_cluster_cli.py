"""`tfunsup cluster` end to end, through the console entry point."""

import json

import numpy as np
import pytest

from tfunsup.cli import main


@pytest.fixture(scope="module")
def default_run(saved_models_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "cluster"
    assert main(["cluster", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.large
def test_default_run_writes_all_outputs(default_run):
    assert sorted(p.name for p in default_run.iterdir()) == [
        "assignments.csv", "classifier", "clusters.png", "embedding.png", "metrics.json"]
    metrics = json.loads((default_run / "metrics.json").read_text())
    for key in ("dataset", "backbone", "n_clusters", "n_samples", "acc", "nmi", "ari",
                "baseline", "seconds"):
        assert key in metrics
    assert metrics["dataset"] == "digits" and metrics["n_samples"] == 1797
    assert metrics["acc"] >= 0.88
    assert metrics["acc"] >= metrics["baseline"]["acc"] + 0.08
    assert set(metrics["baseline"]) == {"method", "acc", "nmi", "ari"}
    rows = (default_run / "assignments.csv").read_text().splitlines()
    assert rows[0] == "index,cluster,label" and len(rows) == 1798


@pytest.mark.large
def test_refuses_to_overwrite_then_overwrites(default_run, capsys):
    before = (default_run / "metrics.json").read_text()
    assert main(["cluster", "--out", str(default_run), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (default_run / "metrics.json").read_text() == before


@pytest.mark.parametrize("argv, message", [
    (["--data", "nope"], "Unknown dataset 'nope'"),
    (["--backbone", "keras:NoSuchNet"], "keras:NoSuchNet"),
    (["--n-clusters", "1"], "--n-clusters >= 2"),
    (["--n-clusters", "5000"], "n_clusters <= number of samples"),
    (["--data", "missing/folder"], "does not exist"),
])
def test_bad_input_one_line_error_no_output(argv, message, tmp_path, one_line_error,
                                            saved_models_dir):
    out = tmp_path / "out"
    assert main(["cluster", "--out", str(out), "--quiet", *argv]) == 2
    assert message in one_line_error()
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_empty_folder_and_corrupt_image(tmp_path, one_line_error):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["cluster", "--data", str(empty), "--out", str(tmp_path / "o1")]) == 2
    assert "No images found" in one_line_error()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.png").write_bytes(b"garbage")
    assert main(["cluster", "--data", str(broken), "--out", str(tmp_path / "o2")]) == 2
    assert "x.png" in one_line_error()
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_nan_npz(tmp_path, one_line_error):
    np.savez(tmp_path / "bad.npz", x=np.full((30, 8, 8), np.nan, np.float32))
    assert main(["cluster", "--data", str(tmp_path / "bad.npz"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "NaN or Inf" in one_line_error()


def test_failure_mid_run_leaves_no_partial_output(tmp_path, monkeypatch, one_line_error,
                                                  saved_models_dir):
    from tfunsup.cluster import TransferClustering

    def broken_export(self, path, overwrite=False):
        raise OSError("disk full")

    monkeypatch.setattr(TransferClustering, "export", broken_export)
    np.savez(tmp_path / "d.npz", x=np.random.default_rng(0).random((40, 8, 8)))
    out = tmp_path / "runs" / "c"
    assert main(["cluster", "--data", str(tmp_path / "d.npz"), "--n-clusters", "2",
                 "--head-epochs", "1", "--out", str(out), "--quiet"]) == 2
    assert "disk full" in one_line_error()
    assert not (tmp_path / "runs").exists()
