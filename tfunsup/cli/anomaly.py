"""`tfunsup anomaly`: one-class anomaly detection by reconstruction error."""

import time

from tfunsup.cli.autoencoder import JIT_CHOICES, add_jit_argument, check_fraction
from tfunsup.cli.common import add_common_arguments, check_positive, print_table, write_json


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "anomaly", help="one-class anomaly detection by autoencoder reconstruction error",
        description="The one-class protocol: for each class c, train an autoencoder on "
                    "a split of class c only, score a held-out test set of all classes "
                    "(c normal, the others anomalous) by reconstruction error, and report "
                    "ROC-AUC and average precision per class. Default: MNIST-5k.")
    parser.add_argument("--data", default="mnist-5k",
                        help="labeled dataset name or .npz (default: mnist-5k)")
    parser.add_argument("--architecture", choices=["dense", "conv"], default="dense")
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--contamination", type=float, default=0.05,
                        help="share of training scores above the threshold, in (0, 0.5] "
                             "(default: 0.05)")
    parser.add_argument("--train-fraction", type=float, default=0.8,
                        help="share of each class used for training (default: 0.8)")
    parser.add_argument("--classes", type=int, nargs="+", default=None,
                        help="normal classes to run (default: all)")
    parser.add_argument("--export", action="store_true",
                        help="also export each class's detector as a SavedModel "
                             "(detectors/<class>/, serving anomaly scores)")
    add_jit_argument(parser)
    add_common_arguments(parser, "runs/anomaly")
    parser.set_defaults(run=run, batch_size=64)


def _check_arguments(args):
    from tfunsup.anomaly import check_contamination
    from tfunsup.utils.run_directory import check_output_dir

    check_output_dir(args.out, args.overwrite)
    for name in ("latent_dim", "epochs", "batch_size"):
        check_positive("--" + name.replace("_", "-"), getattr(args, name))
    if not args.learning_rate > 0:
        raise ValueError(
            f"Expected --learning-rate > 0. Received: --learning-rate={args.learning_rate}")
    try:
        check_contamination(args.contamination)
    except ValueError:
        raise ValueError(f"Expected --contamination in (0, 0.5]. "
                         f"Received: --contamination={args.contamination}") from None
    check_fraction("--train-fraction", args.train_fraction)


def run(args):
    start = time.perf_counter()
    _check_arguments(args)
    import numpy as np

    from tfunsup.data import load_dataset

    data = load_dataset(args.data)
    if data.labels is None:
        raise ValueError(f"The one-class protocol needs labeled data to score; "
                         f"'{args.data}' has no labels.")
    known = set(np.unique(data.labels).tolist())
    if args.classes is not None and not set(args.classes) <= known:
        raise ValueError(f"Expected --classes among {sorted(known)}. "
                         f"Received: --classes={args.classes}")
    from tfunsup.anomaly import ReconstructionAnomalyDetector, one_class_evaluation
    from tfunsup.anomaly.plots import save_score_histograms, save_worst_reconstructed
    from tfunsup.utils.run_directory import RunDirectory

    def make_detector(normal_class):
        return ReconstructionAnomalyDetector(
            args.architecture, args.latent_dim, epochs=args.epochs,
            batch_size=args.batch_size, learning_rate=args.learning_rate,
            contamination=args.contamination, jit_compile=JIT_CHOICES[args.jit],
            seed=args.seed)

    def progress(normal_class, metrics):
        if not args.quiet:
            print(f"normal class {normal_class}: ROC-AUC {metrics['roc_auc']:.3f}, "
                  f"AP {metrics['average_precision']:.3f}", flush=True)

    result = one_class_evaluation(make_detector, data.images, data.labels,
                                  classes=args.classes, train_fraction=args.train_fraction,
                                  seed=args.seed, progress=progress)
    test_index = result["test_index"]
    test_labels = data.labels[test_index]
    metrics = {
        "dataset": args.data, "protocol": "one-class: train on class c, test on all classes",
        "architecture": args.architecture, "latent_dim": args.latent_dim,
        "epochs": args.epochs, "contamination": args.contamination, "seed": args.seed,
        "n_test": len(test_index),
        "auc_per_class": result["auc_per_class"], "mean_auc": result["mean_auc"],
        "ap_per_class": result["ap_per_class"], "mean_ap": result["mean_ap"],
        "threshold_per_class": {c: d.threshold_ for c, d in result["detectors"].items()},
        "flagged_normal_rate_per_class": {
            c: float(np.mean(result["scores"][c][test_labels == c] > d.threshold_))
            for c, d in result["detectors"].items()},
    }
    with RunDirectory(args.out, overwrite=args.overwrite) as out:
        save_score_histograms(result["scores"], test_labels,
                              out.path / "score_histograms.png", result["auc_per_class"])
        save_worst_reconstructed(data.images[test_index], result["scores"], test_labels,
                                 out.path / "worst_reconstructed.png")
        if args.export:
            for c, detector in result["detectors"].items():
                detector.export(out.path / "detectors" / str(c))
        metrics["seconds"] = time.perf_counter() - start
        write_json(out.path / "metrics.json", metrics)

    print_table([[c, result["auc_per_class"][c], result["ap_per_class"][c]]
                 for c in result["auc_per_class"]] + [["mean", result["mean_auc"],
                                                       result["mean_ap"]]],
                ["normal class", "ROC-AUC", "AP"])
    print(f"wrote {args.out}/ in {metrics['seconds']:.1f} s")
    return 0
