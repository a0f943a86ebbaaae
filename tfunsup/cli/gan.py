"""`tfunsup gan`: train a DCGAN or WGAN-GP, measure FID / KID / Inception Score,
export the generator."""

import time
from pathlib import Path

from tfunsup.cli.common import (
    JIT_CHOICES,
    add_common_arguments,
    add_deterministic_argument,
    add_jit_argument,
    backup_directory,
    check_positive,
    print_table,
    write_json,
)

DEFAULT_DATA = "mnist-5k"
LOSSES = ("gan", "wgan-gp")


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "gan", help="train a DCGAN / WGAN-GP and measure its samples",
        description="Train a DCGAN-style GAN (non-saturating loss) or a WGAN-GP on "
                    "unlabeled images, by default conditioned on k-means pseudo-labels "
                    "(--n-clusters; 0 for an unconditional GAN), score 5,000 samples "
                    "with FID and KID (features of the MNIST-5k source model by "
                    "default) and the classifier "
                    "Inception Score (digit data), and export the generator as a "
                    "SavedModel. An interrupted run resumes from its backup when run "
                    "again with the same arguments.")
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help="dataset name, image folder or .npz (default: mnist-5k)")
    parser.add_argument("--loss", default="gan", choices=LOSSES,
                        help="training objective (default: gan)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the data (default: 40 for gan, 60 for wgan-gp)")
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--width", type=int, default=32,
                        help="generator width: filters of its last hidden layer (default: 32)")
    parser.add_argument("--discriminator-width", type=int, default=None,
                        help="filters of the discriminator's first layer (default: --width)")
    parser.add_argument("--n-critic", type=int, default=None,
                        help="critic updates per generator update (default: 1 for gan, "
                             "5 for wgan-gp)")
    parser.add_argument("--n-clusters", type=int, default=50,
                        help="k-means clusters of the images whose pseudo-labels condition "
                             "the GAN (projection discriminator); 0: unconditional "
                             "(default: 50)")
    parser.add_argument("--cluster-backbone", default=None,
                        help="features for the k-means pseudo-labels: TF Hub URL, SavedModel "
                             "folder or keras:<Application> (default: PCA of the pixels)")
    parser.add_argument("--n-samples", type=int, default=5000,
                        help="generated images scored (default: 5000)")
    parser.add_argument("--backbone", default=None,
                        help="feature extractor of FID/KID: TF Hub URL, SavedModel folder "
                             "or keras:<Application> (default: saved_models/mnist5k_source)")
    parser.add_argument("--augment", default="none",
                        help="DiffAugment policies for the discriminator: translation, cutout, "
                             "translation,cutout or none (default: none)")
    parser.add_argument("--mixed-precision", default="off",
                        choices=["off", "auto", "float16", "bfloat16"],
                        help="mixed precision: float16 on GPUs, bfloat16 on TPUs and CPUs "
                             "with bfloat16 instructions (elsewhere float32, with a warning); "
                             "auto = float16 on a GPU, bfloat16 on a TPU, off on CPUs "
                             "(default: off)")
    parser.add_argument("--fused-kernels", action="store_true",
                        help="TensorFlow's fused batch-norm and Adam kernels instead of "
                             "Keras' layers (see benchmarks/bench_gan.py)")
    add_jit_argument(parser)
    add_deterministic_argument(parser)
    parser.add_argument("--steps-per-execution", type=int, default=1,
                        help="train steps per call of the compiled train function "
                             "(fewer Python round trips; default: 1)")
    parser.add_argument("--backup-dir", default=None,
                        help="BackupAndRestore folder (default: <out>.backup)")
    add_common_arguments(parser, "runs/gan")
    for action in parser._actions:
        if action.dest == "batch_size":
            action.default = 32
            action.help = "images per discriminator update (default: 32)"
    parser.set_defaults(run=run)


def _default_epochs(loss):
    return 60 if loss == "wgan-gp" else 40


def run(args):
    start = time.perf_counter()
    from tfunsup.utils.run_directory import check_output_dir

    check_output_dir(args.out, args.overwrite)
    epochs = args.epochs if args.epochs is not None else _default_epochs(args.loss)
    check_positive("--epochs", epochs)
    check_positive("--latent-dim", args.latent_dim)
    check_positive("--width", args.width)
    discriminator_width = (args.width if args.discriminator_width is None
                           else args.discriminator_width)
    check_positive("--discriminator-width", discriminator_width)
    check_positive("--batch-size", args.batch_size)
    check_positive("--n-samples", args.n_samples)
    check_positive("--steps-per-execution", args.steps_per_execution)
    if args.n_clusters < 0 or args.n_clusters == 1:
        raise ValueError(f"Expected --n-clusters 0 (unconditional) or >= 2. "
                         f"Received: --n-clusters {args.n_clusters}")
    if args.n_critic is not None:
        check_positive("--n-critic", args.n_critic)
    from tfunsup.data import load_dataset
    from tfunsup.gan import check_gan_arguments
    from tfunsup.gan.augment import check_policy

    augment = None if args.augment == "none" else args.augment
    check_policy(augment)
    data = load_dataset(args.data)
    images, n_critic, _ = check_gan_arguments(
        data.images, objective=args.loss, latent_dim=args.latent_dim, width=args.width,
        epochs=epochs, batch_size=args.batch_size, n_critic=args.n_critic)
    if args.n_clusters > len(images):
        raise ValueError(f"Expected --n-clusters <= the number of images ({len(images)}). "
                         f"Received: --n-clusters {args.n_clusters}")
    if args.n_clusters and args.latent_dim < 2:
        raise ValueError("Expected --latent-dim >= 2 with --n-clusters (the first latent "
                         f"coordinate picks the cluster). Received: --latent-dim {args.latent_dim}")

    from tfunsup.gan import export_generator, kmeans_pseudo_labels, train_gan
    from tfunsup.gan.evaluation import sample_quality_report
    from tfunsup.gan.plots import save_image_grid, save_loss_curves
    from tfunsup.metrics.clustering import cluster_purity, clustering_scores
    from tfunsup.metrics.generative import load_classifier, load_feature_extractor
    from tfunsup.utils.run_directory import RunDirectory

    def default_source_ready():
        from tfunsup.source import default_source_model_path

        return (default_source_model_path() / "saved_model.pb").is_file()

    out = Path(args.out)
    backup_dir = backup_directory(out, args.backup_dir)
    if not args.quiet and backup_dir.is_dir():
        print(f"Resuming from the backup in {backup_dir} ...", flush=True)
    digits = images.shape[-1] == 1
    if args.backbone is None or digits:
        from tfunsup.source import ensure_source_model

        if not args.quiet and not default_source_ready():
            print("Training the MNIST-5k source model (once) ...", flush=True)
        ensure_source_model()  # the default FID features and the digit classifier
    feature_extractor = load_feature_extractor(args.backbone)  # before training: fails early
    classifier = load_classifier() if digits else False
    pseudo_labels, pseudo_label_scores = None, None
    cluster_start = time.perf_counter()
    if args.n_clusters:
        if not args.quiet:
            print(f"Clustering the images into {args.n_clusters} pseudo-labels ...", flush=True)
        pseudo_labels = kmeans_pseudo_labels(images, args.n_clusters,
                                              backbone=args.cluster_backbone, seed=args.seed)
        if data.labels is not None:  # labels only score the pseudo-labels
            pseudo_label_scores = {
                "purity": cluster_purity(data.labels, pseudo_labels),
                "nmi": clustering_scores(data.labels, pseudo_labels)["nmi"]}
    cluster_seconds = time.perf_counter() - cluster_start
    if not args.quiet:
        print(f"Training a {args.loss} on {len(images)} images of '{args.data}' "
              f"{images.shape[1:]} for {epochs} epochs ...", flush=True)
    train_start = time.perf_counter()
    jit = JIT_CHOICES[args.jit]
    gan, history = train_gan(
        images, objective=args.loss, latent_dim=args.latent_dim, width=args.width,
        discriminator_width=discriminator_width, ema_decay=0.999,
        epochs=epochs, batch_size=args.batch_size, n_critic=n_critic, seed=args.seed,
        augment=augment, jit_compile=jit, steps_per_execution=args.steps_per_execution,
        mixed_precision=None if args.mixed_precision == "off" else args.mixed_precision,
        fused_kernels=args.fused_kernels, deterministic=args.deterministic,
        pseudo_labels=pseudo_labels, backup_dir=backup_dir, verbose=0 if args.quiet else 2)
    train_seconds = time.perf_counter() - train_start

    n = args.n_samples
    report = sample_quality_report(gan, images, n_samples=n,
                                   feature_extractor=feature_extractor,
                                   classifier=classifier, seed=args.seed)
    fake = report.pop("samples")
    copying = report["nearest_neighbor"]
    metrics = {
        **report,
        "n_clusters": args.n_clusters, "cluster_backbone": args.cluster_backbone or "pixels",
        "pseudo_labels": pseudo_label_scores, "cluster_seconds": cluster_seconds,
        "epochs": epochs, "loss": args.loss, "dataset": args.data, "n_images": len(images),
        "n_samples": n, "latent_dim": args.latent_dim, "width": args.width,
        "discriminator_width": discriminator_width,
        "n_critic": n_critic, "batch_size": args.batch_size, "seed": args.seed,
        "augment": augment, "mixed_precision": args.mixed_precision,
        "dtype_policy": gan.generator.dtype_policy.name, "fused_kernels": args.fused_kernels,
        "deterministic": args.deterministic,
        "backbone": args.backbone or "mnist5k_source", "jit_compile": bool(gan.jit_compile),
        "final_losses": {k: float(v[-1]) for k, v in history.items()},
        "train_seconds": train_seconds,
    }
    with RunDirectory(out, overwrite=args.overwrite) as run_dir:
        save_image_grid(fake[:100], run_dir.path / "samples.png", n_cols=10,
                        title=f"{args.loss}: 100 samples after {epochs} epochs")
        save_loss_curves(history, run_dir.path / "losses.png",
                         title=f"{args.loss} losses per epoch")
        export_generator(gan, run_dir.path / "generator")
        metrics["seconds"] = time.perf_counter() - start
        write_json(run_dir.path / "metrics.json", metrics)

    rows = [["generated", metrics["fid"], metrics["kid"], metrics["inception_score"]],
            ["uniform noise", metrics["noise"]["fid"], metrics["noise"]["kid"],
             metrics["noise"]["inception_score"]]]
    if digits:
        rows.append(["real (same classifier)", "", "", metrics["real_inception_score"]])
    print_table(rows, ["images", "FID", "KID", "Inception Score"])
    print(f"nearest training image: median L2 {copying['fake_median']:.2f} from samples, "
          f"{copying['train_median']:.2f} between training images (ratio "
          f"{copying['ratio']:.2f}; < 1 would hint at copying)")
    print(f"wrote {out}/ in {metrics['seconds']:.1f} s")
    return 0
