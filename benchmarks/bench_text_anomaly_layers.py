"""SMS spam one-class detection on MiniLM's inner layers.

The protocol of `bench_text_anomaly.py` (ham as normal, 70 % of ham trains,
the rest of ham and all spam are scored, seeds 0-4), with the features taken
from each of all-MiniLM-L6-v2's six transformer layers instead of its
output: the token states of the layer, mean-pooled over the real tokens and
L2-normalised (`tfunsup.backbones.text_encoder.MaskedPooling`), scored by
`tfunsup.anomaly.KNNAnomalyDetector` (k = 5) and
`tfunsup.anomaly.GaussianAnomalyDetector` (Ledoit-Wolf Mahalanobis). Rippel
et al. (ICPR 2020) fit their Gaussians to inner layers of image networks;
this checks the same idea on a sentence encoder. One pass embeds every layer
(128 tokens, not bucketed) and is cached in --cache-file.

    TFUNSUP_DATA_DIR=/work/shared/data PYTHONPATH=. \
        python benchmarks/bench_text_anomaly_layers.py --seeds 0 1 2 3 4
"""

import argparse
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import roc_auc_score

from tfunsup.anomaly import GaussianAnomalyDetector, KNNAnomalyDetector
from tfunsup.backbones import load_backbone
from tfunsup.backbones.text_encoder import MaskedPooling
from tfunsup.data.shared import data_path
from tfunsup.data.text import load_text_dataset

N_LAYERS = 6


def layer_embeddings(encoder, texts, batch_size=64):
    """`(N_LAYERS, n, dim)` mean-pooled, unit-norm token states per layer."""
    bert = encoder.token_encoder.get_layer("bert_backbone")
    inner = keras.Model(bert.input, [bert.get_layer(f"transformer_layer_{i}").output
                                     for i in range(N_LAYERS)])
    pool = MaskedPooling("mean", normalize=True)
    out = [[] for _ in range(N_LAYERS)]
    for start in range(0, len(texts), batch_size):
        tokens = encoder.preprocessor(tf.constant(texts[start:start + batch_size]))
        states = inner({key: tokens[key] for key in bert.input})
        for layer in range(N_LAYERS):
            out[layer].append(pool(states[layer], tokens["padding_mask"]).numpy())
    return np.stack([np.concatenate(rows) for rows in out])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--cache-file", default="/tmp/text_emb/sms_minilm_layers.npz")
    args = parser.parse_args()

    data = load_text_dataset(data_path("text", "sms_spam.tsv"))
    cache = Path(args.cache_file)
    if cache.is_file():
        layers = np.load(cache)["layers"]
    else:
        encoder = load_backbone(data_path("text-encoders", "all-MiniLM-L6-v2"),
                                sequence_length=128)
        layers = layer_embeddings(encoder, [str(t) for t in data.texts])
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, layers=layers)
    normal = data.class_names.index("ham")
    ham = np.flatnonzero(data.labels == normal)
    spam = np.flatnonzero(data.labels != normal)
    results = {}
    for seed in args.seeds:
        shuffled = np.random.default_rng(seed).permutation(ham)
        n_train = int(0.7 * len(ham))
        train, test = shuffled[:n_train], np.concatenate([shuffled[n_train:], spam])
        is_spam = data.labels[test] != normal
        for layer in range(N_LAYERS):
            x = layers[layer]
            for name, detector in (("kNN", KNNAnomalyDetector(n_neighbors=args.k)),
                                   ("Gaussian", GaussianAnomalyDetector())):
                score = detector.fit_features(x[train]).score_features(x[test])
                results.setdefault((layer + 1, name), []).append(roc_auc_score(is_spam, score))
        print(f"seed {seed}: " + ", ".join(f"layer {layer} {name} {values[-1]:.3f}"
                                          for (layer, name), values in results.items()),
              flush=True)
    for (layer, name), values in results.items():
        print(f"SMS spam MiniLM layer {layer}/{N_LAYERS} {name}: ROC-AUC "
              f"{np.mean(values):.3f} ± {np.std(values):.3f} over {len(args.seeds)} seeds")


if __name__ == "__main__":
    main()
