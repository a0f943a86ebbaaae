import json

import pytest

from tfunsup.cli import main


def test_small_run_writes_table_figures_and_detectors(tmp_path):
    out = tmp_path / "anomaly"
    code = main(["anomaly", "--data", "digits", "--classes", "3", "--epochs", "1",
                 "--latent-dim", "4", "--export", "--quiet", "--out", str(out)])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["auc_per_class"]) == {"3"}
    assert 0.0 <= metrics["mean_auc"] <= 1.0
    assert metrics["mean_auc"] == pytest.approx(metrics["auc_per_class"]["3"])
    for name in ("score_histograms.png", "worst_reconstructed.png"):
        assert (out / name).stat().st_size > 1000
    assert (out / "detectors" / "3" / "saved_model.pb").is_file()


@pytest.mark.parametrize("argv,message", [
    (["--contamination", "0.7"], "--contamination"),
    (["--contamination", "0"], "--contamination"),
    (["--latent-dim", "0"], "--latent-dim"),
    (["--train-fraction", "1.0"], "--train-fraction"),
    (["--classes", "42"], "--classes"),
])
def test_bad_input_is_one_line_error_and_no_output(argv, message, tmp_path, capsys):
    out = tmp_path / "anomaly"
    assert main(["anomaly", "--data", "digits", "--out", str(out), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.large
def test_default_run_reaches_mean_auc_093(tmp_path):
    """Acceptance: `tfunsup anomaly` with its defaults (MNIST-5k, 10 digits)."""
    out = tmp_path / "anomaly"
    assert main(["anomaly", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["auc_per_class"]) == 10
    assert metrics["mean_auc"] >= 0.93
