"""`tfunsup anomaly`: one-class anomaly detection, on a benchmark or on a user's folders.

Two modes:

- benchmark (`--data`, default MNIST-5k): for each class c, fit a detector on
  80 % of class c and score the rest of class c plus every other class;
  ROC-AUC and average precision per class. A class named normal/good/ok/ham
  is the only normal class when there is one (SMS spam: ham).
- user folders (`--normal DIR --score DIR`): fit on the normal folder, score
  the other, write `scores.csv`, `metrics.json`, a figure and the detector
  SavedModel. No labels needed.

The modality follows the data, as in `tfunsup cluster`: images, or texts (a
folder of `.txt` files or a CSV/TSV table, `tfunsup.data.text.is_text_data`)
through a text encoder, by default all-MiniLM-L6-v2.
"""

import csv
import hashlib
import json
import time
from pathlib import Path

from tfunsup.cli.common import (
    JIT_CHOICES,
    add_common_arguments,
    add_jit_argument,
    add_text_arguments,
    check_fraction,
    check_positive,
    check_text_arguments,
    default_cache_dir,
    print_table,
    table_column,
    write_json,
)

FEATURE_METHODS = ("knn", "gaussian", "panda")
METHODS = FEATURE_METHODS + ("autoencoder",)
# Methods that take texts (a frozen text encoder's features).
TEXT_METHODS = ("knn", "gaussian")
# Class (sub-folder, label) names that hold the normal items: in a labelled
# --score folder, and in a benchmark, where such a class is the only normal one.
NORMAL_FOLDER_NAMES = ("normal", "good", "ok", "ham")
# The most anomalous texts listed per normal class in most_anomalous_texts.csv.
N_LISTED_TEXTS = 25


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "anomaly", help="one-class anomaly detection on images or texts (pretrained "
                        "features or autoencoder)",
        description="Benchmark mode (--data): for each class c, fit on 80%% of class c "
                    "only and score the remaining 20%% plus all other classes (c normal, "
                    "the others anomalous); ROC-AUC and average precision per class. A "
                    "class named normal, good, ok or ham is the only normal class when "
                    "there is one. Folder mode (--normal DIR --score DIR): fit on a folder "
                    "of normal images or texts, score another folder, write scores.csv, "
                    "metrics.json, a figure and the detector SavedModel. Texts (a folder "
                    "of .txt files or a .csv/.tsv table) go through a text encoder, "
                    "by default all-MiniLM-L6-v2.")
    parser.add_argument("--method", choices=METHODS, default="gaussian",
                        help="knn: kNN distance on pretrained features (DN2); gaussian: "
                             "Mahalanobis distance to the normal features' Gaussian; "
                             "panda: kNN distance after training the backbone's top on "
                             "the normal images with PANDA's compactness loss; "
                             "autoencoder: reconstruction error (default: gaussian)")
    parser.add_argument("--data", default="mnist-5k",
                        help="benchmark: labeled dataset name, folder (labels from "
                             "sub-folders), .npz, text (a folder of .txt files with "
                             "sub-folder labels, or a .csv/.tsv table with a label column), "
                             "or a path in the shared data folder such as cifar10-test or "
                             "text/sms_spam.tsv (default: mnist-5k)")
    parser.add_argument("--normal", default=None,
                        help="folder of normal images, or normal texts (a folder of .txt "
                             "files or a .csv/.tsv table) (folder mode)")
    parser.add_argument("--score", default=None,
                        help="folder of images, or texts, to score (folder mode)")
    parser.add_argument("--normal-class", default=None,
                        help="folder mode: the --score sub-folder (or label) holding normal "
                             "items, to report ROC-AUC/AP (default: one named normal, good, "
                             "ok or ham, or named like the --normal folder)")
    parser.add_argument("--backbone", default=None,
                        help="feature methods: a load_backbone spec (default: "
                             "keras:MobileNetV2, ImageNet weights, for images; the "
                             "all-MiniLM-L6-v2 sentence encoder for texts)")
    parser.add_argument("--layer", default="auto",
                        help="feature methods: an inner layer of the backbone whose pooled "
                             "output is the feature, several comma-separated (pooled, "
                             "L2-normalised, concatenated), 'output' for the backbone's own "
                             "features, or 'auto': for MobileNetV2 block_13_expand_relu on "
                             "small greyscale digit-like images, block_14_add,block_15_add,"
                             "block_16_project_BN on tiny photos (<= 64 px), else the "
                             "backbone's features; for texts with all-MiniLM-L6-v2 "
                             "transformer_layer_0,...,transformer_layer_3 (first-token "
                             "states), else the encoder's output (default: auto)")
    parser.add_argument("--image-size", type=int, nargs=2, default=None,
                        metavar=("HEIGHT", "WIDTH"),
                        help="feature methods: backbone input size (default: tiny photos "
                             "such as CIFAR's 32x32 go into keras: backbones at 144x144, "
                             "other images at the backbone's own size)")
    parser.add_argument("--n-neighbors", type=int, default=2,
                        help="knn, panda: k (default: 2)")
    parser.add_argument("--frozen-until", default="auto",
                        help="panda: the last frozen backbone layer; its output maps are "
                             "cached and the layers after it train (default: auto, "
                             "block_13_project_BN of MobileNetV2, or block_12_add when a "
                             "feature layer comes before it)")
    parser.add_argument("--no-flip-average", action="store_true",
                        help="feature methods: do not average features over the image "
                             "and its mirror image")
    parser.add_argument("--feature-cache", default=None,
                        help="feature methods: folder keeping extracted features between "
                             "runs (keyed by data, backbone and input)")
    parser.add_argument("--architecture", choices=["dense", "conv"], default="dense")
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=None,
                        help="autoencoder: training epochs (default: 50); panda: the most "
                             "epochs before early stopping (default: 10)")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="autoencoder: Adam's (default: 1e-3); panda: SGD's "
                             "(default: 1e-2)")
    parser.add_argument("--contamination", type=float, default=0.05,
                        help="share of training scores above the threshold, in (0, 0.5] "
                             "(default: 0.05)")
    parser.add_argument("--train-fraction", type=float, default=0.8,
                        help="benchmark: share of each class used for training "
                             "(default: 0.8)")
    parser.add_argument("--classes", type=table_column, nargs="+", default=None,
                        help="benchmark: normal classes to run, as label indices or class "
                             "names (default: a class named normal, good, ok or ham when "
                             "there is one, else all)")
    parser.add_argument("--export", action="store_true",
                        help="benchmark: also export each class's detector as a SavedModel "
                             "(detectors/<class>/); folder mode always exports detector/")
    text = add_text_arguments(parser, label_use="the benchmark's classes and scoring only")
    text.add_argument("--pooling", choices=["auto", "mean", "cls"], default="auto",
                      help="how the token states of each --layer become one vector: the "
                           "mean over the real tokens, or the first ([CLS]) token's state; "
                           "auto = cls for --layer auto with all-MiniLM-L6-v2, else mean "
                           "(default: auto)")
    add_jit_argument(parser)
    add_common_arguments(parser, "runs/anomaly")
    parser.set_defaults(run=run, batch_size=64)


def _check_arguments(args):
    from tfunsup.anomaly import check_contamination
    from tfunsup.utils.run_directory import check_output_dir

    check_output_dir(args.out, args.overwrite)
    for name in ("latent_dim", "epochs", "batch_size", "n_neighbors"):
        if getattr(args, name) is not None:
            check_positive("--" + name.replace("_", "-"), getattr(args, name))
    if args.learning_rate is not None and not args.learning_rate > 0:
        raise ValueError(
            f"Expected --learning-rate > 0. Received: --learning-rate={args.learning_rate}")
    try:
        check_contamination(args.contamination)
    except ValueError:
        raise ValueError(f"Expected --contamination in (0, 0.5]. "
                         f"Received: --contamination={args.contamination}") from None
    check_fraction("--train-fraction", args.train_fraction)
    check_text_arguments(args)
    if (args.normal is None) != (args.score is None):
        raise ValueError("Expected --normal and --score together. Received: "
                         f"--normal={args.normal}, --score={args.score}")
    for flag in ("normal", "score"):
        folder = getattr(args, flag)
        if folder is not None and not Path(folder).is_dir() and not _is_text(folder):
            raise NotADirectoryError(f"Expected --{flag} to be a folder of images or texts, "
                                     f"or a .csv/.tsv table of texts. Received: --{flag}={folder}")
    if args.normal is not None and args.method == "autoencoder":
        raise ValueError("Folder mode needs a feature method. Received: --method=autoencoder "
                         "(use knn, gaussian or panda)")
    if args.normal is not None:
        text = [_is_text(args.normal), _is_text(args.score)]
        if text[0] != text[1]:
            raise ValueError(f"Expected --normal and --score of one modality. Received: "
                             f"--normal={args.normal} ({'texts' if text[0] else 'images'}), "
                             f"--score={args.score} ({'texts' if text[1] else 'images'})")
        is_text = text[0]
    else:
        is_text = _is_text(_resolve_data(args.data))
    if is_text:
        _check_text_arguments(args)
    else:
        given = [flag for flag, value in (
            ("--sequence-length", args.sequence_length is not None),
            (f"--pooling {args.pooling}", args.pooling != "auto")) if value]
        if given:
            raise ValueError(f"{', '.join(given)} apply to texts. Received them with "
                             f"images: --data={args.normal or args.data}")
    return is_text


def _is_text(path):
    """Whether `path` is text data (`tfunsup.data.text.is_text_data`)."""
    from tfunsup.data.text import is_text_data

    return is_text_data(path)


def _check_text_arguments(args):
    """Image-only flags and methods given with texts fail before any work."""
    if args.method not in TEXT_METHODS:
        raise ValueError(f"Texts take --method knn or gaussian (frozen text-encoder "
                         f"features). Received: --method={args.method} with text data")
    given = [flag for flag, value in (
        ("--image-size", args.image_size is not None),
        ("--frozen-until", args.frozen_until != "auto")) if value]
    if given:
        raise ValueError(f"{', '.join(given)} apply to images. Received them with text "
                         f"data: --data={args.normal or args.data}")


def _resolve_layer(args, summary):
    """`--layer`: None for the backbone's output, else an inner layer name or
    a tuple of names (`summary`: the data's `ImageSummary`, for 'auto')."""
    if args.layer == "output":
        return None
    if args.layer != "auto":
        names = tuple(name.strip() for name in args.layer.split(",") if name.strip())
        return names[0] if len(names) == 1 else names
    from tfunsup.backbones.defaults import default_feature_layers

    return default_feature_layers(args.backbone, summary)


def _resolve_text_features(args):
    """`(layer, pooling)` of a text encoder from `--layer` and `--pooling`
    (`tfunsup.backbones.defaults.default_text_feature_layers` for 'auto')."""
    from tfunsup.backbones.defaults import default_text_feature_layers

    if args.layer == "auto":
        layer, pooling = default_text_feature_layers(args.backbone)
    else:
        layer, pooling = _resolve_layer(args, None), "mean"
    return layer, pooling if args.pooling == "auto" else args.pooling


def _resolve_backbone(args, is_text):
    """`--backbone`, else MobileNetV2 for images and
    `tfunsup.backbones.defaults.default_text_encoder` for texts."""
    if args.backbone is not None:
        return args.backbone
    from tfunsup.backbones.defaults import IMAGENET_BACKBONE, default_text_encoder

    return default_text_encoder()[0] if is_text else IMAGENET_BACKBONE


def _resolve_image_size(args, summary):
    """`--image-size`, else the tiny-photo rule for `keras:` backbones
    (`tfunsup.backbones.defaults.default_image_size`), else None."""
    if args.image_size is not None:
        return tuple(args.image_size)
    if not str(args.backbone).startswith("keras:"):
        return None
    from tfunsup.backbones.defaults import default_image_size

    return default_image_size(summary)


def _resolve_frozen_until(args, layer):
    """`--frozen-until`, or for 'auto' MobileNetV2's rule
    (`tfunsup.backbones.defaults.default_frozen_layer`)."""
    if args.frozen_until != "auto":
        return args.frozen_until
    from tfunsup.backbones.defaults import default_frozen_layer

    frozen_until = default_frozen_layer(args.backbone, layer)
    if frozen_until is None:
        raise ValueError(f"--frozen-until auto knows only keras:MobileNetV2. Received: "
                         f"--backbone={args.backbone}; name the last frozen layer with "
                         f"--frozen-until")
    return frozen_until


def make_detector(args, layer=None, image_size=None, pooling="mean"):
    """The detector the arguments ask for (unfitted); `args.backbone` is the
    resolved spec (`_resolve_backbone`)."""
    from tfunsup.anomaly import (
        GaussianAnomalyDetector,
        KNNAnomalyDetector,
        PANDAAnomalyDetector,
        ReconstructionAnomalyDetector,
    )

    flip = not args.no_flip_average
    verbose = 0 if args.quiet else 1
    text = {"sequence_length": args.sequence_length, "pooling": pooling}
    if args.method == "knn":
        return KNNAnomalyDetector(args.backbone, args.n_neighbors, layer=layer,
                                  image_size=image_size, flip_average=flip, **text,
                                  contamination=args.contamination,
                                  batch_size=args.batch_size, verbose=verbose)
    if args.method == "gaussian":
        return GaussianAnomalyDetector(args.backbone, layer=layer, image_size=image_size,
                                       flip_average=flip, **text,
                                       contamination=args.contamination,
                                       batch_size=args.batch_size, verbose=verbose)
    if args.method == "panda":
        options = {name: getattr(args, name) for name in ("epochs", "learning_rate")
                   if getattr(args, name) is not None}
        return PANDAAnomalyDetector(args.backbone, args.n_neighbors, layer=layer,
                                    image_size=image_size,
                                    frozen_until=_resolve_frozen_until(args, layer),
                                    flip_average=flip, contamination=args.contamination,
                                    batch_size=args.batch_size, seed=args.seed,
                                    verbose=0, **options)
    return ReconstructionAnomalyDetector(
        args.architecture, args.latent_dim, epochs=args.epochs or 50,
        batch_size=args.batch_size, learning_rate=args.learning_rate or 1e-3,
        contamination=args.contamination,
        jit_compile=JIT_CHOICES[args.jit], seed=args.seed)


def _resolve_data(name):
    """A dataset name or path; a relative path that is not found but is in the
    shared data folder (e.g. `cifar10-test`, `text/sms_spam.tsv`) resolves
    there."""
    from tfunsup.data.datasets import dataset_names
    from tfunsup.data.shared import data_dir

    if name in dataset_names() or Path(name).exists() or Path(name).is_absolute():
        return name
    shared = data_dir() / name
    return str(shared) if shared.exists() else name


def _cached_features(detector, dataset, cache_dir, quiet):
    """`detector.extract_dataset_features(dataset)`, kept in `cache_dir`."""
    from tfunsup.data import feature_key, load_features, save_features

    if cache_dir is None:
        return detector.extract_dataset_features(dataset)
    spec = detector.image_spec
    name = f"{detector._backbone.spec_name},flip_average={detector.flip_average}"
    # (spec_name carries ",layer=..." for an inner layer.)
    key = feature_key(dataset, name, spec)
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"anomaly-features-{digest}.npz"
    if path.is_file():
        if not quiet:
            print(f"features from {path}", flush=True)
        return load_features(path)
    features = detector.extract_dataset_features(dataset)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    save_features(path, features, dataset.ids)
    return features


def run(args):
    start = time.perf_counter()
    is_text = _check_arguments(args)
    args.backbone = _resolve_backbone(args, is_text)
    if args.normal is not None:
        return _run_folders(args, start)
    return _run_benchmark(args, start)


def _panda_metrics(base, detectors):
    """The PANDA settings and, per fitted detector, its training record."""
    params = base.get_params()
    return {
        **{name: params[name] for name in (
            "frozen_until", "epochs", "learning_rate", "momentum", "weight_decay",
            "clipnorm", "train_batch_size", "validation_fraction", "patience", "min_delta")},
        "epochs_run": {key: d.n_epochs_ for key, d in detectors.items()},
        "best_epoch": {key: d.best_epoch_ for key, d in detectors.items()},
        "history": {key: d.history_ for key, d in detectors.items()},
    }


# -- benchmark mode ----------------------------------------------------------------


def _run_benchmark(args, start):
    import numpy as np
    from sklearn.base import clone

    from tfunsup.anomaly import anomaly_metrics, one_class_split
    from tfunsup.anomaly.plots import save_score_histograms, save_top_anomalies
    from tfunsup.data import load_dataset
    from tfunsup.data.text import TextDataset
    from tfunsup.utils.run_directory import RunDirectory

    data_name = _resolve_data(args.data)
    dataset = load_dataset(data_name, image_size=(32, 32), text_column=args.text_column,
                           label_column=args.label_column)
    is_text = isinstance(dataset, TextDataset)
    if dataset.labels is None:
        raise ValueError(f"The one-class protocol needs labeled data to score; "
                         f"'{args.data}' has no labels (for unlabeled folders use "
                         f"--normal DIR --score DIR).")
    classes = _benchmark_classes(dataset, args.classes)
    layer = image_size = None
    pooling = "mean"
    if is_text:
        layer, pooling = _resolve_text_features(args)
    elif args.method in FEATURE_METHODS:
        summary = dataset.summary()
        layer, image_size = _resolve_layer(args, summary), _resolve_image_size(args, summary)
    base = make_detector(args, layer, image_size, pooling)
    skipped = []
    if is_text:
        extracted = base.extract_dataset_features(
            dataset, cache_dir=args.feature_cache or default_cache_dir())
        features, kept = extracted.features, extracted.index
        skipped = [item for item, _ in dataset.skipped]
    elif args.method in FEATURE_METHODS:
        extracted = _cached_features(base, dataset, args.feature_cache, args.quiet)
        features, kept, skipped = extracted.features, extracted.index, list(extracted.skipped)
    else:
        kept = np.arange(len(dataset))
        features = dataset.images
    labels = dataset.labels[kept]
    result = {"auc_per_class": {}, "ap_per_class": {}, "threshold_per_class": {},
              "flagged_normal_rate_per_class": {}}
    scores, is_anomaly, tests, detectors = {}, {}, {}, {}
    for c in classes:
        train, test = one_class_split(labels, c, args.train_fraction, args.seed,
                                      anomalies="all")
        detector = clone(base)
        if args.method in FEATURE_METHODS:
            detector.share_feature_model(base)
            detector.fit_features(features[train])
            s = detector.score_features(features[test])
        else:
            detector.fit(features[train])
            s = detector.score_samples(features[test])
        truth = labels[test] != c
        metrics = anomaly_metrics(truth, s)
        result["auc_per_class"][c] = metrics["roc_auc"]
        result["ap_per_class"][c] = metrics["average_precision"]
        result["threshold_per_class"][c] = detector.threshold_
        result["flagged_normal_rate_per_class"][c] = float(np.mean(s[~truth] > detector.threshold_))
        scores[c], is_anomaly[c], tests[c], detectors[c] = s, truth, test, detector
        if not args.quiet:
            print(f"normal class {_class_name(dataset, c)}: ROC-AUC {metrics['roc_auc']:.3f}, "
                  f"AP {metrics['average_precision']:.3f}", flush=True)
    metrics = {
        "dataset": args.data, "modality": "text" if is_text else "image",
        "method": args.method,
        "protocol": "one-class: fit on train_fraction of class c; test on the rest of "
                    "class c (normal) and all other classes (anomalous)",
        "train_fraction": args.train_fraction, "contamination": args.contamination,
        "seed": args.seed, "n_items": len(dataset), "skipped_files": skipped,
        "normal_classes": {c: _class_name(dataset, c) for c in classes},
        **{k: v for k, v in result.items()},
        "mean_auc": float(np.mean(list(result["auc_per_class"].values()))),
        "mean_ap": float(np.mean(list(result["ap_per_class"].values()))),
    }
    if is_text:
        metrics.update(backbone=args.backbone, layer=layer, pooling=pooling,
                       sequence_length=getattr(base._backbone, "sequence_length", None),
                       feature_dim=int(features.shape[1]))
    elif args.method in FEATURE_METHODS:
        metrics.update(backbone=args.backbone, layer=layer,
                       image_size=[base.image_spec.height, base.image_spec.width],
                       flip_average=not args.no_flip_average,
                       feature_dim=int(features.shape[1]))
    else:
        metrics.update(architecture=args.architecture, latent_dim=args.latent_dim,
                       epochs=base.epochs)
    if args.method in ("knn", "panda"):
        metrics["n_neighbors"] = args.n_neighbors
    if args.method == "panda":
        metrics.update(_panda_metrics(base, detectors))
    positions = {c: kept[tests[c]] for c in classes}  # dataset positions of the test items
    with RunDirectory(args.out, overwrite=args.overwrite) as out:
        _write_benchmark_scores(out.path / "scores.csv", dataset, positions, scores,
                                result["threshold_per_class"])
        save_score_histograms({_class_name(dataset, c): scores[c] for c in classes},
                              {_class_name(dataset, c): is_anomaly[c] for c in classes},
                              out.path / "score_histograms.png",
                              {_class_name(dataset, c): result["auc_per_class"][c]
                               for c in classes})
        if is_text:
            _write_text_list(out.path / "most_anomalous_texts.csv", dataset, positions, scores)
        if args.method == "autoencoder":
            images = {c: dataset.images[kept[tests[c]]] for c in classes}
            save_top_anomalies(images, scores, {c: labels[tests[c]] for c in classes},
                               out.path / "top_anomalies.png")
        if args.export:
            for c, detector in detectors.items():
                detector.export(out.path / "detectors" / str(c))
        metrics["seconds"] = time.perf_counter() - start
        write_json(out.path / "metrics.json", metrics)
    print_table([[_class_name(dataset, c), result["auc_per_class"][c], result["ap_per_class"][c]]
                 for c in classes] + [["mean", metrics["mean_auc"], metrics["mean_ap"]]],
                ["normal class", "ROC-AUC", "AP"])
    print(f"wrote {args.out}/ in {metrics['seconds']:.1f} s")
    return 0


def _class_name(dataset, label):
    """The class name of a label index, else the index as a string."""
    names = getattr(dataset, "class_names", None)
    return str(names[label]) if names else str(label)


def _benchmark_classes(dataset, requested):
    """The normal classes (label indices) of a benchmark run.

    `requested` (`--classes`): class names, or label indices when no class
    has that name. None: the class named like `NORMAL_FOLDER_NAMES` when the
    data has one (e.g. SMS spam's ham), else every class.
    """
    import numpy as np

    known = sorted(np.unique(dataset.labels).tolist())
    names = [str(n) for n in (getattr(dataset, "class_names", None) or ())]
    if requested is None:
        normal = [i for i, name in enumerate(names) if name.lower() in NORMAL_FOLDER_NAMES]
        return normal[:1] if normal and normal[0] in known else known
    classes = []
    for value in requested:
        if str(value) in names:
            classes.append(names.index(str(value)))
        elif isinstance(value, int) and value in known:
            classes.append(value)
        else:
            shown = f"{known} or names {names}" if names else f"{known}"
            raise ValueError(f"Expected --classes among {shown}. "
                             f"Received: --classes={' '.join(map(str, requested))}")
    return classes


def _id_column(dataset):
    """`path` for files, `row` for a text table, `index` for arrays (as
    `tfunsup cluster` names its assignments' ids)."""
    from tfunsup.data import FileDataset
    from tfunsup.data.text import TextDataset

    if isinstance(dataset, FileDataset) or (
            isinstance(dataset, TextDataset) and Path(dataset.name).is_dir()):
        return "path"
    return "row" if isinstance(dataset, TextDataset) else "index"


def _write_benchmark_scores(path, dataset, positions, scores, thresholds):
    """scores.csv of a benchmark: per normal class its test items, most
    anomalous first, keyed by file path / table row / array index."""
    import numpy as np

    ids = np.asarray(dataset.ids)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["normal_class", _id_column(dataset), "label", "score", "is_anomaly"])
        for c, rows in positions.items():
            name = _class_name(dataset, c)
            for i in np.argsort(-scores[c], kind="stable"):
                writer.writerow([name, ids[rows[i]], _class_name(dataset, dataset.labels[rows[i]]),
                                 f"{scores[c][i]:.6g}", int(scores[c][i] > thresholds[c])])


def _write_text_list(path, dataset, positions, scores, labels=True, n=N_LISTED_TEXTS):
    """The `n` most anomalous texts per normal class (one line each, at most
    300 characters), to read what the detector flags."""
    import numpy as np

    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["normal_class", "rank", _id_column(dataset), "score"]
                        + (["label"] if labels else []) + ["text"])
        for c, rows in positions.items():
            for rank, i in enumerate(np.argsort(-scores[c], kind="stable")[:n], 1):
                position = rows[i]
                label = [_class_name(dataset, dataset.labels[position])] if labels else []
                writer.writerow([_class_name(dataset, c) if c is not None else "", rank,
                                 dataset.ids[position], f"{scores[c][i]:.6g}", *label,
                                 " ".join(str(dataset.texts[position]).split())[:300]])


# -- folder mode ------------------------------------------------------------------


def _normal_label(dataset, args):
    """The label of the normal sub-folder (or table label) of a labelled
    --score folder, or None."""
    if dataset.labels is None or dataset.class_names is None:
        return None
    names = [str(name) for name in dataset.class_names]
    if args.normal_class is not None:
        if args.normal_class not in names:
            raise ValueError(f"Expected --normal-class among the --score sub-folders "
                             f"{names}. Received: --normal-class={args.normal_class}")
        return names.index(args.normal_class)
    wanted = NORMAL_FOLDER_NAMES + (Path(args.normal).resolve().name.split(".")[0].lower(),)
    for i, name in enumerate(names):
        if name.lower() in wanted:
            return i
    return None


def _run_folders(args, start):
    import numpy as np

    from tfunsup.anomaly import anomaly_metrics
    from tfunsup.anomaly.plots import save_ranked_images, save_score_distribution
    from tfunsup.data import load_dataset
    from tfunsup.data.text import TextDataset
    from tfunsup.utils.run_directory import RunDirectory

    columns = {"text_column": args.text_column, "label_column": args.label_column}
    normal = load_dataset(args.normal, **columns)
    to_score = load_dataset(args.score, **columns)
    is_text = isinstance(normal, TextDataset)
    normal_label = _normal_label(to_score, args)
    if is_text:
        layer, pooling = _resolve_text_features(args)
        image_size = None
    else:
        summary = normal.summary()
        layer, image_size = _resolve_layer(args, summary), _resolve_image_size(args, summary)
        pooling = "mean"
    detector = make_detector(args, layer, image_size, pooling)
    cache_dir = {"cache_dir": args.feature_cache or default_cache_dir()} if is_text else {}
    fit_features = detector.extract_dataset_features(normal, **cache_dir)
    detector.fit_features(fit_features.features)
    if not is_text:
        detector.n_channels_ = 3
    scored = detector.extract_dataset_features(to_score, **cache_dir)
    scores = detector.score_features(scored.features)
    flags = (scores > detector.threshold_).astype(int)
    ids = to_score.ids[scored.index]
    order = np.argsort(-scores, kind="stable")
    if is_text:
        skipped_normal = [item for item, _ in normal.skipped]
        skipped_score = [item for item, _ in to_score.skipped]
    else:
        skipped_normal, skipped_score = list(fit_features.skipped), list(scored.skipped)
    metrics = {
        "mode": "folders", "modality": "text" if is_text else "image", "method": args.method,
        "backbone": args.backbone, "layer": layer, "normal": str(args.normal),
        "score": str(args.score), "contamination": args.contamination,
        "threshold": detector.threshold_, "n_normal": len(fit_features.features),
        "n_scored": len(scores), "n_flagged": int(flags.sum()),
        "skipped_normal_files": skipped_normal, "skipped_score_files": skipped_score,
        "score_summary": {"min": float(scores.min()), "median": float(np.median(scores)),
                          "max": float(scores.max())},
    }
    if is_text:
        metrics.update(pooling=pooling,
                       sequence_length=getattr(detector._backbone, "sequence_length", None))
    else:
        metrics.update(image_size=[detector.image_spec.height, detector.image_spec.width],
                       flip_average=not args.no_flip_average)
    if args.method in ("knn", "panda"):
        metrics["n_neighbors"] = args.n_neighbors
    if args.method == "panda":
        metrics.update(_panda_metrics(detector, {"normal": detector}))
    truth = None
    if normal_label is not None:
        truth = to_score.labels[scored.index] != normal_label
        metrics["normal_class"] = str(to_score.class_names[normal_label])
        if 0 < truth.sum() < len(truth):
            metrics.update(anomaly_metrics(truth, scores))
        else:
            truth = None
    id_column = _id_column(to_score) if is_text else "path"
    with RunDirectory(args.out, overwrite=args.overwrite) as out:
        with open(out.path / "scores.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([id_column, "score", "is_anomaly"])
            for i in order:
                writer.writerow([ids[i], f"{scores[i]:.6g}", flags[i]])
        skipped = skipped_normal + skipped_score
        if skipped:
            (out.path / "skipped_files.txt").write_text("\n".join(skipped) + "\n")
        if is_text:
            save_score_distribution(scores, out.path / "score_histogram.png",
                                    threshold=detector.threshold_, is_anomaly=truth)
            _write_text_list(out.path / "most_anomalous_texts.csv", to_score,
                             {None: scored.index}, {None: scores},
                             labels=to_score.labels is not None)
        else:
            paths = [str(Path(to_score.root) / ids[i]) for i in order]
            save_ranked_images(paths, scores[order], out.path / "most_and_least_anomalous.png",
                               threshold=detector.threshold_)
        detector.export(out.path / "detector", **({} if is_text else {"channels": 3}))
        metrics["seconds"] = time.perf_counter() - start
        write_json(out.path / "metrics.json", metrics)
    if not args.quiet:
        for i in order[:5]:
            print(f"{scores[i]:.4f}  {'ANOMALY' if flags[i] else 'normal '}  {ids[i]}")
        if skipped:
            print(f"skipped {len(skipped)} unreadable item(s): {', '.join(skipped[:5])}")
    summary = (f"flagged {int(flags.sum())} of {len(scores)} {'texts' if is_text else 'images'} "
               "as anomalous")
    if "roc_auc" in metrics:
        summary += f"; ROC-AUC {metrics['roc_auc']:.3f}, AP {metrics['average_precision']:.3f}"
    print(f"{summary}; wrote {args.out}/ in {metrics['seconds']:.1f} s")
    return 0
