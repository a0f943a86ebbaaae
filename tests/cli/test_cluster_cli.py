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
        "assignments.csv", "classifier", "clusters.png", "embedding.png", "features.npz",
        "metrics.json"]
    metrics = json.loads((default_run / "metrics.json").read_text())
    for key in ("dataset", "backbone", "backbone_choice", "n_clusters", "n_samples", "acc",
                "nmi", "ari", "baseline", "seconds", "skipped_files"):
        assert key in metrics
    assert metrics["dataset"] == "digits" and metrics["n_samples"] == 1797
    assert "mnist5k_source" in metrics["backbone"] and metrics["skipped_files"] == []
    assert metrics["acc"] >= 0.88
    assert metrics["acc"] >= metrics["baseline"]["acc"] + 0.08
    assert set(metrics["baseline"]) == {"method", "acc", "nmi", "ari"}
    rows = (default_run / "assignments.csv").read_text().splitlines()
    assert rows[0] == "index,cluster,confidence,label" and len(rows) == 1798


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
    (["--restart-tolerance", "-0.5"], "--restart-tolerance >= 0"),
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


def test_empty_folder_and_folder_without_a_readable_image(tmp_path, one_line_error):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["cluster", "--data", str(empty), "--out", str(tmp_path / "o1")]) == 2
    assert "No images found" in one_line_error()
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("x.png", "y.jpg", "z.png"):
        (broken / name).write_bytes(b"garbage")
    assert main(["cluster", "--data", str(broken), "--n-clusters", "2",
                 "--out", str(tmp_path / "o2")]) == 2
    assert "x.png" in one_line_error()
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def _photo_folder(root, corrupt=False):
    """Two sub-folders of small RGB photos of mixed sizes (+ a corrupt file)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, tint in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        (root / label).mkdir(parents=True)
        for i in range(8):
            pixels = rng.integers(0, 40, (30 + i, 40, 3)) + np.array(tint)
            Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(root / label / f"{i}.jpg")
    if corrupt:
        (root / "blue" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    return root


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory):
    """A small SavedModel feature extractor (16x16 RGB -> 8 features)."""
    import keras

    images = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, kernel_initializer=keras.initializers.GlorotUniform(0))(images)
    model = keras.Model(images, keras.layers.GlobalAveragePooling2D()(x))
    path = tmp_path_factory.mktemp("backbone") / "tiny"
    model.export(str(path), verbose=False)
    return path


def test_folder_run_lists_paths_skips_a_corrupt_file_and_reuses_features(tmp_path,
                                                                        tiny_backbone):
    data = _photo_folder(tmp_path / "photos", corrupt=True)
    out = tmp_path / "run"
    argv = ["cluster", "--data", str(data), "--backbone", str(tiny_backbone), "--n-clusters",
            "2", "--head-epochs", "2", "--clustering", "kmeans", "--out", str(out), "--quiet",
            "--export-clusters", "symlink"]
    with pytest.warns(UserWarning, match="broken.jpg"):
        assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["skipped_files"] == ["blue/broken.jpg"]
    assert metrics["n_files"] == 17 and metrics["n_samples"] == 16
    assert metrics["features"] == "extracted" and metrics["acc"] == 1.0
    rows = (out / "assignments.csv").read_text().splitlines()
    assert rows[0] == "path,cluster,confidence,label" and len(rows) == 17
    assert rows[1].startswith("blue/0.jpg,") and rows[1].endswith(",blue")
    links = sorted((out / "clusters").glob("*/*"))
    assert len(links) == 16 and all(p.is_symlink() and p.resolve().is_file() for p in links)
    # A second run into the same folder with K estimated reuses the features
    # and writes the eigengap curve.
    argv[argv.index("--n-clusters") + 1] = "auto"
    assert main(argv[:-2] + ["--head-epochs", "1", "--overwrite"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["features"] == "reused" and metrics["skipped_files"] == ["blue/broken.jpg"]
    assert metrics["n_clusters_auto"] and 2 <= metrics["n_clusters"] <= 14
    assert (out / "n_clusters.png").stat().st_size > 0


def test_strict_fails_before_any_work(tmp_path, tiny_backbone, one_line_error):
    data = _photo_folder(tmp_path / "photos", corrupt=True)
    out = tmp_path / "run"
    assert main(["cluster", "--data", str(data), "--backbone", str(tiny_backbone),
                 "--n-clusters", "2", "--strict", "--out", str(out)]) == 2
    assert "blue/broken.jpg" in one_line_error()
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["photos"]


def test_photos_into_the_digit_model_warn_naming_both(tmp_path, source_model_path):
    data = _photo_folder(tmp_path / "photos")
    with pytest.warns(UserWarning, match=r"mnist5k_source.*expects 28x28 grey.*RGB colour"):
        assert main(["cluster", "--data", str(data), "--backbone", str(source_model_path),
                     "--n-clusters", "2", "--head-epochs", "0", "--out",
                     str(tmp_path / "run"), "--quiet"]) == 0


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


def _topic_folder(root, texts, labels):
    for position, (text, label) in enumerate(zip(texts, labels)):
        folder = root / ("money", "sport")[label]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{position:03d}.txt").write_text(text)
    return root


def test_text_folder_run_writes_text_outputs_and_a_string_classifier(
        string_saved_model, topic_texts, tmp_path):
    import tensorflow as tf

    texts, labels = topic_texts()
    data = _topic_folder(tmp_path / "news", texts, labels)
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert main(["cluster", "--data", str(data), "--backbone", str(string_saved_model),
                 "--n-clusters", "2", "--head-epochs", "3", "--cache-dir", str(cache),
                 "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "assignments.csv", "classifier", "embedding.png", "features.npz", "metrics.json",
        "top_terms.csv", "top_terms.json", "top_terms.png"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["modality"] == "text" and metrics["clustering"] == "kmeans"
    assert metrics["refinement"] is True and metrics["acc"] >= 0.9
    rows = [line.split(",") for line in (out / "assignments.csv").read_text().splitlines()]
    assert rows[0] == ["path", "cluster", "confidence", "label"] and len(rows) == 31
    assert rows[1][0] == str(data / "money" / "000.txt") and rows[1][3] == "money"
    # Each cluster's top terms come from one topic's vocabulary.
    money = {"bank", "market", "shares", "profit", "economy", "rates", "growth", "prices"}
    for terms in metrics["top_terms"].values():
        assert len(set(terms[:3]) & money) in (0, 3), terms
    terms_csv = (out / "top_terms.csv").read_text().splitlines()
    assert terms_csv[0] == "cluster,rank,term,score" and len(terms_csv) > 2
    # The SavedModel takes strings and reproduces the assignments.
    reloaded = tf.saved_model.load(str(out / "classifier"))
    files = [row[0] for row in rows[1:]]
    read = [open(f).read() for f in files]
    predicted = reloaded.serve(tf.constant(read)).numpy().argmax(axis=1)
    np.testing.assert_array_equal(predicted, [int(row[1]) for row in rows[1:]])
    # A second run with another K reads the cached embeddings.
    cached = sorted(cache.iterdir())
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    assert main(["cluster", "--data", str(data), "--backbone", str(string_saved_model),
                 "--n-clusters", "3", "--head-epochs", "0", "--cache-dir", str(cache),
                 "--out", str(tmp_path / "out3"), "--quiet"]) == 0
    assert sorted(cache.iterdir()) == cached and cached[0].stat().st_mtime_ns == stamp
    assert json.loads((tmp_path / "out3" / "metrics.json").read_text())["n_clusters"] == 3


def test_text_table_rows_and_columns(string_saved_model, topic_texts, tmp_path):
    texts, labels = topic_texts()
    table = tmp_path / "messages.csv"
    table.write_text("id,topic,body\n" + "".join(
        f"{i},{('money', 'sport')[label]},{text}\n"
        for i, (text, label) in enumerate(zip(texts, labels))))
    out = tmp_path / "out"
    assert main(["cluster", "--data", str(table), "--text-column", "body", "--label-column",
                 "topic", "--backbone", str(string_saved_model), "--n-clusters", "2",
                 "--head-epochs", "2", "--cache-dir", str(tmp_path / "cache"),
                 "--out", str(out), "--quiet"]) == 0
    rows = (out / "assignments.csv").read_text().splitlines()
    assert rows[0] == "row,cluster,confidence,label" and rows[1].startswith("0,")
    assert json.loads((out / "metrics.json").read_text())["acc"] >= 0.9


@pytest.mark.parametrize("argv, message", [
    (["--image-size", "32", "32"], "--image-size apply to images"),
    (["--text-column", "nope"], "Unknown text_column='nope'"),
    (["--sequence-length", "4"], "--sequence-length >= 8"),
])
def test_text_bad_input_one_line_error_no_output(argv, message, string_saved_model, tmp_path,
                                                 one_line_error):
    table = tmp_path / "t.tsv"
    table.write_text("label\tmsg\n" + "".join(f"a\tword {i}\n" for i in range(6)))
    out = tmp_path / "out"
    assert main(["cluster", "--data", str(table), "--backbone", str(string_saved_model),
                 "--n-clusters", "2", "--out", str(out), "--quiet", *argv]) == 2
    assert message in one_line_error()
    assert not out.exists()
