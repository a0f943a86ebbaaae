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
    encoder = tf.saved_model.load(str(out / "encoder"))
    features = encoder.serve(tf.constant(load_dataset("digits").images[:3])).numpy()
    assert features.shape == (3, 8) and np.all(np.isfinite(features))


@pytest.mark.parametrize("argv,message", [
    (["--fractions", "0"], "--fractions"),
    (["--fractions", "0.001"], "fewer than the 10 classes"),
    (["--seeds", "0"], "--seeds"),
    (["--latent-dim", "0"], "--latent-dim"),
    (["--test-fraction", "1.5"], "--test-fraction"),
])
def test_bad_input_is_one_line_error_and_no_output(argv, message, tmp_path, capsys):
    out = tmp_path / "finetune"
    assert main(["finetune", "--data", "digits", "--out", str(out), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
