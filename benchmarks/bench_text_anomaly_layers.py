"""One-class text detection on MiniLM's inner layers: mean vs [CLS] pooling,
single layers vs several concatenated.

SMS spam (default): ham is normal; each seed trains on 70 % of ham
(`tfunsup.anomaly.one_class_split(..., anomalies="all")`, the split of
`tfunsup anomaly --data text/sms_spam.tsv --train-fraction 0.7 --seed S`) and
scores the rest of ham plus all spam. AG News (`--dataset ag_news`, the
4,000-text test subset): each topic in turn is normal (80 % trains), the
other topics are the anomalies, ROC-AUC averaged over the four topics: a
check of the choice made on SMS on a different kind of anomaly (new topics
rather than a different surface form).

Features: `tfunsup.backbones.text_encoder.truncated_text_encoder` on
all-MiniLM-L6-v2 with every level (the embedding output
`embeddings_layer_norm`, "layer 0", and the six transformer layers, "layers
1-6"; layer 6 is the encoder's last), pooled by the masked mean over the
real tokens or by the first ([CLS]) token's state, each level L2-normalised;
one pass per pooling, cached in --cache-dir (`encode_texts`). A set of
levels is the concatenation of their blocks (Rippel et al.'s multi-level
features, ICPR 2020), scored by `tfunsup.anomaly.GaussianAnomalyDetector`
(Ledoit-Wolf Mahalanobis) and `KNNAnomalyDetector` (k = 5) through
`fit_features` / `score_features`. ROC-AUC mean ± std over the seeds.

    TFUNSUP_DATA_DIR=../shared/data PYTHONPATH=. \
        python benchmarks/bench_text_anomaly_layers.py --seeds 0 1 2 3 4
    TFUNSUP_DATA_DIR=../shared/data PYTHONPATH=. \
        python benchmarks/bench_text_anomaly_layers.py --dataset ag_news --seeds 0 \
        --sets mean:6 mean:3 cls:4 cls:1+2+3+4
"""

import argparse
import time

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from tfunsup.anomaly import GaussianAnomalyDetector, KNNAnomalyDetector, one_class_split
from tfunsup.backbones import load_backbone
from tfunsup.backbones.text_encoder import truncated_text_encoder
from tfunsup.data import extract_features
from tfunsup.data.shared import data_path
from tfunsup.data.text import load_text_dataset

LEVELS = ("embeddings_layer_norm",) + tuple(f"transformer_layer_{i}" for i in range(6))
# Level sets scored (0 = embedding output, 1-6 = transformer layers); the
# [CLS] state of level 0 is the same for every text, so [CLS] sets start at 1.
LEVEL_SETS = {
    "mean": [(0,), (1,), (2,), (3,), (4,), (5,), (6,), (1, 2, 3, 4)],
    "cls": [(1,), (2,), (3,), (4,), (5,), (6,), (2, 3), (3, 4), (2, 3, 4), (1, 2, 3),
            (1, 2, 3, 4), (1, 2, 3, 4, 5), (1, 2, 3, 4, 5, 6)],
}


def load(name):
    """`(dataset, normal classes, train fraction)` of the benchmark."""
    if name == "sms":
        data = load_text_dataset(data_path("text", "sms_spam.tsv"))
        return data, [data.class_names.index("ham")], 0.7
    data = load_text_dataset(data_path("text", "ag_news", "test.csv"), label_column=0)
    return data, list(range(len(data.class_names))), 0.8


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["sms", "ag_news"], default="sms")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--sequence-length", type=int, default=256,
                        help="tokens per text (default: 256, tfunsup anomaly's)")
    parser.add_argument("--poolings", nargs="+", choices=["mean", "cls"],
                        default=["mean", "cls"])
    parser.add_argument("--detectors", nargs="+", choices=["gaussian", "knn"],
                        default=["gaussian", "knn"])
    parser.add_argument("--sets", nargs="+", default=None, metavar="POOLING:LEVELS",
                        help="only these level sets, e.g. mean:6 cls:1+2+3+4 (default: all "
                             "of LEVEL_SETS)")
    parser.add_argument("--cache-dir", default="/tmp/text_emb")
    args = parser.parse_args()
    level_sets = LEVEL_SETS
    if args.sets:
        level_sets = {}
        for item in args.sets:
            pooling, levels = item.split(":")
            level_sets.setdefault(pooling, []).append(tuple(int(v) for v in levels.split("+")))
        args.poolings = [p for p in args.poolings if p in level_sets]

    data, normal_classes, train_fraction = load(args.dataset)
    encoder = load_backbone(data_path("text-encoders", "all-MiniLM-L6-v2"),
                            sequence_length=args.sequence_length)
    blocks = {}
    for pooling in args.poolings:
        start = time.perf_counter()
        levels = truncated_text_encoder(encoder, LEVELS, pooling)
        features = extract_features(levels, data, cache_dir=args.cache_dir).features
        blocks[pooling] = features.reshape(len(data), len(LEVELS), -1)
        print(f"{pooling} pooling, {len(LEVELS)} levels: {time.perf_counter() - start:.0f} s "
              "(embedding or reading the cache)", flush=True)
    makers = {"gaussian": GaussianAnomalyDetector,
              "knn": lambda: KNNAnomalyDetector(n_neighbors=args.k)}
    results = {}
    for pooling in args.poolings:
        for level_set in level_sets[pooling]:
            x = blocks[pooling][:, list(level_set)].reshape(len(data), -1)
            for name in args.detectors:
                for seed in args.seeds:
                    aucs, aps = [], []
                    for c in normal_classes:
                        train, test = one_class_split(data.labels, c, train_fraction, seed,
                                                      anomalies="all")
                        truth = data.labels[test] != c
                        score = makers[name]().fit_features(x[train]).score_features(x[test])
                        aucs.append(roc_auc_score(truth, score))
                        aps.append(average_precision_score(truth, score))
                    results.setdefault((pooling, level_set, name), []).append(
                        (np.mean(aucs), np.mean(aps)))
                values = np.asarray(results[(pooling, level_set, name)])
                print(f"{args.dataset} {pooling} levels {'+'.join(map(str, level_set))} {name}: "
                      f"ROC-AUC {values[:, 0].mean():.3f} ± {values[:, 0].std():.3f}, "
                      f"AP {values[:, 1].mean():.3f} ± {values[:, 1].std():.3f} "
                      f"(seeds {' '.join(map(str, args.seeds))}: "
                      f"{' '.join(f'{v:.3f}' for v in values[:, 0])})", flush=True)


if __name__ == "__main__":
    main()
