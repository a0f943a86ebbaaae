"""Few-label text classification (Rotten Tomatoes) and unsupervised adaptation of
the MiniLM encoder (SimCSE), also scored by AG News clustering.

Rotten Tomatoes: the `fresh` and `rotten` snippets of
`text/rotten_tomatoes.csv.bz2` (12,808; `plot` rows dropped), split 80/20
stratified with seed 0 (10,246 train, 2,562 test) as `tfunsup finetune
--classes fresh rotten` does. For each label fraction and seed 0-2,
`tfunsup.pretraining.label_efficiency`: a softmax head on frozen MiniLM
embeddings (64 tokens) vs. a bag of token embeddings with the same tokenizer
trained from scratch; `--fine-tune-fractions` adds MiniLM fine-tuned end to end
(slow on a CPU); `--setfit-iterations` adds SetFit (MiniLM fine-tuned on pairs of
the labelled texts, then the head) and `--self-training-threshold` adds each
method retrained with its confident pseudo-labels of the unlabelled training
texts. `--adapt-seeds` adds the same head on the encoder adapted
with SimCSE on training texts first (no labels).

AG News (test subset, 4,000): k-means (K=4, 10 inits, seeds 0-2) on MiniLM
embeddings (64 tokens) as shipped and after SimCSE on the same texts.

    TFUNSUP_DATA_DIR=/work/shared/data PYTHONPATH=. python \
        benchmarks/bench_text_finetune.py --part rotten --adapt-seeds 0
"""

import argparse
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score
from sklearn.model_selection import train_test_split

from tfunsup.backbones import load_backbone
from tfunsup.backbones.text_encoder import encode_texts
from tfunsup.data.shared import data_path
from tfunsup.data.text import load_text_dataset
from tfunsup.metrics.clustering import cluster_accuracy
from tfunsup.pretraining import adapt_text_encoder, label_efficiency

MINILM = ("text-encoders", "all-MiniLM-L6-v2")


def encoder(sequence_length):
    return load_backbone(data_path(*MINILM), sequence_length=sequence_length)


def adapt(texts, args, seed):
    model = encoder(args.sequence_length)
    start = time.perf_counter()
    result = adapt_text_encoder(model, texts, epochs=args.adapt_epochs, batch_size=32,
                                learning_rate=args.adapt_learning_rate,
                                word_deletion=args.word_deletion,
                                max_texts=args.adapt_max_texts, seed=seed, verbose=1)
    print(f"SimCSE seed {seed}: {result['n_texts']} texts, loss {result['loss']}, "
          f"{time.perf_counter() - start:.0f} s", flush=True)
    return model


def rotten(args):
    data = load_text_dataset(data_path("text", "rotten_tomatoes.csv.bz2"))
    keep = data.labels != data.class_names.index("plot")
    texts = data.texts[keep]
    labels = (data.labels[keep] == data.class_names.index("rotten")).astype("int64")
    train, test = train_test_split(np.arange(len(texts)), test_size=0.2, stratify=labels,
                                   random_state=0)
    rows = []

    def run(model, name, fractions, fine_tune_steps, **semi_supervised):
        start = time.perf_counter()
        result = label_efficiency(
            model, texts[train], labels[train], texts[test], labels[test],
            fractions=fractions, seeds=args.seeds, head_steps=200,
            fine_tune_steps=fine_tune_steps, batch_size=32 if fine_tune_steps else 64,
            cache_dir=args.cache_dir, **semi_supervised,
            progress=lambda r: print(f"  {name} {r} at {time.perf_counter() - start:.0f} s",
                                     flush=True))
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
        for row in result["label_efficiency"]:
            if name == "shipped" or row["method"] != "scratch":
                method = row["method"] if name == "shipped" else f"{row['method']} ({name})"
                rows.append((row["fraction"], method, row["mean_acc"], row["std_acc"]))

    if not args.adapted_only:
        run(encoder(args.sequence_length), "shipped", args.fractions, 0,
            setfit_iterations=args.setfit_iterations,
            self_training_threshold=args.self_training_threshold,
            self_training_rounds=args.self_training_rounds)
    if args.fine_tune_fractions:
        run(encoder(args.sequence_length), "shipped+ft", args.fine_tune_fractions,
            args.fine_tune_steps)
    for seed in args.adapt_seeds:
        run(adapt(texts[train], args, seed), f"SimCSE seed {seed}", args.fractions, 0)
    print(f"\nRotten Tomatoes fresh/rotten: {len(train)} train, {len(test)} test, "
          f"majority class {max(labels[test].mean(), 1 - labels[test].mean()):.3f}; "
          f"seeds {args.seeds}")
    print("| labels | method | test accuracy |\n|---|---|---|")
    for fraction, method, mean, std in sorted(rows, key=lambda r: r[0]):
        print(f"| {100 * fraction:g} % | {method} | {mean:.3f} ± {std:.3f} |")


def ag_news(args):
    data = load_text_dataset(data_path("text", "ag_news", "test.csv"), label_column=0)
    results = {}

    def score(name, embeddings):
        values = []
        for seed in args.seeds:
            predicted = KMeans(4, n_init=10, random_state=seed).fit_predict(embeddings)
            values.append((cluster_accuracy(data.labels, predicted),
                           normalized_mutual_info_score(data.labels, predicted)))
        results[name] = np.asarray(values)
        print(f"{name}: ACC {results[name][:, 0].mean():.3f} NMI "
              f"{results[name][:, 1].mean():.3f}", flush=True)

    score("MiniLM as shipped", encode_texts(encoder(args.sequence_length), data.texts,
                                            cache_dir=args.cache_dir))
    for seed in args.adapt_seeds:
        model = adapt(data.texts, args, seed)
        score(f"MiniLM + SimCSE (seed {seed})",
              encode_texts(model, data.texts, cache_dir=args.cache_dir))
    print(f"\nAG News test subset ({len(data)}), k-means K=4 over seeds {args.seeds}, "
          f"{args.sequence_length} tokens")
    print("| encoder | ACC | NMI |\n|---|---|---|")
    for name, values in results.items():
        print(f"| {name} | {values[:, 0].mean():.3f} ± {values[:, 0].std():.3f} | "
              f"{values[:, 1].mean():.3f} ± {values[:, 1].std():.3f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["rotten", "ag_news"], required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.05, 0.1, 1.0])
    parser.add_argument("--fine-tune-fractions", type=float, nargs="*", default=[])
    parser.add_argument("--fine-tune-steps", type=int, default=40)
    parser.add_argument("--setfit-iterations", type=int, default=0,
                        help="adds SetFit rows with this many pair rounds (SetFit: 20)")
    parser.add_argument("--self-training-threshold", type=float, default=None,
                        help="adds '+ self-training' rows with this confidence threshold")
    parser.add_argument("--self-training-rounds", type=int, default=1)
    parser.add_argument("--adapt-seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--adapt-epochs", type=int, default=1)
    parser.add_argument("--adapt-max-texts", type=int, default=2000)
    parser.add_argument("--adapt-learning-rate", type=float, default=3e-5)
    parser.add_argument("--word-deletion", type=float, default=0.0)
    parser.add_argument("--adapted-only", action="store_true",
                        help="Rotten Tomatoes: skip the encoder as shipped")
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--cache-dir", default="/tmp/text_emb")
    args = parser.parse_args()
    rotten(args) if args.part == "rotten" else ag_news(args)


if __name__ == "__main__":
    main()
