"""`tfunsup adapt`: unsupervised domain adaptation from a labeled source to an
unlabeled target (source-only baseline, DANN, SHOT)."""

import csv
import time

from tfunsup.cli.common import (
    add_common_arguments,
    add_deterministic_argument,
    check_positive,
    print_table,
    write_json,
)

METHODS = ("source-only", "dann", "shot")
EMBEDDING_SAMPLES = 300  # per domain in the feature plot


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "adapt", help="adapt a classifier from a labeled source to an unlabeled target",
        description="Unsupervised domain adaptation: train on the labeled --source, adapt "
                    "to the unlabeled --target (its labels, when it has any, only score). "
                    "Methods: source-only baseline, DANN (gradient reversal), SHOT "
                    "(source-free self-training). The source-only model is always trained: "
                    "it is the baseline, SHOT's source model and the 'before' of the plot.")
    parser.add_argument("--source", default="mnist-5k",
                        help="labeled source dataset name, image or wav folder or .npz, "
                             "e.g. fsdd-source or fsdd:george,jackson (default: mnist-5k)")
    parser.add_argument("--target", default="digits",
                        help="target dataset name, image or wav folder or .npz, e.g. "
                             "fsdd-target (default: digits)")
    parser.add_argument("--target-test", default=None,
                        help="optional labeled held-out images of the target domain (name, "
                             "folder or .npz, e.g. usps-test), only scored: never trained on")
    parser.add_argument("--method", default="all", choices=METHODS + ("all",),
                        help="adaptation method (default: all)")
    parser.add_argument("--backbone", default=None,
                        help="TF Hub URL, SavedModel folder, keras:<Application>, or "
                             "small_cnn,width=N for a small CNN N times as wide "
                             "(default: a small CNN trained from scratch)")
    parser.add_argument("--weights", default="imagenet", choices=["imagenet", "none"],
                        help="weights of keras: backbones (default: imagenet)")
    parser.add_argument("--epochs", type=int, default=10,
                        help="source-only and DANN epochs (default: 10)")
    parser.add_argument("--adapt-epochs", type=int, default=10,
                        help="SHOT adaptation epochs on the target (default: 10)")
    parser.add_argument("--class-prior", default="uniform",
                        choices=["uniform", "estimated", "mean"],
                        help="class distribution SHOT's diversity term pulls the target "
                             "predictions towards: uniform as in the SHOT paper; the mean of "
                             "the source model's predictions on the target (for a "
                             "class-imbalanced target such as USPS and a strong source "
                             "model); or their EM re-estimate; no target labels either way "
                             "(default: uniform)")
    parser.add_argument("--augment", default="standard",
                        choices=["standard", "stroke", "affine", "none"],
                        help="source-side augmentation: standard = random low resolution "
                             "and shifts (recordings: random speed and shifts); stroke = "
                             "also random stroke thickening (shaped to "
                             "thick-stroked targets such as digits); affine = also random "
                             "rotation (10 degrees) and scale (10 %%); none (default: standard)")
    parser.add_argument("--target-augment", default="none", choices=["none", "affine"],
                        help="SHOT only: affine = train the adaptation on randomly shifted, "
                             "rotated and scaled copies of the target images (pseudo-labels "
                             "from the images as they are); none = the SHOT paper's "
                             "(default: none)")
    parser.add_argument("--ema-momentum", type=float, default=None,
                        help="SHOT only: keep an exponential moving average of the adapted "
                             "weights with this momentum, e.g. 0.998, updated after every "
                             "step; the adapted model is that average (default: off, as in "
                             "the SHOT paper)")
    parser.add_argument("--ensemble", type=int, default=1,
                        help="train each method this many times with different seeds and "
                             "average the members' probabilities (a deep ensemble; SHOT "
                             "member i adapts source-only member i); N times the training "
                             "time (default: 1, no ensemble)")
    parser.add_argument("--embedding", default="tsne", choices=["tsne", "pca"],
                        help="projection of the feature plot (default: tsne)")
    add_common_arguments(parser, "runs/adapt")
    add_deterministic_argument(parser)
    parser.set_defaults(run=run, batch_size=64)


def _check_arguments(args):
    from tfunsup.backbones.small_cnn import parse_small_cnn_spec
    from tfunsup.training.callbacks import check_momentum
    from tfunsup.utils.run_directory import check_output_dir

    check_output_dir(args.out, args.overwrite)
    for flag in ("epochs", "adapt_epochs", "batch_size", "ensemble"):
        check_positive("--" + flag.replace("_", "-"), getattr(args, flag))
    parse_small_cnn_spec(args.backbone)  # a bad small_cnn,width=N stops before any loading
    if args.ema_momentum is not None:
        check_momentum(args.ema_momentum, "--ema-momentum")


def check_domains(source, target):
    """Raises ValueError unless the source is labeled and both domains share classes.

    Target labels are optional (they only score); when present, the target
    must have the source's number of classes, within the source's label range.
    """
    import numpy as np

    if source.labels is None:
        raise ValueError(f"Expected a labeled --source. Received: '{source.name}' has no labels")
    source_classes = np.unique(source.labels)
    if target.labels is None:
        return
    target_classes = np.unique(target.labels)
    if len(target_classes) != len(source_classes) or not np.isin(
            target_classes, source_classes).all():
        raise ValueError(
            "Expected --source and --target with the same classes. Received: "
            f"{len(source_classes)} classes in '{source.name}' "
            f"({source_classes.min()}..{source_classes.max()}), {len(target_classes)} in "
            f"'{target.name}' ({target_classes.min()}..{target_classes.max()})")


def _subsample(n, size, seed):
    import numpy as np

    return np.sort(np.random.default_rng(seed).permutation(n)[:size])


def _load(name):
    """A dataset by name; wav files that cannot be decoded are left out (listed)."""
    from tfunsup.data import AudioDataset, load_dataset

    dataset = load_dataset(name)
    return dataset.readable() if isinstance(dataset, AudioDataset) else dataset


def _inputs(dataset):
    """The arrays the estimators take: waveforms of recordings, else images."""
    from tfunsup.data import AudioDataset

    return dataset.waveforms if isinstance(dataset, AudioDataset) else dataset.images


def _shot_class_prior(shot):
    """SHOT's class prior; of an ensemble, the mean of its members'."""
    import numpy as np

    members = getattr(shot, "estimators_", [shot])
    return np.mean([member.class_prior_ for member in members], axis=0)


def run(args):
    start = time.perf_counter()
    _check_arguments(args)
    from tfunsup.data import AudioDataset

    source = _load(args.source)
    target = _load(args.target)
    check_domains(source, target)
    target_test = None
    if args.target_test is not None:
        target_test = _load(args.target_test)
        if target_test.labels is None:
            raise ValueError("Expected a labeled --target-test (it is only scored). "
                             f"Received: '{target_test.name}' has no labels")
        check_domains(source, target_test)
    import numpy as np

    from tfunsup.adapt import DANN, SHOT, DeepEnsemble, SourceOnly
    from tfunsup.adapt.base_adapter import check_source, check_target
    from tfunsup.adapt.plots import save_domain_embedding
    from tfunsup.utils.run_directory import RunDirectory

    if isinstance(source, AudioDataset) != isinstance(target, AudioDataset):
        raise ValueError("Expected --source and --target of one modality (both recordings "
                         f"or both images). Received: '{source.name}' and '{target.name}'")
    recordings = isinstance(source, AudioDataset)
    if recordings and args.target_augment != "none":
        raise ValueError("Expected --target-augment none with recordings (its moves are for "
                         f"images). Received: --target-augment {args.target_augment}")
    check_source(_inputs(source), source.labels, recordings)
    check_target(_inputs(target), waveforms=recordings)
    if target_test is not None:
        check_target(_inputs(target_test), waveforms=recordings)
    methods = METHODS if args.method == "all" else (args.method,)
    common = {"backbone": args.backbone,
              "weights": None if args.weights == "none" else "imagenet",
              "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
              "deterministic": args.deterministic, "augment": args.augment,
              "verbose": 0 if args.quiet else 1}
    # The target labels never reach fit. A recording dataset gives the
    # network its AudioSpec (length, sample rate); images are arrays.
    unlabeled_target = target.without_labels() if isinstance(target, AudioDataset) \
        else target.images
    labeled_source = source if isinstance(source, AudioDataset) else source.images
    estimators, seconds = {}, {}

    def ensemble(estimator):
        if args.ensemble == 1:
            return estimator
        return DeepEnsemble(estimator, n_members=args.ensemble, seed=args.seed)

    def report(name):
        if not args.quiet:
            print(f"[{name}] done in {seconds[name]:.1f} s", flush=True)

    tic = time.perf_counter()
    estimators["source-only"] = ensemble(SourceOnly(**common)).fit(
        labeled_source, source.labels, unlabeled_target)
    seconds["source-only"] = time.perf_counter() - tic
    report("source-only")
    if "dann" in methods:
        tic = time.perf_counter()
        estimators["dann"] = ensemble(DANN(**common)).fit(labeled_source, source.labels,
                                                          unlabeled_target)
        seconds["dann"] = time.perf_counter() - tic
        report("dann")
    if "shot" in methods:
        tic = time.perf_counter()
        estimators["shot"] = ensemble(SHOT(
            source_model=estimators["source-only"], adapt_epochs=args.adapt_epochs,
            class_prior=args.class_prior, target_augment=args.target_augment,
            ema_momentum=args.ema_momentum, batch_size=args.batch_size, seed=args.seed,
            deterministic=args.deterministic,
            verbose=common["verbose"],
        )).fit(None, None, unlabeled_target)
        seconds["shot"] = time.perf_counter() - tic
        report("shot")

    source_x, target_x = _inputs(source), _inputs(target)
    predictions = {name: est.predict(target_x) for name, est in estimators.items()}
    results, source_accuracy = {}, {}
    for name, est in estimators.items():
        results[name] = (float(np.mean(predictions[name] == target.labels))
                         if target.labels is not None else None)
        source_accuracy[name] = est.score(source_x, source.labels)
    test_results = ({name: est.score(_inputs(target_test), target_test.labels)
                     for name, est in estimators.items()} if target_test is not None else None)
    metrics = {
        "source": args.source, "target": args.target, "results": results,
        "target_test": args.target_test, "test_results": test_results,
        "source_accuracy": source_accuracy, "method": args.method,
        "backbone": args.backbone or "small CNN", "epochs": args.epochs,
        "adapt_epochs": args.adapt_epochs, "augment": args.augment,
        "batch_size": args.batch_size, "seed": args.seed,
        "n_source": len(source), "n_target": len(target),
        "n_target_test": None if target_test is None else len(target_test), "seconds": seconds,
        "skipped": {"source": list(getattr(source, "skipped", ())),
                    "target": list(getattr(target, "skipped", ()))},
        "class_prior": args.class_prior, "target_augment": args.target_augment,
        "ema_momentum": args.ema_momentum, "ensemble": args.ensemble,
        "shot_class_prior": (_shot_class_prior(estimators["shot"]).round(4).tolist()
                             if "shot" in estimators else None),
    }

    source_index = _subsample(len(source), EMBEDDING_SAMPLES, args.seed)
    target_index = _subsample(len(target), EMBEDDING_SAMPLES, args.seed + 1)
    panels = [(f"{'before (source-only)' if name == 'source-only' else 'after: ' + name} "
               f"target acc {results[name]:.3f}" if results[name] is not None else name,
               est.transform(source_x[source_index]),
               est.transform(target_x[target_index]))
              for name, est in estimators.items()]

    with RunDirectory(args.out, overwrite=args.overwrite) as out:
        save_domain_embedding(
            panels, out.path / "features.png", source_labels=source.labels[source_index],
            target_labels=None if target.labels is None else target.labels[target_index],
            method=args.embedding, seed=args.seed)
        for name, est in estimators.items():
            est.export(out.path / "models" / name)
        with open(out.path / "predictions.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            has_labels = target.labels is not None
            # Recordings are keyed by their file path too (relative to the folder).
            ids = target.ids if isinstance(target, AudioDataset) else None
            writer.writerow(["index"] + (["id"] if ids is not None else [])
                            + (["label"] if has_labels else []) + list(predictions))
            for i in range(len(target)):
                writer.writerow([i] + ([ids[i]] if ids is not None else [])
                                + ([int(target.labels[i])] if has_labels else [])
                                + [int(p[i]) for p in predictions.values()])
        metrics["seconds"]["total"] = time.perf_counter() - start
        write_json(out.path / "metrics.json", metrics)

    if target.labels is not None or test_results is not None:
        rows = [[name, acc if acc is not None else "-"]
                + ([test_results[name]] if test_results is not None else [])
                + [source_accuracy[name]] for name, acc in results.items()]
        print_table(rows, ["method", "target acc"]
                    + (["target-test acc"] if test_results is not None else []) + ["source acc"])
    print(f"wrote {args.out}/ in {metrics['seconds']['total']:.1f} s")
    return 0
