"""`tfunsup source`: train and export the MNIST-5k source feature extractor."""

import time

from tfunsup.cli.common import add_deterministic_argument, check_positive, write_json


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "source", help="train the MNIST-5k source CNN and export its feature extractor",
        description="Train the source CNN on labeled MNIST-5k and export its feature "
                    "extractor as a TF Hub-style SavedModel (the offline default backbone).")
    parser.add_argument("--out", default=None,
                        help="SavedModel folder (default: saved_models/mnist5k_source)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    add_deterministic_argument(parser)
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(run=run)


def run(args):
    from tfunsup.data import load_dataset
    from tfunsup.source.source_model import (
        default_source_model_path,
        export_feature_vector,
        train_source_model,
    )

    check_positive("--epochs", args.epochs)
    path = args.out or default_source_model_path()
    from pathlib import Path
    if Path(path).exists() and not args.overwrite:
        raise FileExistsError(f"--out '{path}' exists; pass --overwrite to retrain it.")
    start = time.perf_counter()
    source = load_dataset("mnist-5k")
    classifier, features = train_source_model(
        source.images, source.labels, epochs=args.epochs, seed=args.seed,
        deterministic=args.deterministic, verbose=0 if args.quiet else 2)
    export_feature_vector(features, path, overwrite=True)
    accuracy = classifier.evaluate(source.images, source.labels, verbose=0)[1]
    write_json(Path(path) / "training.json", {
        "dataset": "mnist-5k", "epochs": args.epochs, "seed": args.seed,
        "deterministic": args.deterministic,
        "train_accuracy": float(accuracy), "seconds": time.perf_counter() - start})
    print(f"exported {path} (train accuracy {accuracy:.3f})")
    return 0
