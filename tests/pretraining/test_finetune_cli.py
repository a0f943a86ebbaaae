import json

import numpy as np
import pytest
import tensorflow as tf

from tfunsup.cli import main
from tfunsup.data import load_dataset


def test_small_run_writes_table_figure_and_encoder(tmp_path):
    out = tmp_path / "finetune"
    code = main(["finetune", "--data", "digits", "--pretrain-epochs", "1",
                 "--latent-dim", "8", "--fractions", "0.1", "--seeds", "1",
                 "--head-steps", "3", "--fine-tune-steps", "2", "--quiet", "--out", str(out)])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    rows = metrics["label_efficiency"]
    assert [(r["fraction"], r["method"]) for r in rows] == [(0.1, "pretrained"),
                                                            (0.1, "scratch")]
    assert set(rows[0]) == {"fraction", "method", "mean_acc", "std_acc", "seeds"}
    assert (out / "label_efficiency.png").stat().st_size > 1000
    rows = (out / "predictions.csv").read_text().splitlines()
    assert rows[0] == "id,label,pretrained@10%/seed0,scratch@10%/seed0"
    assert len(rows) == 1 + metrics["n_test"]
    encoder = tf.saved_model.load(str(out / "encoder"))
    features = encoder.serve(tf.constant(load_dataset("digits").images[:3])).numpy()
    assert features.shape == (3, 8) and np.all(np.isfinite(features))


@pytest.mark.parametrize("argv,message", [
    (["--fractions", "0"], "--fractions"),
    (["--fractions", "0.001"], "fewer than the 10 classes"),
    (["--seeds", "0"], "--seeds"),
    (["--latent-dim", "0"], "--latent-dim"),
    (["--test-fraction", "1.5"], "--test-fraction"),
    (["--setfit-iterations", "-1"], "--setfit-iterations"),
    (["--self-training-threshold", "0"], "--self-training-threshold"),
    (["--self-training-rounds", "0"], "--self-training-rounds"),
    (["--setfit-iterations", "2"], "text data only"),
    (["--scratch-same-architecture"], "text data only"),
    (["--self-training-threshold", "0.8"], "text data only"),
])
def test_bad_input_is_one_line_error_and_no_output(argv, message, tmp_path, capsys):
    out = tmp_path / "finetune"
    assert main(["finetune", "--data", "digits", "--out", str(out), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_text_run_with_simcse_setfit_and_self_training_writes_table_figure_and_predictions(
        tiny_text_preset, sentiment_texts, tmp_path):
    texts, labels = sentiment_texts(60, seed=0)
    names = np.array(["fresh", "rotten", "plot"])
    labels = np.where(np.arange(60) % 5 == 4, 2, labels)  # a third class, filtered out
    table = tmp_path / "reviews.csv"
    table.write_text("category,text\n" + "".join(
        f"{names[y]},{t}\n" for t, y in zip(texts, labels)))
    out = tmp_path / "finetune"
    code = main(["finetune", "--data", str(table), "--backbone", str(tiny_text_preset),
                 "--sequence-length", "16", "--classes", "fresh", "rotten",
                 "--fractions", "0.5", "--seeds", "1", "--head-steps", "4",
                 "--adapt", "simcse", "--adapt-max-texts", "16", "--adapt-learning-rate",
                 "1e-3", "--setfit-iterations", "1", "--self-training-threshold", "0.5",
                 "--batch-size", "8", "--cache-dir", str(tmp_path / "cache"),
                 "--quiet", "--out", str(out)])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["modality"] == "text" and metrics["class_names"] == ["fresh", "rotten"]
    assert metrics["n_train"] + metrics["n_test"] == 48 and metrics["fine_tune_steps"] == 0
    assert metrics["adapt"] == "simcse" and metrics["adapt_texts"] == 16
    assert metrics["setfit_iterations"] == 1 and metrics["self_training_threshold"] == 0.5
    methods = ["pretrained", "pretrained + self-training", "SetFit", "SetFit + self-training",
               "scratch", "scratch + self-training"]
    assert [(r["fraction"], r["method"]) for r in metrics["label_efficiency"]] == [
        (0.5, m) for m in methods]
    assert (out / "label_efficiency.png").stat().st_size > 1000
    rows = (out / "predictions.csv").read_text().splitlines()
    assert rows[0] == "id,label," + ",".join(f"{m}@50%/seed0" for m in methods)
    assert len(rows) == 1 + metrics["n_test"]
    test_rows = [row.split(",") for row in rows[1:]]
    assert {r[1] for r in test_rows} <= {"fresh", "rotten"}
    assert all(labels[int(r[0])] < 2 for r in test_rows)  # ids are the table's data rows
    accuracy = np.mean([r[1] == r[2] for r in test_rows])
    assert accuracy == pytest.approx(metrics["runs"][0]["acc"])


def test_text_run_rejects_unknown_classes(tiny_text_preset, tmp_path, capsys):
    table = tmp_path / "reviews.csv"
    table.write_text("category,text\nfresh,good movie\nrotten,bad film\n")
    out = tmp_path / "finetune"
    assert main(["finetune", "--data", str(table), "--backbone", str(tiny_text_preset),
                 "--classes", "fresh", "great", "--out", str(out)]) == 2
    assert ("--classes: Expected classes among the data's classes ['fresh', 'rotten']. "
            "Received: classes=['fresh', 'great'] (unknown: ['great'])"
            in capsys.readouterr().err)
    assert not out.exists()
