"""How many clusters does a density-based count see in the UMAP embedding?

An alternative to `--n-clusters auto` (the eigengap) that was measured and
not adopted: HDBSCAN (Campello, Moulavi & Sander 2013; scikit-learn's
`HDBSCAN`) on the same UMAP embedding `tfunsup cluster` clusters, counting
its clusters under the excess-of-mass selection (HDBSCAN's default) and
under leaf selection, for minimum cluster sizes given as shares of the items.
Reads the `features.npz` a `tfunsup cluster --out DIR` run writes; no labels.

    python benchmarks/bench_n_clusters_density.py runs/digits/features.npz \
        runs/coil/features.npz runs/cifar/features.npz
"""

import argparse
import warnings

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features", nargs="+", help="features.npz files from tfunsup cluster")
    parser.add_argument("--dims", type=int, nargs="+", default=[10])
    parser.add_argument("--shares", type=float, nargs="+", default=[0.005, 0.01, 0.02])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from sklearn.cluster import HDBSCAN

    from tfunsup.cluster.graph import l2_normalize, umap_embedding

    for path in args.features:
        features = l2_normalize(np.load(path)["features"]).astype(np.float32)
        n = len(features)
        for dim in args.dims:
            embedding = umap_embedding(features, dim, n_neighbors=30, seed=args.seed)
            for selection in ("eom", "leaf"):
                for share in args.shares:
                    size = max(5, int(share * n))
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", FutureWarning)
                        labels = HDBSCAN(min_cluster_size=size,
                                         cluster_selection_method=selection).fit(embedding).labels_
                    print(f"{path}  n={n}  umap_dim={dim}  {selection:4s}  "
                          f"min_cluster_size={size} ({share:.3f} n)  "
                          f"clusters={labels.max() + 1}  noise={np.mean(labels < 0):.2f}",
                          flush=True)


if __name__ == "__main__":
    main()
