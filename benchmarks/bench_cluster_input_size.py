"""Input size of the default ImageNet backbone for tiny photos (CIFAR-10 test).

For each --sizes entry, extracts flip-averaged MobileNetV2-1.0 features of the
10,000 CIFAR-10 test JPEGs through tfunsup's pipeline (`load_backbone`,
`flip_averaged`, `extract_features`), then reports, with labels used ONLY to
score: the share of same-class items among each item's 10 nearest neighbours
(cosine), k-means ACC / NMI on the L2-normalised features, and ACC / NMI of
K-means on a UMAP embedding (tfunsup's default clustering) as mean ± std
over --seeds.

    python benchmarks/bench_cluster_input_size.py --sizes 144 224 --seeds 0 1 2

Sizes Keras has MobileNetV2 weights for (96, 128, 160, 192) download those
weights, so offline only the other sizes run.
"""

import argparse
import json
import time

import numpy as np


def neighbour_purity(features, labels, k=10, block=2048):
    """Share of same-label items among each item's k nearest neighbours (cosine)."""
    x = features / np.linalg.norm(features, axis=1, keepdims=True)
    hits = 0
    for start in range(0, len(x), block):
        similarity = x[start:start + block] @ x.T
        rows = np.arange(similarity.shape[0])
        similarity[rows, start + rows] = -np.inf
        nearest = np.argpartition(-similarity, k, axis=1)[:, :k]
        hits += int((labels[nearest] == labels[start:start + block, None]).sum())
    return hits / (len(x) * k)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="default: <TFUNSUP_DATA_DIR>/cifar10-test")
    parser.add_argument("--sizes", type=int, nargs="+", default=[144, 224])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    from tfunsup.backbones import flip_averaged, load_backbone
    from tfunsup.cluster.graph import kmeans_labels, l2_normalize, umap_embedding
    from tfunsup.data import load_dataset
    from tfunsup.data.features import extract_features
    from tfunsup.data.shared import data_path
    from tfunsup.metrics import clustering_scores

    data = load_dataset(args.data or str(data_path("cifar10-test")))
    labels = data.labels
    n_clusters = len(np.unique(labels))
    rows = []
    for size in args.sizes:
        backbone = flip_averaged(load_backbone("keras:MobileNetV2", image_size=(size, size)))
        start = time.perf_counter()
        features = extract_features(backbone, data).features
        seconds = time.perf_counter() - start
        x = l2_normalize(features)
        kmeans = clustering_scores(labels, kmeans_labels(x, n_clusters, seed=0))
        umap = np.array([[clustering_scores(labels, kmeans_labels(
            umap_embedding(x, n_clusters, n_neighbors=30, seed=seed), n_clusters,
            seed=seed))[key] for key in ("acc", "nmi")] for seed in args.seeds])
        row = dict(size=size, extract_seconds=round(seconds, 1),
                   purity10=round(neighbour_purity(x, labels), 4),
                   kmeans_acc=kmeans["acc"], kmeans_nmi=round(kmeans["nmi"], 4),
                   umap_acc_mean=round(float(umap[:, 0].mean()), 4),
                   umap_acc_std=round(float(umap[:, 0].std()), 4),
                   umap_nmi_mean=round(float(umap[:, 1].mean()), 4))
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("| input | 10-NN purity | k-means ACC / NMI | UMAP + k-means ACC (mean ± std) / NMI |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['size']} | {r['purity10']:.3f} | {r['kmeans_acc']:.3f} / {r['kmeans_nmi']:.3f} "
              f"| {r['umap_acc_mean']:.3f} ± {r['umap_acc_std']:.3f} / {r['umap_nmi_mean']:.3f} |")


if __name__ == "__main__":
    main()
