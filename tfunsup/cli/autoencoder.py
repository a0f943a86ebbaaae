"""`tfunsup autoencoder`: train an autoencoder, reduce images to latent codes,
cluster the codes."""

import time

from tfunsup.cli.common import (
    JIT_CHOICES,
    add_common_arguments,
    add_deterministic_argument,
    add_jit_argument,
    backup_directory,
    check_fraction,
    check_positive,
    print_table,
    shuffled_split,
    write_json,
)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "autoencoder", help="train an autoencoder; latent codes, reconstructions, k-means",
        description="Train a (denoising) autoencoder on unlabeled images, report the "
                    "held-out reconstruction error, cluster the latent codes with k-means "
                    "and export the encoder and decoder SavedModels. Default: a conv "
                    "autoencoder on MNIST-5k.")
    parser.add_argument("--data", default="mnist-5k",
                        help="dataset name, image folder or .npz (default: mnist-5k)")
    parser.add_argument("--architecture", choices=["conv", "dense"], default="conv")
    parser.add_argument("--latent-dim", type=int, default=10)
    parser.add_argument("--noise-stddev", type=float, default=0.2,
                        help="Gaussian input noise in training, 0 for a plain "
                             "autoencoder (default: 0.2, denoising)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--held-out-fraction", type=float, default=0.1,
                        help="share of the images held out to measure reconstruction "
                             "error (default: 0.1)")
    parser.add_argument("--n-clusters", type=int, default=10,
                        help="k of k-means on the latent codes (default: 10)")
    parser.add_argument("--backup-dir", default=None,
                        help="BackupAndRestore folder: an interrupted run started again "
                             "resumes from it (default: <out>.backup)")
    add_jit_argument(parser)
    add_deterministic_argument(parser)
    add_common_arguments(parser, "runs/autoencoder")
    parser.set_defaults(run=run)


def _check_arguments(args):
    from tfunsup.utils.run_directory import check_output_dir

    check_output_dir(args.out, args.overwrite)
    for name in ("latent_dim", "epochs", "batch_size"):
        check_positive("--" + name.replace("_", "-"), getattr(args, name))
    if args.n_clusters < 2:
        raise ValueError(f"Expected --n-clusters >= 2. Received: --n-clusters={args.n_clusters}")
    if not args.noise_stddev >= 0:
        raise ValueError(
            f"Expected --noise-stddev >= 0. Received: --noise-stddev={args.noise_stddev}")
    if not args.learning_rate > 0:
        raise ValueError(
            f"Expected --learning-rate > 0. Received: --learning-rate={args.learning_rate}")
    check_fraction("--held-out-fraction", args.held_out_fraction, high=0.5,
                   high_inclusive=True)


def run(args):
    start = time.perf_counter()
    _check_arguments(args)
    import numpy as np

    from tfunsup.data import check_n_clusters, load_dataset

    data = load_dataset(args.data)
    train_index, held_out_index = shuffled_split(len(data), args.held_out_fraction, args.seed)
    check_n_clusters(args.n_clusters, len(data))
    from tfunsup.autoencoders import AutoencoderEstimator
    from tfunsup.autoencoders.evaluation import latent_kmeans_report
    from tfunsup.autoencoders.plots import save_reconstructions
    from tfunsup.utils.run_directory import RunDirectory

    backup_dir = backup_directory(args.out, args.backup_dir)
    if (backup_dir / "training_metadata.json").is_file():
        print(f"Resuming the interrupted training from {backup_dir}", flush=True)
    estimator = AutoencoderEstimator(
        args.architecture, args.latent_dim, noise_stddev=args.noise_stddev,
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        jit_compile=JIT_CHOICES[args.jit], backup_dir=backup_dir, seed=args.seed,
        deterministic=args.deterministic, verbose=0 if args.quiet else 1)
    if not args.quiet:
        print(f"Training a {args.architecture} autoencoder (latent_dim={args.latent_dim}) on "
              f"{len(train_index)} images of '{args.data}' ...", flush=True)
    estimator.fit(data.images[train_index], data.images[held_out_index])
    held_out_errors = estimator.reconstruction_error(data.images[held_out_index])
    report = latent_kmeans_report(estimator, data.images, data.labels, args.n_clusters,
                                  args.seed)
    metrics = {
        "dataset": args.data, "architecture": args.architecture,
        "latent_dim": args.latent_dim, "noise_stddev": args.noise_stddev,
        "epochs": args.epochs, "seed": args.seed, "jit_compile": args.jit,
        "deterministic": args.deterministic,
        "n_train": len(train_index), "n_held_out": len(held_out_index),
        "reconstruction_mse": float(held_out_errors.mean()),
        "train_loss": estimator.history_["loss"][-1] if estimator.history_.get("loss") else None,
        "kmeans": report["kmeans"], "baseline": report["baseline"],  # labels only score
    }

    with RunDirectory(args.out, overwrite=args.overwrite) as out:
        spread = np.linspace(0, len(held_out_index) - 1, min(12, len(held_out_index)))
        shown = data.images[held_out_index[spread.astype(int)]]
        save_reconstructions(shown, estimator.reconstruct(shown),
                             out.path / "reconstructions.png")
        estimator.export(out.path)
        metrics["seconds"] = time.perf_counter() - start
        write_json(out.path / "metrics.json", metrics)

    print(f"held-out reconstruction MSE: {metrics['reconstruction_mse']:.5f}")
    if data.labels is not None:
        print_table([["k-means on latent codes", *metrics["kmeans"].values()],
                     ["k-means on raw pixels", metrics["baseline"]["acc"],
                      metrics["baseline"]["nmi"], metrics["baseline"]["ari"]]],
                    ["method", "ACC", "NMI", "ARI"])
    print(f"wrote {args.out}/ in {metrics['seconds']:.1f} s")
    return 0
