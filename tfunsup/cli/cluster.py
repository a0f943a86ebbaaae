"""`tfunsup cluster`: transfer a pretrained backbone, cluster unlabeled images,
turn the clusters into a classifier."""

import csv
import time

from tfunsup.cli.common import add_common_arguments, print_table, write_json

DEFAULT_DATA = "digits"


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "cluster", help="cluster unlabeled images with a transferred backbone",
        description="Cluster unlabeled images in a pretrained backbone's feature space "
                    "and train a classifier on the clusters. Default: the MNIST-5k "
                    "source SavedModel (trained when absent) on scikit-learn's digits.")
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help="dataset name, image folder or .npz (default: digits)")
    parser.add_argument("--backbone", default=None,
                        help="TF Hub URL, SavedModel folder or keras:<Application> "
                             "(default: saved_models/mnist5k_source)")
    parser.add_argument("--n-clusters", type=int, default=10)
    parser.add_argument("--image-size", type=int, nargs=2, default=None,
                        metavar=("HEIGHT", "WIDTH"),
                        help="backbone input size (default: the backbone's own)")
    parser.add_argument("--weights", default="imagenet", choices=["imagenet", "none"],
                        help="weights of keras: backbones (default: imagenet)")
    parser.add_argument("--graph-neighbors", type=int, default=10,
                        help="k of the k-NN graph (spectral clustering); 0 for "
                             "K-means on the features (default: 10)")
    parser.add_argument("--head-epochs", type=int, default=15)
    parser.add_argument("--no-fine-tune", action="store_true",
                        help="keep the backbone frozen while training the head")
    parser.add_argument("--embedding", default="pca", choices=["pca", "tsne"])
    add_common_arguments(parser, "runs/cluster")
    parser.set_defaults(run=run)


def _check_arguments(args):
    from tfunsup.utils.run_directory import check_output_dir

    check_output_dir(args.out, args.overwrite)
    if args.n_clusters < 2:
        raise ValueError(f"Expected --n-clusters >= 2. Received: --n-clusters={args.n_clusters}")
    for name in ("batch_size", "head_epochs"):
        if getattr(args, name) < (1 if name == "batch_size" else 0):
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"Expected valid {flag}. Received: {flag}={getattr(args, name)}")


def _resolve_backbone(args):
    """The backbone spec: `--backbone`, else the MNIST-5k source model."""
    if args.backbone is not None:
        return args.backbone
    from tfunsup.source.source_model import default_source_model_path, ensure_source_model

    path = default_source_model_path()
    if not (path / "saved_model.pb").is_file():
        print(f"Training the MNIST-5k source model (absent at {path}) ...", flush=True)
    return str(ensure_source_model(path, verbose=0 if args.quiet else 2))


def run(args):
    start = time.perf_counter()
    _check_arguments(args)
    from tfunsup.backbones import load_backbone  # noqa: F401  (fails early on a bad install)
    from tfunsup.data import check_n_clusters, load_dataset

    data = load_dataset(args.data)
    check_n_clusters(args.n_clusters, len(data))
    spec = _resolve_backbone(args)
    from sklearn.cluster import KMeans

    from tfunsup.cluster import TransferClustering
    from tfunsup.metrics import clustering_scores
    from tfunsup.utils.plots import save_cluster_montage, save_embedding
    from tfunsup.utils.run_directory import RunDirectory

    verbose = 0 if args.quiet else 1
    estimator = TransferClustering(
        spec, args.n_clusters, graph_neighbors=args.graph_neighbors or None,
        head_epochs=args.head_epochs, fine_tune=not args.no_fine_tune,
        batch_size=args.batch_size,
        weights=None if args.weights == "none" else "imagenet",
        image_size=tuple(args.image_size) if args.image_size else None,
        seed=args.seed, verbose=verbose)
    if not args.quiet:
        print(f"Clustering {len(data)} images of '{args.data}' with backbone {spec} ...",
              flush=True)
    estimator.fit(data.images)  # no labels: they only score below
    flat = data.images.reshape(len(data), -1)
    baseline_labels = KMeans(args.n_clusters, n_init=10, random_state=args.seed).fit_predict(flat)

    metrics = {"dataset": args.data, "backbone": str(args.backbone or spec),
               "n_clusters": args.n_clusters, "n_samples": len(data), "seed": args.seed,
               "acc": None, "nmi": None, "ari": None}
    if data.labels is not None:
        metrics.update(clustering_scores(data.labels, estimator.labels_))
        first_labels = (estimator.pseudo_label_history_[0]
                        if estimator.classifier_ is not None else estimator.cluster_labels_)
        metrics["stages"] = {
            "clustering": clustering_scores(data.labels, first_labels),
            "svm": clustering_scores(data.labels, estimator.svm_.predict(
                estimator._embed(estimator.features_))),
            "head": clustering_scores(data.labels, estimator.labels_),
        }
        metrics["baseline"] = {"method": "k-means on raw pixels",
                               **clustering_scores(data.labels, baseline_labels)}
    else:
        metrics["baseline"] = {"method": "k-means on raw pixels",
                               "acc": None, "nmi": None, "ari": None}

    with RunDirectory(args.out, overwrite=args.overwrite) as out:
        with open(out.path / "assignments.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["index", "cluster"] + (["label"] if data.labels is not None else []))
            for i, cluster in enumerate(estimator.labels_):
                writer.writerow([i, int(cluster)] + (
                    [int(data.labels[i])] if data.labels is not None else []))
        save_cluster_montage(data.images, estimator.labels_, out.path / "clusters.png")
        save_embedding(estimator.features_, estimator.labels_, out.path / "embedding.png",
                       method=args.embedding, seed=args.seed)
        if estimator.classifier_ is not None:
            estimator.export(out.path / "classifier")
        metrics["seconds"] = time.perf_counter() - start
        write_json(out.path / "metrics.json", metrics)

    if data.labels is not None:
        print_table([["tfunsup (" + str(args.backbone or "mnist5k_source") + ")",
                      metrics["acc"], metrics["nmi"], metrics["ari"]],
                     [metrics["baseline"]["method"], metrics["baseline"]["acc"],
                      metrics["baseline"]["nmi"], metrics["baseline"]["ari"]]],
                    ["method", "ACC", "NMI", "ARI"])
    print(f"wrote {args.out}/ in {metrics['seconds']:.1f} s")
    return 0
