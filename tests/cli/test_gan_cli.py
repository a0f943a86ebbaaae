"""`tfunsup gan` end to end on a small budget, through the console entry point."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tfunsup.cli import main
from tfunsup.data import load_dataset

SMALL_BUDGET = ["--data", "digits", "--epochs", "2", "--width", "4", "--latent-dim", "8",
                "--batch-size", "32", "--n-samples", "300", "--quiet"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, saved_models_dir):
    out = tmp_path_factory.mktemp("gan") / "run"
    assert main(["gan", "--out", str(out), *SMALL_BUDGET]) == 0
    return out


def test_small_run_writes_metrics_plots_and_generator(small_run):
    assert sorted(p.name for p in small_run.iterdir()) == [
        "generator", "losses.png", "metrics.json", "samples.png"]
    assert not small_run.with_name("run.backup").exists()  # removed once training completes
    metrics = json.loads((small_run / "metrics.json").read_text())
    assert {"fid", "kid", "inception_score", "real_inception_score", "epochs",
            "seconds"} <= set(metrics)
    assert metrics["epochs"] == 2 and metrics["n_samples"] == 300
    assert metrics["real_inception_score"] > 2 * metrics["noise"]["inception_score"]
    assert sum(metrics["class_fractions"]) == pytest.approx(1.0)
    assert metrics["seconds"] >= metrics["train_seconds"] > 0
    # the default is cluster-conditioned; labels only score the pseudo-labels
    assert metrics["n_clusters"] == 50 and metrics["cluster_backbone"] == "pixels"
    assert 0.5 < metrics["pseudo_labels"]["purity"] <= 1.0
    assert {"fake_median", "train_median", "ratio", "fake_below_half",
            "train_below_half"} <= set(metrics["nearest_neighbor"])


def test_reported_scores_are_those_of_the_exported_generator(small_run):
    """The FID / KID / Inception Score in metrics.json are reproduced from the
    run's own artifacts: the exported generator's samples of the same latents
    against the same real subset (a two-epoch toy GAN, so no quality bar)."""
    from tfunsup.gan import sample_latents
    from tfunsup.metrics.generative import (
        generative_scores,
        load_classifier,
        load_feature_extractor,
    )

    metrics = json.loads((small_run / "metrics.json").read_text())
    images = load_dataset("digits").images
    n, seed = metrics["n_samples"], metrics["seed"]
    generator = tf.saved_model.load(str(small_run / "generator"))
    fake = generator.serve(sample_latents(n, metrics["latent_dim"], seed + 1)).numpy()
    real = images[np.random.default_rng(seed).permutation(len(images))[:n]]
    scores = generative_scores(real, fake, feature_extractor=load_feature_extractor(),
                               classifier=load_classifier(), seed=seed)
    assert scores["fid"] == pytest.approx(metrics["fid"], rel=1e-3, abs=1e-3)
    assert scores["kid"] == pytest.approx(metrics["kid"], rel=1e-3, abs=1e-4)
    assert scores["inception_score"] == pytest.approx(metrics["inception_score"], rel=1e-3)


def test_unconditional_run(tmp_path):
    out = tmp_path / "run"
    argv = ["gan", "--out", str(out), *SMALL_BUDGET, "--epochs", "1", "--n-clusters", "0"]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_clusters"] == 0 and metrics["pseudo_labels"] is None
    loaded = tf.saved_model.load(str(out / "generator"))
    assert loaded.serve(np.zeros((2, 8), np.float32)).shape == (2, 8, 8, 1)


def test_exported_generator_maps_latents_to_images(small_run):
    loaded = tf.saved_model.load(str(small_run / "generator"))
    latents = np.random.default_rng(0).standard_normal((5, 8)).astype("float32")
    images = loaded.serve(latents).numpy()
    assert images.shape == (5, 8, 8, 1)
    assert images.min() >= 0.0 and images.max() <= 1.0


@pytest.fixture(scope="module")
def bad_npz(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    images = load_dataset("digits").images[:100]
    np.savez(folder / "pixels_255.npz", x=images * 255.0)
    np.savez(folder / "flat.npz", x=images.reshape(100, -1))
    return folder


@pytest.mark.parametrize("argv, message", [
    (["--latent-dim", "0"], "--latent-dim >= 1. Received: --latent-dim=0"),
    (["--epochs", "0"], "--epochs >= 1"),
    (["--batch-size", "2000"], "batch_size <= the number of images (1797)"),
    (["--loss", "wgan-gp", "--batch-size", "400"], "x n_critic=5"),
    (["--data", "{d}/pixels_255.npz"], "[0, 1]"),
    (["--data", "{d}/flat.npz"], "rank 4"),
    (["--augment", "color"], "augment='color'"),
    (["--n-clusters", "1"], "--n-clusters 0 (unconditional) or >= 2"),
    (["--n-clusters", "2000"], "--n-clusters <= the number of images (1797)"),
])
def test_bad_input_one_line_error_before_training(argv, message, bad_npz, tmp_path, one_line_error):
    out = tmp_path / "out"
    argv = [a.format(d=bad_npz) for a in argv]
    assert main(["gan", "--out", str(out), *SMALL_BUDGET, *argv]) == 2
    assert message in one_line_error()
    assert [p.name for p in tmp_path.iterdir()] == []  # no output, no backup


def test_refuses_to_overwrite(small_run, one_line_error):
    before = (small_run / "metrics.json").read_text()
    assert main(["gan", "--out", str(small_run), *SMALL_BUDGET]) == 2
    assert "--overwrite" in one_line_error()
    assert (small_run / "metrics.json").read_text() == before
