"""Which MobileNetV2 layers and input size give the best one-class features
on tiny photos (CIFAR-10 test), for the Gaussian (Mahalanobis) detector.

For each --sizes entry, one pass of the 10,000 CIFAR-10 test JPEGs through
tfunsup's pipeline extracts the globally average-pooled outputs of five
MobileNetV2-1.0 layers (`truncated_backbone` with several layers: each pooled
output L2-normalised, concatenated; `flip_averaged`). Each layer alone, and
the concatenation of block_14_add, block_15_add and block_16_project_BN (the
`--layer auto` choice for tiny photos), is then scored with
`GaussianAnomalyDetector.fit_features` / `score_features` under the README's
one-class protocol (`one_class_split(..., anomalies="all")`): mean ROC-AUC
over the ten classes, for each split seed in --seeds.

    python benchmarks/bench_anomaly_layers.py --sizes 144 224 --seeds 0

Labels are used only to split and score.
"""

import argparse
import json
import time

import numpy as np

LAYERS = ("block_13_expand_relu", "block_14_add", "block_15_add", "block_16_project_BN",
          "out_relu")
COMBINED = ("block_14_add", "block_15_add", "block_16_project_BN")


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="default: <TFUNSUP_DATA_DIR>/cifar10-test")
    parser.add_argument("--sizes", type=int, nargs="+", default=[144, 224])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()

    from tfunsup.anomaly import GaussianAnomalyDetector, anomaly_metrics, one_class_split
    from tfunsup.anomaly.feature_anomaly_detector import truncated_backbone
    from tfunsup.backbones import flip_averaged, load_backbone
    from tfunsup.data import load_dataset
    from tfunsup.data.features import extract_features
    from tfunsup.data.shared import data_path

    data = load_dataset(args.data or str(data_path("cifar10-test")), image_size=(32, 32))
    rows = {}
    for size in args.sizes:
        backbone = load_backbone("keras:MobileNetV2", image_size=(size, size))
        model = flip_averaged(truncated_backbone(backbone, LAYERS))
        start = time.perf_counter()
        extracted = extract_features(model, data)
        seconds = time.perf_counter() - start
        labels = data.labels[extracted.index]
        widths = [truncated_backbone(backbone, n).output.shape[-1] for n in LAYERS]
        edges = np.cumsum([0] + widths)
        slices = {n: _unit(extracted.features[:, a:b]) for n, a, b in
                  zip(LAYERS, edges[:-1], edges[1:])}
        candidates = {n: slices[n] for n in LAYERS}
        candidates["+".join(COMBINED)] = _unit(np.concatenate([slices[n] for n in COMBINED], 1))
        for name, features in candidates.items():
            aucs = []
            for seed in args.seeds:
                per_class = []
                for c in np.unique(labels):
                    train, test = one_class_split(labels, c, 0.8, seed, anomalies="all")
                    detector = GaussianAnomalyDetector().fit_features(features[train])
                    per_class.append(anomaly_metrics(labels[test] != c,
                                                     detector.score_features(features[test]))
                                     ["roc_auc"])
                aucs.append(float(np.mean(per_class)))
            rows.setdefault(name, {})[size] = (float(np.mean(aucs)), float(np.std(aucs)))
            print(json.dumps({"size": size, "features": name, "mean_auc": aucs,
                              "extract_seconds": round(seconds, 1)}), flush=True)
    print("| layer (pooled) | " + " | ".join(f"{s} px" for s in args.sizes) + " |")
    print("|---|" + "---|" * len(args.sizes))
    for name, by_size in rows.items():
        cells = [f"{by_size[s][0]:.3f}" + (f" ± {by_size[s][1]:.3f}" if len(args.seeds) > 1 else "")
                 for s in args.sizes]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
