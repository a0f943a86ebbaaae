"""`tfunsup deepcluster`: cluster images with no labels and no pretrained
network (autoencoder + UMAP/GMM or DEC)."""

import csv
import time

from tfunsup.cli.common import (
    add_common_arguments,
    check_positive,
    print_table,
    write_json,
)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "deepcluster", help="fully unsupervised deep clustering (autoencoder + UMAP/GMM or DEC)",
        description="Train an autoencoder on the unlabeled images (with random rotations "
                    "and shifts), then cluster its codes with UMAP + a Gaussian mixture "
                    "(N2D) or refine them with DEC self-training. No labels and no "
                    "pretrained network are used; labels, when the data has them, only "
                    "score the result. Default: MNIST-test (10,000 digits).")
    parser.add_argument("--data", default="mnist-test",
                        help="dataset name (mnist-test, usps, usps-test, mnist-5k, ...), "
                             "image folder or .npz (default: mnist-test)")
    parser.add_argument("--split", choices=["train", "test", "all"], default="train",
                        help="split for usps and keras.datasets names (default: train)")
    parser.add_argument("--n-clusters", type=int, default=10)
    parser.add_argument("--encoder", choices=["dense", "conv"], default="dense")
    parser.add_argument("--latent-dim", type=int, default=10)
    parser.add_argument("--refine", choices=["umap-gmm", "dec", "kmeans"], default="umap-gmm")
    parser.add_argument("--pretrain-epochs", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--max-rotation", type=float, default=10.0,
                        help="random rotation in degrees while training, 0 for none "
                             "(default: 10)")
    parser.add_argument("--max-shift", type=float, default=0.1,
                        help="random shift as a fraction of the size, 0 for none "
                             "(default: 0.1)")
    parser.add_argument("--n-neighbors", type=int, default=20, help="UMAP n_neighbors")
    parser.add_argument("--n-init", type=int, default=10,
                        help="Gaussian-mixture / k-means restarts (default: 10)")
    parser.add_argument("--dec-steps", type=int, default=4000, help="most DEC steps")
    parser.add_argument("--reconstruction-weight", type=float, default=0.0,
                        help="IDEC reconstruction weight in DEC (default: 0, plain DEC)")
    parser.add_argument("--export", action="store_true",
                        help="also write the encoder (and DEC clustering) SavedModels")
    add_common_arguments(parser, "runs/deepcluster")
    for action in parser._actions:  # N2D / DEC train with batches of 256
        if action.dest == "batch_size":
            action.default, action.help = 256, "batch size (default: 256)"
    parser.set_defaults(run=run)


def _check_arguments(args):
    from tfunsup.utils.run_directory import check_output_dir

    check_output_dir(args.out, args.overwrite)
    for name in ("latent_dim", "batch_size", "n_neighbors", "n_init"):
        check_positive("--" + name.replace("_", "-"), getattr(args, name))
    if args.n_clusters < 2:
        raise ValueError(f"Expected --n-clusters >= 2. Received: --n-clusters={args.n_clusters}")
    if args.pretrain_epochs < 0:
        raise ValueError(
            f"Expected --pretrain-epochs >= 0. Received: --pretrain-epochs={args.pretrain_epochs}")


def run(args):
    start, cpu_start = time.perf_counter(), time.process_time()
    _check_arguments(args)
    from tfunsup.cluster.deep_clustering import DeepClustering
    from tfunsup.data import check_n_clusters, load_dataset

    data = load_dataset(args.data, split=args.split)
    check_n_clusters(args.n_clusters, len(data))
    estimator = DeepClustering(
        args.n_clusters, encoder=args.encoder, latent_dim=args.latent_dim,
        pretrain_epochs=args.pretrain_epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, max_rotation=args.max_rotation,
        max_shift=args.max_shift, refine=args.refine, n_neighbors=args.n_neighbors,
        n_init=args.n_init,
        dec_steps=args.dec_steps, reconstruction_weight=args.reconstruction_weight,
        seed=args.seed, verbose=0 if args.quiet else 1)
    estimator.check_params(len(data))  # every bad argument fails before training
    from sklearn.cluster import KMeans

    from tfunsup.metrics import clustering_scores
    from tfunsup.utils.plots import save_cluster_montage
    from tfunsup.utils.run_directory import RunDirectory

    estimator.fit(data.images)  # no labels: they only score below
    metrics = {
        "dataset": args.data, "split": args.split, "n_samples": len(data),
        "image_shape": list(data.images.shape[1:]), "n_clusters": args.n_clusters,
        "encoder": args.encoder, "latent_dim": args.latent_dim, "refine": args.refine,
        "pretrain_epochs": args.pretrain_epochs, "max_rotation": args.max_rotation,
        "max_shift": args.max_shift, "seed": args.seed,
        "acc": None, "nmi": None, "ari": None,
        "baseline": {"method": "k-means on raw pixels", "acc": None, "nmi": None, "ari": None},
        "pretrain_loss": estimator.history_["loss"][-1] if estimator.history_["loss"] else None,
        "timings": estimator.timings_,
    }
    if data.labels is not None:
        metrics.update(clustering_scores(data.labels, estimator.labels_))
        flat = data.images.reshape(len(data), -1)
        baseline = KMeans(args.n_clusters, n_init=3, random_state=args.seed).fit_predict(flat)
        metrics["baseline"].update(clustering_scores(data.labels, baseline))

    with RunDirectory(args.out, overwrite=args.overwrite) as out:
        with open(out.path / "assignments.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["index", "cluster"] + (["label"] if data.labels is not None else []))
            for i, cluster in enumerate(estimator.labels_):
                writer.writerow([i, int(cluster)] + (
                    [int(data.labels[i])] if data.labels is not None else []))
        save_cluster_montage(data.images, estimator.labels_, out.path / "clusters.png")
        if args.export:
            estimator.export(out.path)
        metrics["seconds"] = time.perf_counter() - start
        # CPU time of all threads: a contended machine stretches the wall time.
        metrics["cpu_seconds"] = time.process_time() - cpu_start
        write_json(out.path / "metrics.json", metrics)

    if data.labels is not None:
        print_table([[f"{args.encoder} autoencoder + {args.refine}", metrics["acc"],
                      metrics["nmi"], metrics["ari"]],
                     [metrics["baseline"]["method"], metrics["baseline"]["acc"],
                      metrics["baseline"]["nmi"], metrics["baseline"]["ari"]]],
                    ["method", "ACC", "NMI", "ARI"])
    print(f"wrote {args.out}/ in {metrics['seconds']:.1f} s")
    return 0
