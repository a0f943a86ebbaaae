"""Speech: FSDD speaker transfer with the `tfunsup.adapt` estimators.

A log-mel + small CNN network (`tfunsup.backbones.log_mel_cnn`) is trained
with labels on four FSDD speakers (george, jackson, lucas, nicolas) and
transferred to the other two (theo, yweweler: the last two names
alphabetically, a rule fixed before any model was trained), whose labels
never reach `fit` and only score. Per seed:

- source-only: `SourceOnly` on the four speakers;
- SHOT: `SHOT(source_model=<that source-only model>)` on the two held-out
  speakers' recordings (source-free);
- DANN: `DANN` on the four labeled speakers and the two unlabeled ones;
- clustering: k-means (K = 10) on the L2-normalised features of the
  SHOT-adapted feature extractor, and, as the before-adaptation reference,
  of the source-only one; ACC (Hungarian), NMI, ARI.

Every number is the mean ± std (numpy's population std) over --seeds, with
the wall time of each step and of each seed's whole run. Takes about 6-9
minutes per seed on 2 CPU cores.

    TFUNSUP_DATA_DIR=../shared/data python benchmarks/bench_fsdd_speech.py --seeds 0 1 2
"""

import argparse
import json
import time

import numpy as np

DEFAULTS = {"epochs": 20, "adapt_epochs": 15}


def cluster_features(features, labels, n_clusters, seed):
    """k-means on L2-normalised features; ACC/NMI/ARI against `labels`
    (labels only score)."""
    from tfunsup.cluster.graph import kmeans_labels, l2_normalize
    from tfunsup.metrics.clustering import clustering_scores

    predicted = kmeans_labels(l2_normalize(features), n_clusters, seed=seed)
    return clustering_scores(labels, predicted)


def run_seed(seed, source, target, epochs, adapt_epochs, dann=True):
    """One seed's source-only, SHOT, DANN (unless `dann=False`) and
    clustering numbers and times."""
    from tfunsup.adapt import DANN, SHOT, SourceOnly

    unlabeled = target.without_labels()  # the target labels never reach fit
    row, seconds = {"seed": seed}, {}
    start = tic = time.perf_counter()
    source_only = SourceOnly(epochs=epochs, seed=seed).fit(source, None, unlabeled)
    seconds["source_only"] = time.perf_counter() - tic
    row["source_only"] = source_only.score(target.waveforms, target.labels)
    row["source_only_on_source"] = source_only.score(source.waveforms, source.labels)

    tic = time.perf_counter()
    shot = SHOT(source_model=source_only, adapt_epochs=adapt_epochs, seed=seed).fit(
        None, None, unlabeled)
    seconds["shot"] = time.perf_counter() - tic
    row["shot"] = shot.score(target.waveforms, target.labels)

    if dann:
        tic = time.perf_counter()
        dann = DANN(epochs=epochs, seed=seed).fit(source, None, unlabeled)
        seconds["dann"] = time.perf_counter() - tic
        row["dann"] = dann.score(target.waveforms, target.labels)

    tic = time.perf_counter()
    n_clusters = len(target.class_names)
    for name, estimator in (("shot", shot), ("source_only", source_only)):
        scores = cluster_features(estimator.transform(target.waveforms), target.labels,
                                  n_clusters, seed)
        for metric, value in scores.items():
            row[f"cluster_{metric}_{name}"] = value
    seconds["cluster"] = time.perf_counter() - tic
    for speaker in sorted(set(target.speakers)):
        mine = target.speakers == speaker
        row[f"shot_{speaker}"] = shot.score(target.waveforms[mine], target.labels[mine])
        row[f"source_only_{speaker}"] = source_only.score(target.waveforms[mine],
                                                          target.labels[mine])
    seconds["total"] = time.perf_counter() - start
    row.update({f"seconds_{k}": v for k, v in seconds.items()})
    return row


def summarize(rows):
    return {key: {"mean": float(np.mean([r[key] for r in rows])),
                  "std": float(np.std([r[key] for r in rows]))}
            for key in rows[0] if key != "seed"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"],
                        help="source-only and DANN epochs")
    parser.add_argument("--adapt-epochs", type=int, default=DEFAULTS["adapt_epochs"],
                        help="SHOT epochs on the held-out speakers")
    parser.add_argument("--source", default="fsdd-source")
    parser.add_argument("--target", default="fsdd-target")
    parser.add_argument("--no-dann", action="store_true", help="skip DANN (the slowest step)")
    parser.add_argument("--json", default=None, help="also write the rows and summary here")
    args = parser.parse_args(argv)

    from tfunsup.data import load_dataset

    source = load_dataset(args.source).readable()
    target = load_dataset(args.target).readable()
    print(f"source {source.name}: {len(source)} recordings; target {target.name}: "
          f"{len(target)} recordings, {target.n_samples} samples at {target.sample_rate} Hz",
          flush=True)
    rows = []
    for seed in args.seeds:
        rows.append(run_seed(seed, source, target, args.epochs, args.adapt_epochs,
                             dann=not args.no_dann))
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                          for k, v in rows[-1].items()}), flush=True)
    summary = summarize(rows)
    print(f"\nseeds {args.seeds}, epochs {args.epochs}, SHOT epochs {args.adapt_epochs}:")
    for key, value in summary.items():
        print(f"  {key:34s} {value['mean']:.3f} ± {value['std']:.3f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), "rows": rows, "summary": summary}, handle, indent=2)
    return summary


if __name__ == "__main__":
    main()
