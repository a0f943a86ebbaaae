"""The README's GAN, SimCLR, autoencoder, CIFAR-10 anomaly and CIFAR-10
clustering numbers, re-run with the exact commands printed next to them and
checked with margins.

Each runs a full-budget command (about 2.5 to 6 minutes on 2 idle CPU cores),
so together they would push the suite past its time budget: they run when
`TFUNSUP_README_CHECKS=1` is set (and are `large`), e.g.

    TFUNSUP_README_CHECKS=1 python -m pytest tests/test_readme_numbers.py

The margins: the README's mean minus a few standard deviations over seeds
where the README gives them, or the spread it documents between runs.
"""

import json

import pytest

from tfunsup.cli import main

pytestmark = [pytest.mark.large, pytest.mark.readme_check]


def _run(tmp_path, *argv):
    out = tmp_path / "run"
    assert main([*argv, "--quiet", "--out", str(out)]) == 0
    return json.loads((out / "metrics.json").read_text())


def test_autoencoder_codes_beat_raw_pixels(tmp_path):
    """README: `tfunsup autoencoder` -> latent-code k-means ACC 0.583 (0.648 in
    another run), raw pixels 0.519, held-out MSE 0.0180."""
    metrics = _run(tmp_path, "autoencoder")
    assert metrics["baseline"]["acc"] == pytest.approx(0.519, abs=0.005)  # deterministic
    assert metrics["kmeans"]["acc"] >= 0.53  # a few points below 0.583
    assert metrics["kmeans"]["acc"] > metrics["baseline"]["acc"]
    assert metrics["reconstruction_mse"] <= 0.022


def test_simclr_pretraining_helps_with_one_percent_labels(tmp_path):
    """README: `tfunsup finetune` -> at 1 % labels, SimCLR 0.740 ± 0.011 vs
    scratch 0.650 ± 0.026 (+9.0); at 100 %, 0.949 vs 0.951."""
    metrics = _run(tmp_path, "finetune")
    rows = {(r["fraction"], r["method"]): r for r in metrics["label_efficiency"]}
    methods = sorted({method for _, method in rows})
    pretrained = next(m for m in methods if m != "scratch")
    one = rows[(0.01, pretrained)]["mean_acc"]
    assert one >= 0.70
    assert one - rows[(0.01, "scratch")]["mean_acc"] >= 0.05
    assert rows[(1.0, pretrained)]["mean_acc"] >= 0.93


def test_gan_default_inception_score_and_fid(tmp_path):
    """README: `tfunsup gan` -> IS 8.78, FID 2.02, every digit >= 5 % (7.9 %);
    runs with Keras' Adam / batch norm gave 8.80 / 2.21 and 8.81 / 2.16."""
    metrics = _run(tmp_path, "gan")
    assert metrics["inception_score"] >= 8.5
    assert metrics["fid"] <= 3.5
    assert metrics["fid"] < 0.05 * metrics["noise"]["fid"]
    assert metrics["min_class_fraction"] >= 0.05


def test_cifar10_one_class_anomaly_defaults_reach_090(shared_data, tmp_path):
    """README, Anomaly detection: `tfunsup anomaly --data cifar10-test` (the
    defaults: Gaussian, 144 px, MobileNetV2's last three blocks) -> mean
    ROC-AUC 0.910 at split seed 0 (0.909 / 0.910 at seeds 1 / 2); the
    issue's acceptance is >= 0.90. About 4 minutes (feature extraction)."""
    shared_data("cifar10-test")
    metrics = _run(tmp_path, "anomaly", "--data", "cifar10-test")
    assert metrics["image_size"] == [144, 144]
    assert len(metrics["auc_per_class"]) == 10
    assert metrics["mean_auc"] >= 0.90
    assert min(metrics["auc_per_class"].values()) >= 0.80  # cat: 0.825


def test_cifar10_clustering_defaults_reach_055(shared_data, tmp_path):
    """README, Transfer clustering: `tfunsup cluster --data cifar10-test
    --n-clusters 10` -> ACC 0.565 at seed 0 (0.565 / 0.566 at seeds 1 / 2);
    the issue's acceptance is >= 0.55 within 15 minutes. About 3 minutes."""
    shared_data("cifar10-test")
    metrics = _run(tmp_path, "cluster", "--data", "cifar10-test", "--n-clusters", "10",
                   "--seed", "0")
    assert metrics["image_size"] == [144, 144]
    assert metrics["restart_tolerance"] == 0.05
    assert metrics["acc"] >= 0.55
    assert metrics["acc"] > metrics["baseline"]["acc"] + 0.05
    assert metrics["seconds"] <= 15 * 60
