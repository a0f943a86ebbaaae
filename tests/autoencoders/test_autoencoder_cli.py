import json

import numpy as np
import pytest
import tensorflow as tf

from tfunsup.cli import main
from tfunsup.data import load_dataset


def test_small_run_writes_metrics_figure_and_savedmodels(tmp_path):
    out = tmp_path / "ae"
    code = main(["autoencoder", "--data", "digits", "--architecture", "dense", "--epochs", "1",
                 "--latent-dim", "5", "--quiet", "--out", str(out)])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["reconstruction_mse"] > 0
    assert set(metrics["kmeans"]) == {"acc", "nmi", "ari"}
    # The baseline is what it says: scikit-learn k-means (seed 0) on the raw pixels.
    from sklearn.cluster import KMeans

    from tfunsup.metrics import clustering_scores

    digits = load_dataset("digits")
    pixels = digits.images.reshape(len(digits), -1)
    expected = clustering_scores(digits.labels,
                                 KMeans(10, n_init=10, random_state=0).fit_predict(pixels))
    for name in ("acc", "nmi", "ari"):
        assert metrics["baseline"][name] == pytest.approx(expected[name], abs=1e-9)
    assert (out / "reconstructions.png").stat().st_size > 1000
    encoder = tf.saved_model.load(str(out / "encoder"))
    codes = encoder.serve(tf.constant(load_dataset("digits").images[:4])).numpy()
    assert codes.shape == (4, 5) and np.all(np.isfinite(codes))
    assert not (tmp_path / "ae.backup").exists()
    # Nothing the user saved is overwritten without --overwrite.
    assert main(["autoencoder", "--data", "digits", "--out", str(out)]) == 2


@pytest.mark.parametrize("argv,message", [
    (["--latent-dim", "0"], "--latent-dim"),
    (["--epochs", "0"], "--epochs"),
    (["--noise-stddev", "-1"], "--noise-stddev"),
    (["--held-out-fraction", "0.9"], "--held-out-fraction"),
    (["--n-clusters", "1"], "--n-clusters"),
    (["--data", "no_such_dataset"], "Unknown dataset"),
])
def test_bad_input_is_one_line_error_and_no_output(argv, message, tmp_path, capsys):
    out = tmp_path / "ae"
    assert main(["autoencoder", "--data", "digits", "--out", str(out), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
