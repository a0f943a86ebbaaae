"""`tfunsup cluster`: transfer a pretrained backbone, cluster unlabeled images
or texts, turn the clusters into a classifier."""

import csv
import os
import shutil
import time
from pathlib import Path

from tfunsup.cli.common import (
    add_common_arguments,
    add_deterministic_argument,
    add_text_arguments,
    check_text_arguments,
    default_cache_dir,
    print_table,
    write_json,
)

DEFAULT_DATA = "digits"


# --fine-tune / --flip-average values -> estimator arguments.
ON_OFF_AUTO = {"auto": "auto", "on": True, "off": False}


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "cluster", help="cluster unlabeled images or texts with a transferred backbone",
        description="Cluster unlabeled images or texts in a pretrained backbone's feature "
                    "space and train a classifier on the clusters. The backbone is chosen "
                    "from the data unless given: the MNIST-5k source model for small grey "
                    "digit-like images, ImageNet MobileNetV2 for photos, the "
                    "all-MiniLM-L6-v2 sentence encoder for texts.")
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help="dataset name, image folder, .npz, or text: a folder of .txt "
                             "files (sub-folders = labels) or a .csv/.tsv table "
                             "(default: digits)")
    parser.add_argument("--backbone", default=None,
                        help="TF Hub URL, SavedModel folder or keras:<Application>[,alpha=..]; "
                             "for text a keras-hub preset (folder, hf://, kaggle://) or a "
                             "SavedModel taking strings (default: chosen from the data)")
    parser.add_argument("--n-clusters", type=_int_or_auto, default=10,
                        help="number of clusters K, or 'auto' to estimate it from the "
                             "eigengap of the k-NN graph (writes n_clusters.png) (default: 10)")
    parser.add_argument("--image-size", type=int, nargs=2, default=None,
                        metavar=("HEIGHT", "WIDTH"),
                        help="backbone input size (default: the backbone's own)")
    parser.add_argument("--weights", default="imagenet", choices=["imagenet", "none"],
                        help="weights of keras: backbones (default: imagenet)")
    parser.add_argument("--clustering", default="auto",
                        choices=["auto", "umap", "spectral", "kmeans"],
                        help="how pseudo-labels are found: K-means on a UMAP embedding "
                             "(N2D), spectral clustering of the k-NN graph, or K-means on "
                             "the features; auto = umap for images, kmeans for texts "
                             "(default: auto)")
    parser.add_argument("--graph-neighbors", type=_int_or_auto, default="auto",
                        help="k of the k-NN graph (spectral clustering and --n-clusters "
                             "auto); 'auto' chooses it from the data (default: auto)")
    parser.add_argument("--umap-neighbors", type=_int_or_auto, default="auto",
                        help="UMAP neighbourhood size; 'auto' = a quarter of the average "
                             "cluster size, between 10 and 30 (default: auto)")
    parser.add_argument("--restart-tolerance", type=float, default=0.05,
                        help="K-means restarts on the UMAP embedding within this relative "
                             "inertia margin of the best are judged by the compactness of "
                             "their clusters in the feature space; 0 = the embedding alone "
                             "(default: 0.05)")
    parser.add_argument("--flip-average", default="auto", choices=["auto", "on", "off"],
                        help="average each image's features with its mirror image's: auto "
                             "= on unless the images are small grey digits (default: auto)")
    parser.add_argument("--head-epochs", type=int, default=15)
    parser.add_argument("--refinement", default="auto", choices=["auto", "on", "off"],
                        help="train the head on frozen features with SCAN's neighbour "
                             "consistency instead of self-labeling: auto = on for texts, "
                             "off for images (default: auto)")
    parser.add_argument("--fine-tune", default="auto", choices=["auto", "on", "off"],
                        help="train the backbone with the head: auto = only small "
                             "backbones (<= 1M parameters); large ones train the head "
                             "on cached features (default: auto)")
    parser.add_argument("--no-fine-tune", action="store_true",
                        help="same as --fine-tune off")
    parser.add_argument("--embedding", default="pca", choices=["pca", "tsne"])
    parser.add_argument("--label-pattern", default=None,
                        help="regular expression with one group giving each file's label "
                             r"from its path, for scoring only (COIL-20: 'obj(\d+)__')")
    parser.add_argument("--strict", action="store_true",
                        help="fail before any work if a file cannot be decoded "
                             "(default: skip and list it in metrics.json)")
    parser.add_argument("--features", nargs="+", default=None, metavar="NPZ",
                        help="reuse features.npz from an earlier run, or merge the "
                             "per-shard files of a split extraction")
    parser.add_argument("--num-shards", type=int, default=1,
                        help="split feature extraction across N workers; with N > 1 "
                             "this run only extracts shard --shard-index into --out")
    parser.add_argument("--shard-index", type=int, default=0)
    parser.add_argument("--export-clusters", default=None, choices=["symlink", "copy"],
                        help="also write clusters/<k>/ folders of symlinks or copies")
    add_text_arguments(parser, label_use="scoring only", cache_dir=True)
    add_common_arguments(parser, "runs/cluster")
    add_deterministic_argument(parser)
    # Feature extraction sizes its batches to the backbone input by default.
    parser.set_defaults(run=run, batch_size=None)


def _int_or_auto(value):
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"expected an integer or 'auto', got {value!r}")


def _check_arguments(args):
    from tfunsup.utils.run_directory import check_output_dir

    check_output_dir(args.out, args.overwrite)
    if args.n_clusters != "auto" and args.n_clusters < 2:
        raise ValueError(f"Expected --n-clusters >= 2. Received: --n-clusters={args.n_clusters}")
    for name in ("batch_size", "head_epochs"):
        value = getattr(args, name)
        if value is not None and value < (1 if name == "batch_size" else 0):
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"Expected valid {flag}. Received: {flag}={getattr(args, name)}")
    if not args.restart_tolerance >= 0:
        raise ValueError("Expected --restart-tolerance >= 0. Received: "
                         f"--restart-tolerance={args.restart_tolerance}")
    if args.num_shards < 1 or not 0 <= args.shard_index < args.num_shards:
        raise ValueError(
            "Expected --num-shards >= 1 and 0 <= --shard-index < --num-shards. Received: "
            f"--num-shards={args.num_shards}, --shard-index={args.shard_index}")
    check_text_arguments(args)
    if args.num_shards > 1 and args.features:
        raise ValueError("--num-shards extracts features; it cannot be combined with --features.")
    for path in args.features or ():
        if not Path(path).is_file():
            raise FileNotFoundError(f"--features file '{path}' does not exist.")


def _features(args, data, backbone, say):
    """The dataset's features: merged from --features, reused from --out, or
    extracted (this worker's shard only with --num-shards)."""
    from tfunsup.data import (
        FEATURES_FILENAME,
        FeatureCacheMismatchError,
        extract_features,
        feature_key,
        load_features,
        merge_features,
    )

    key = feature_key(data, backbone.spec_name, backbone.image_spec,
                      getattr(backbone, "sequence_length", None))
    if args.features:
        say(f"Reading features from {', '.join(args.features)} ...")
        return merge_features([load_features(p) for p in args.features], key), "loaded"
    previous = Path(args.out) / FEATURES_FILENAME
    if args.overwrite and previous.is_file() and args.num_shards == 1:
        try:
            result = merge_features([load_features(previous)], key)
            say(f"Reusing the features in {previous} (same data, backbone and input).")
            return result, "reused"
        except (FeatureCacheMismatchError, ValueError):
            pass
    start = time.perf_counter()
    result = extract_features(backbone, data, batch_size=args.batch_size,
                              num_shards=args.num_shards, shard_index=args.shard_index,
                              cache_dir=args.cache_dir or default_cache_dir(),
                              verbose=0 if args.quiet else 1)
    say(f"Features of {len(result.index)} items in {time.perf_counter() - start:.1f} s.")
    return result, "extracted"


def _check_text_arguments(args):
    """Image-only flags given with text data fail before any work."""
    given = [flag for flag, value in (
        ("--image-size", args.image_size), ("--label-pattern", args.label_pattern),
        ("--flip-average on", args.flip_average == "on"),
        ("--fine-tune on", args.fine_tune == "on"),
        ("--num-shards", args.num_shards > 1)) if value]
    if given:
        raise ValueError(f"{', '.join(given)} apply to images. Received them with text "
                         f"data: --data={args.data}")


def _write_top_terms(texts, labels, folder, n_terms=10):
    """top_terms.csv / .json and top_terms.png; returns `{cluster: [terms]}`."""
    from tfunsup.cluster.top_terms import top_terms
    from tfunsup.utils.plots import save_top_terms

    terms = top_terms(texts, labels, n_terms=n_terms)
    with open(folder / "top_terms.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["cluster", "rank", "term", "score"])
        for cluster, ranked in terms.items():
            for rank, (term, score) in enumerate(ranked, 1):
                writer.writerow([cluster, rank, term, f"{score:.4f}"])
    write_json(folder / "top_terms.json",
               {str(c): [{"term": t, "score": s} for t, s in ranked]
                for c, ranked in terms.items()})
    save_top_terms(terms, labels, folder / "top_terms.png")
    return {str(c): [t for t, _ in ranked] for c, ranked in terms.items()}


def _thumbnail_loader(data, index_of_row, size=96):
    """`load(rows)` decoding only the requested items, for the montage."""
    from tfunsup.data import ArrayDataset, ImageSpec, image_pipeline

    def load(rows):
        import numpy as np

        if isinstance(data, ArrayDataset):
            return data.images[index_of_row[rows]]
        subset = data.subset(index_of_row[rows])
        spec = ImageSpec(size, size, 3, crop_to_aspect_ratio=True)
        out = np.zeros((len(rows), size, size, 3), np.float32)
        for images, positions in image_pipeline(subset, spec, batch_size=64):
            out[positions.numpy()] = images.numpy()
        return out

    return load


def _export_clusters(data, index, labels, folder, mode):
    """clusters/<k>/<path with '/' as '__'>: a symlink or copy per file."""
    ids = data.ids
    for position, cluster in zip(index, labels):
        source = Path(data.files[position]).absolute()
        target = folder / str(int(cluster)) / ids[position].replace("/", "__")
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "symlink":
            os.symlink(source, target)
        else:
            shutil.copy2(source, target)


def run(args):
    start = time.perf_counter()
    _check_arguments(args)
    from tfunsup.backbones.defaults import domain_mismatch
    from tfunsup.cluster.transfer_clustering import load_feature_backbone
    from tfunsup.data import (
        FileDataset,
        check_n_clusters,
        find_unreadable,
        load_dataset,
    )
    from tfunsup.data.text import TextDataset

    def say(message):
        if not args.quiet:
            print(message, flush=True)

    data = load_dataset(args.data, label_pattern=args.label_pattern,
                        text_column=args.text_column, label_column=args.label_column)
    is_text = isinstance(data, TextDataset)
    if args.n_clusters != "auto":
        check_n_clusters(args.n_clusters, len(data))
    if args.export_clusters and not isinstance(data, FileDataset):
        raise ValueError(f"--export-clusters needs a folder of images. Received: --data={args.data}")
    if is_text:
        _check_text_arguments(args)
    if args.strict:
        unreadable = ([item for item, _ in data.skipped] if is_text
                      else find_unreadable(data))
        if unreadable:
            shown = ", ".join(unreadable[:5]) + (
                f" and {len(unreadable) - 5} more" if len(unreadable) > 5 else "")
            raise ValueError(f"--strict: {len(unreadable)} item(s) in '{args.data}' cannot be "
                             f"read: {shown}")
    summary = None if is_text else data.summary()
    weights = None if args.weights == "none" else "imagenet"
    flip_average = ON_OFF_AUTO[args.flip_average]
    backbone, spec, image_size, reason = load_feature_backbone(
        args.backbone, data, image_size=tuple(args.image_size) if args.image_size else None,
        flip_average=flip_average, weights=weights, summary=summary,
        sequence_length=args.sequence_length)
    say(f"Backbone: {backbone.spec_name} ({reason}).")
    mismatch = None if is_text else domain_mismatch(backbone.image_spec, summary,
                                                    backbone.spec_name)
    if mismatch:
        import warnings

        warnings.warn(mismatch, stacklevel=1)
    features, feature_source = _features(args, data, backbone, say)

    from tfunsup.data import FEATURES_FILENAME, save_features
    from tfunsup.utils.run_directory import RunDirectory

    skipped = list(features.skipped) + [item for item, _ in getattr(data, "skipped", ())]
    metrics = {"dataset": args.data, "modality": "text" if is_text else "image",
               "backbone": backbone.spec_name, "backbone_choice": reason,
               "n_files": len(data), "skipped_files": skipped, "features": feature_source}
    if args.num_shards > 1:
        with RunDirectory(args.out, overwrite=args.overwrite) as out:
            save_features(out.path / FEATURES_FILENAME, features, data.ids)
            metrics.update(num_shards=args.num_shards, shard_index=args.shard_index,
                           n_samples=len(features.index),
                           seconds=time.perf_counter() - start)
            write_json(out.path / "metrics.json", metrics)
        say(f"wrote shard {args.shard_index} of {args.num_shards} to {args.out}/")
        return 0

    from sklearn.cluster import KMeans

    from tfunsup.cluster import TransferClustering
    from tfunsup.cluster.transfer_clustering import predict_in_chunks
    from tfunsup.metrics import clustering_scores
    from tfunsup.utils.plots import save_cluster_montage, save_embedding

    fine_tune = ON_OFF_AUTO["off" if args.no_fine_tune else args.fine_tune]
    clustering = args.clustering
    if clustering == "auto":
        # Texts: K-means on the sentence embeddings. UMAP + K-means was
        # unstable on BBC's MiniLM embeddings (with the head, ACC 0.958,
        # 0.956, 0.719 over seeds 0-2, against 0.958-0.959 for K-means;
        # README "Text").
        clustering = "kmeans" if is_text else "umap"
    # Texts: the SCAN-style refinement head (BBC ACC 0.962 ± 0.001 over seeds
    # 0-2 against 0.958 for the self-labeling head; README "Text").
    refinement = is_text if args.refinement == "auto" else ON_OFF_AUTO[args.refinement]
    estimator = TransferClustering(
        backbone if is_text else spec, args.n_clusters, clustering=clustering,
        graph_neighbors=args.graph_neighbors,
        umap_neighbors=args.umap_neighbors, restart_tolerance=args.restart_tolerance,
        head_epochs=args.head_epochs, fine_tune=fine_tune,
        refinement=refinement, batch_size=args.batch_size, weights=weights, image_size=image_size,
        flip_average=flip_average, sequence_length=args.sequence_length, seed=args.seed,
        deterministic=args.deterministic, verbose=0 if args.quiet else 1)
    # The k-means baseline only scores: no labels, no baseline (at 50,000
    # items it is minutes of work). With K given it runs before the
    # clustering, on the L2-normalised features the estimator clusters (its
    # `embedding_`, the same values), so that its copies of them come on
    # top of the least memory in use.
    labels = None if data.labels is None else data.labels[features.index]
    kmeans_labels = None
    if labels is not None and args.n_clusters != "auto":
        from tfunsup.cluster.graph import l2_normalize

        kmeans_labels = KMeans(args.n_clusters, n_init=10, random_state=args.seed).fit_predict(
            l2_normalize(features.features))
    say(f"Clustering {len(features.index)} {'texts' if is_text else 'images'} of "
        f"'{args.data}' ...")
    estimator.fit(data, features=features)  # no labels: they only score below
    index = estimator.index_
    n_clusters = estimator.n_clusters_

    metrics.update({"n_clusters": n_clusters, "n_clusters_auto": args.n_clusters == "auto",
                    "clustering": clustering, "refinement": refinement,
                    "graph_neighbors": estimator.graph_neighbors_,
                    "umap_neighbors": estimator.umap_neighbors_,
                    "restart_tolerance": args.restart_tolerance if clustering == "umap" else None,
                    "image_size": None if is_text else list(backbone.image_spec.shape[:2]),
                    "sequence_length": getattr(backbone, "sequence_length", None),
                    "n_samples": len(index), "seed": args.seed,
                    "fine_tuned": estimator.fine_tuned_, "acc": None, "nmi": None, "ari": None})
    features_baseline = is_text or isinstance(data, FileDataset)
    baseline = {"method": "k-means on the backbone features" if features_baseline
                else "k-means on raw pixels", "acc": None, "nmi": None, "ari": None}
    if labels is not None:
        if kmeans_labels is None:  # K estimated by the clustering
            kmeans_labels = KMeans(n_clusters, n_init=10, random_state=args.seed).fit_predict(
                estimator.embedding_)
        metrics.update(clustering_scores(labels, estimator.labels_))
        metrics["stages"] = {
            "kmeans_features": clustering_scores(labels, kmeans_labels),
            "clustering": clustering_scores(labels, estimator.pseudo_label_history_[0]),
            "svm": clustering_scores(labels, predict_in_chunks(estimator.svm_.predict,
                                                               estimator.embedding_)),
            "final": clustering_scores(labels, estimator.labels_),
        }
        if features_baseline:
            baseline.update(metrics["stages"]["kmeans_features"])
        else:
            flat = data.images[index].reshape(len(index), -1)
            baseline.update(clustering_scores(labels, KMeans(
                n_clusters, n_init=10, random_state=args.seed).fit_predict(flat)))
    metrics["baseline"] = baseline

    ids = data.ids
    with RunDirectory(args.out, overwrite=args.overwrite) as out:
        save_features(out.path / FEATURES_FILENAME, features, ids)
        id_column = ("path" if isinstance(data, FileDataset)
                     or (is_text and Path(data.name).is_dir())
                     else "row" if is_text else "index")
        with open(out.path / "assignments.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([id_column, "cluster", "confidence"]
                            + (["label"] if labels is not None else []))
            for row, position in enumerate(index):
                label = []
                if labels is not None:
                    label = [data.class_names[labels[row]] if data.class_names
                             else int(labels[row])]
                writer.writerow([ids[position], int(estimator.labels_[row]),
                                 f"{estimator.confidences_[row]:.4f}"] + label)
        if is_text:
            metrics["top_terms"] = _write_top_terms(data.texts[index], estimator.labels_,
                                                    out.path)
        else:
            save_cluster_montage(_thumbnail_loader(data, index), estimator.labels_,
                                 out.path / "clusters.png", order=-estimator.confidences_)
        save_embedding(estimator.features_, estimator.labels_, out.path / "embedding.png",
                       method=args.embedding, seed=args.seed)
        if estimator.n_clusters_curve_ is not None:
            from tfunsup.cluster.n_clusters import plot_n_clusters_curve

            plot_n_clusters_curve(estimator.n_clusters_curve_, n_clusters).savefig(
                out.path / "n_clusters.png", dpi=90)
            metrics["n_clusters_curve"] = {
                "n_clusters_range": [int(k) for k in estimator.n_clusters_curve_[
                    "n_clusters_range"]],
                "gaps": [float(g) for g in estimator.n_clusters_curve_["gaps"]]}
        if args.export_clusters:
            _export_clusters(data, index, estimator.labels_, out.path / "clusters",
                             args.export_clusters)
        if estimator.classifier_ is not None:
            estimator.export(out.path / "classifier")
        metrics["seconds"] = time.perf_counter() - start
        write_json(out.path / "metrics.json", metrics)

    if labels is not None:
        print_table([["tfunsup (" + backbone.spec_name.split("/")[-1] + ")",
                      metrics["acc"], metrics["nmi"], metrics["ari"]],
                     [baseline["method"], baseline["acc"], baseline["nmi"], baseline["ari"]]],
                    ["method", "ACC", "NMI", "ARI"])
    if features.skipped:
        print(f"skipped {len(features.skipped)} unreadable file(s); listed in metrics.json")
    print(f"wrote {args.out}/ in {metrics['seconds']:.1f} s")
    return 0
