"""`tfunsup adapt` end to end, through the console entry point."""

import csv
import json

import numpy as np
import pytest

from tfunsup.cli import main
from tfunsup.data import load_dataset

SMALL_BUDGET = ["--epochs", "1", "--adapt-epochs", "1", "--embedding", "pca", "--quiet",
                "--deterministic"]


@pytest.fixture(scope="module")
def npz_domains(tmp_path_factory):
    """Small real slices as .npz: a labeled source, a target, and the same
    target with its labels permuted."""
    folder = tmp_path_factory.mktemp("domains")
    rng = np.random.default_rng(0)
    source, target = load_dataset("mnist-5k"), load_dataset("digits")
    i = rng.permutation(len(source))[:320]
    j = rng.permutation(len(target))[:160]
    np.savez(folder / "source.npz", x=source.images[i], y=source.labels[i])
    np.savez(folder / "target.npz", x=target.images[j], y=target.labels[j])
    np.savez(folder / "target_permuted.npz", x=target.images[j],
             y=rng.permutation(target.labels[j]))
    np.savez(folder / "target_3_classes.npz", x=target.images[j], y=target.labels[j] % 3)
    np.savez(folder / "target_flat.npz", x=target.images[j].reshape(len(j), -1))
    np.savez(folder / "source_unlabeled.npz", x=source.images[i])
    return folder


def _run(folder, target, out):
    return main(["adapt", "--source", str(folder / "source.npz"),
                 "--target", str(folder / target), "--out", str(out), *SMALL_BUDGET])


def _predictions(out):
    with open(out / "predictions.csv") as handle:
        rows = list(csv.DictReader(handle))
    return {key: np.array([int(r[key]) for r in rows]) for key in rows[0]}


@pytest.fixture(scope="module")
def two_runs(npz_domains, tmp_path_factory):
    """The same command and seed twice; the second target has permuted labels."""
    out = tmp_path_factory.mktemp("adapt")
    assert _run(npz_domains, "target.npz", out / "labels") == 0
    assert _run(npz_domains, "target_permuted.npz", out / "permuted") == 0
    return out / "labels", out / "permuted"


def test_small_run_writes_metrics_plot_models_predictions(two_runs):
    out, _ = two_runs
    assert sorted(p.name for p in out.iterdir()) == [
        "features.png", "metrics.json", "models", "predictions.csv"]
    assert sorted(p.name for p in (out / "models").iterdir()) == ["dann", "shot", "source-only"]
    assert all((out / "models" / m / "saved_model.pb").is_file()
               for m in ("dann", "shot", "source-only"))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["source"].endswith("source.npz") and metrics["target"].endswith("target.npz")
    assert set(metrics["results"]) == {"source-only", "dann", "shot"}
    predictions = _predictions(out)
    for method, accuracy in metrics["results"].items():
        assert accuracy == pytest.approx(np.mean(predictions[method] == predictions["label"]))


def test_target_labels_only_score_and_same_seed_gives_same_numbers(two_runs):
    """Permuting the target labels changes nothing the model does: identical
    predictions (hence identical accuracies on the original labels), only
    the scores against the permuted labels differ."""
    labels_run, permuted_run = two_runs
    original, permuted = _predictions(labels_run), _predictions(permuted_run)
    assert not np.array_equal(original["label"], permuted["label"])
    metrics = json.loads((permuted_run / "metrics.json").read_text())
    for method in ("source-only", "dann", "shot"):
        np.testing.assert_array_equal(original[method], permuted[method])
        assert metrics["results"][method] == pytest.approx(
            np.mean(permuted[method] == permuted["label"]))


@pytest.mark.parametrize("argv, message", [
    (["--target", "{d}/target_3_classes.npz"], "same classes. Received: 10 classes"),
    (["--target", "{d}/target_flat.npz"], "rank 4"),
    (["--source", "{d}/source_unlabeled.npz"], "Expected a labeled --source"),
    (["--epochs", "0"], "--epochs >= 1"),
    (["--target", "nope"], "Unknown dataset 'nope'"),
    (["--backbone", "small_cnn,width=0"], "Received: backbone='small_cnn,width=0'"),
    (["--ema-momentum", "1.5"], "Received: --ema-momentum=1.5"),
    (["--ensemble", "0"], "Received: --ensemble=0"),
])
def test_bad_input_one_line_error_no_output(argv, message, npz_domains, tmp_path, one_line_error):
    out = tmp_path / "out"
    argv = [a.format(d=npz_domains) for a in argv]
    assert main(["adapt", "--out", str(out), "--quiet", *argv]) == 2
    assert message in one_line_error()
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_refuses_to_overwrite(two_runs, npz_domains, one_line_error):
    out, _ = two_runs
    before = (out / "metrics.json").read_text()
    assert _run(npz_domains, "target.npz", out) == 2
    assert "--overwrite" in one_line_error()
    assert (out / "metrics.json").read_text() == before


@pytest.fixture(scope="module")
def usps_pair(shared_data, tmp_path_factory):
    """Small real slices of the standard pair: MNIST (test split) as the
    labeled source, USPS train as the target, USPS test as its held-out split."""
    shared_data("mnist-test")
    shared_data("usps")
    folder = tmp_path_factory.mktemp("usps_pair")
    rng = np.random.default_rng(0)
    mnist, usps, usps_test = (load_dataset(n) for n in ("mnist-test", "usps", "usps-test"))
    assert (mnist.images.shape, usps.images.shape, usps_test.images.shape) == (
        (10000, 28, 28, 1), (7291, 16, 16, 1), (2007, 16, 16, 1))
    i, j, k = (rng.permutation(len(d))[:n] for d, n in ((mnist, 320), (usps, 160),
                                                          (usps_test, 100)))
    np.savez(folder / "mnist.npz", x=mnist.images[i], y=mnist.labels[i])
    np.savez(folder / "usps.npz", x=usps.images[j], y=usps.labels[j])
    np.savez(folder / "usps_test.npz", x=usps_test.images[k], y=usps_test.labels[k])
    np.savez(folder / "usps_test_unlabeled.npz", x=usps_test.images[k])
    return folder


def test_mnist_to_usps_scores_the_held_out_target_split(usps_pair, tmp_path):
    out = tmp_path / "m2u"
    assert main(["adapt", "--source", str(usps_pair / "mnist.npz"), "--target",
                 str(usps_pair / "usps.npz"), "--target-test", str(usps_pair / "usps_test.npz"),
                 "--class-prior", "estimated", "--out", str(out), *SMALL_BUDGET]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n_target"], metrics["n_target_test"]) == (160, 100)
    assert metrics["class_prior"] == "estimated"
    assert len(metrics["shot_class_prior"]) == 10
    assert sum(metrics["shot_class_prior"]) == pytest.approx(1.0, abs=1e-3)
    assert set(metrics["test_results"]) == {"source-only", "dann", "shot"}
    # The exported SHOT model (16x16 input) gives the reported test accuracy.
    import tensorflow as tf

    test = np.load(usps_pair / "usps_test.npz")
    reloaded = tf.saved_model.load(str(out / "models" / "shot"))
    served = reloaded.serve(tf.constant(test["x"])).numpy().argmax(axis=1)
    assert metrics["test_results"]["shot"] == pytest.approx(np.mean(served == test["y"]))


def test_wide_small_cnn_and_affine_augmentation_reach_the_cli(usps_pair, tmp_path):
    out = tmp_path / "wide"
    assert main(["adapt", "--source", str(usps_pair / "mnist.npz"), "--target",
                 str(usps_pair / "usps.npz"), "--method", "shot",
                 "--backbone", "small_cnn,width=2", "--augment", "affine",
                 "--target-augment", "affine", "--out", str(out), *SMALL_BUDGET]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["backbone"], metrics["augment"], metrics["target_augment"]) == (
        "small_cnn,width=2", "affine", "affine")
    import tensorflow as tf

    # The exported classifier carries the wide CNN: 64 + 128 filters, 256 features.
    reloaded = tf.saved_model.load(str(out / "models" / "shot"))
    shapes = sorted(tuple(v.shape) for v in reloaded.variables)
    assert (3, 3, 1, 64) in shapes and (3, 3, 64, 128) in shapes and (3200, 256) in shapes


def test_ensemble_reaches_the_cli_and_its_export(usps_pair, tmp_path):
    out = tmp_path / "ensemble"
    assert main(["adapt", "--source", str(usps_pair / "mnist.npz"), "--target",
                 str(usps_pair / "usps.npz"), "--target-test", str(usps_pair / "usps_test.npz"),
                 "--method", "shot", "--ensemble", "2", "--out", str(out),
                 *SMALL_BUDGET]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ensemble"] == 2
    assert sum(metrics["shot_class_prior"]) == pytest.approx(1.0, abs=1e-3)
    import tensorflow as tf

    # Each exported model holds both members and gives the reported numbers.
    test, target = np.load(usps_pair / "usps_test.npz"), np.load(usps_pair / "usps.npz")
    predictions = _predictions(out)
    for name in ("source-only", "shot"):
        reloaded = tf.saved_model.load(str(out / "models" / name))
        assert sum(len(v.shape) == 4 for v in reloaded.variables) == 2 * 2  # 2 convs each
        served = reloaded.serve(tf.constant(test["x"])).numpy().argmax(axis=1)
        assert metrics["test_results"][name] == pytest.approx(np.mean(served == test["y"]))
        on_target = reloaded.serve(tf.constant(target["x"])).numpy().argmax(axis=1)
        np.testing.assert_array_equal(on_target, predictions[name])


def test_unlabeled_target_test_is_refused(usps_pair, tmp_path, one_line_error):
    out = tmp_path / "out"
    assert main(["adapt", "--source", str(usps_pair / "mnist.npz"), "--target",
                 str(usps_pair / "usps.npz"), "--target-test",
                 str(usps_pair / "usps_test_unlabeled.npz"), "--out", str(out), "--quiet"]) == 2
    assert "Expected a labeled --target-test" in one_line_error()
    assert not out.exists()


def _write_tone_folder(folder, shift, n=24, rate=8000):
    """Wav files `{class}_{i}.wav` of three tones (shifted by `shift` Hz)."""
    import wave

    folder.mkdir()
    rng = np.random.default_rng(int(shift))
    t = np.arange(rate // 4) / rate
    for i in range(n):
        label = i % 3
        freq = (300.0, 700.0, 1500.0)[label] + shift
        x = 0.4 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.28))
        with wave.open(str(folder / f"{label}_{i}.wav"), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(rate)
            handle.writeframes((x * 32767).astype(np.int16).tobytes())
    (folder / "9_broken.wav").write_bytes(b"RIFF, but not a wav file")
    return folder


def test_recordings_take_the_same_cli(tmp_path):
    """A wav folder per domain, labels from sub-folders, one unreadable file:
    the same command trains an audio network, skips and lists the file, and
    keys the predictions by path."""
    for domain, shift in (("source", 0.0), ("target", 40.0)):
        root = tmp_path / domain
        root.mkdir()
        flat = _write_tone_folder(tmp_path / f"{domain}_flat", shift)
        for path in sorted(flat.glob("*.wav")):
            label = path.name.split("_")[0]
            (root / label).mkdir(exist_ok=True)
            path.rename(root / label / path.name)
    out = tmp_path / "run"
    assert main(["adapt", "--source", str(tmp_path / "source"), "--target",
                 str(tmp_path / "target"), "--out", str(out), "--batch-size", "8",
                 *SMALL_BUDGET]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["skipped"]["target"] == ["9/9_broken.wav"]
    with open(out / "predictions.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 24 and rows[0]["id"] == "0/0_0.wav"
    assert {"index", "id", "label", "source-only", "dann", "shot"} == set(rows[0])
    import tensorflow as tf

    model = tf.saved_model.load(str(out / "models" / "shot"))
    # Folders load at the default 1 s; the export takes 1 s at 8 kHz.
    assert model.serve(tf.zeros((2, 8000))).shape == (2, 3)
    # The image moves of --target-augment are refused before any training.
    refused = tmp_path / "refused"
    assert main(["adapt", "--source", str(tmp_path / "source"), "--target",
                 str(tmp_path / "target"), "--target-augment", "affine",
                 "--out", str(refused), *SMALL_BUDGET]) == 2
    assert not refused.exists()
