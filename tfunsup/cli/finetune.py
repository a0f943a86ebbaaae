"""`tfunsup finetune`: unsupervised pretraining, then fine-tuning with few labels."""

import time

from tfunsup.cli.common import (
    JIT_CHOICES,
    add_common_arguments,
    add_deterministic_argument,
    add_jit_argument,
    add_text_arguments,
    backup_directory,
    check_fraction,
    check_positive,
    check_text_arguments,
    default_cache_dir,
    print_table,
    write_json,
)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "finetune", help="pretrain an encoder without labels, fine-tune with few labels",
        description="Pretrain an encoder on the unlabeled training split (SimCLR or "
                    "autoencoder), then for each label fraction and seed train a linear "
                    "probe and fine-tune, against the identical network trained from "
                    "scratch on the same labels; report held-out test accuracy. "
                    "Text data (a CSV/TSV or a folder of .txt files) uses a pretrained "
                    "text encoder instead (--backbone, optionally adapted to the "
                    "training texts without labels: --adapt simcse) against a bag of "
                    "token embeddings trained from scratch. Default: MNIST-5k.")
    parser.add_argument("--data", default="mnist-5k",
                        help="labeled dataset name or .npz, or text data: a .csv/.tsv "
                             "(also .bz2/.gz/.xz) or a folder of .txt files "
                             "(default: mnist-5k)")
    parser.add_argument("--method", choices=["simclr", "autoencoder"], default="simclr",
                        help="pretraining objective of images (default: simclr)")
    parser.add_argument("--architecture", choices=["conv", "dense"], default="conv")
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    parser.add_argument("--pretrain-batch-size", type=int, default=256)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.05, 0.1, 1.0],
                        help="label fractions of the training split (default: 0.01 0.05 0.1 1.0)")
    parser.add_argument("--seeds", type=int, default=3,
                        help="seeds per fraction: labeled subsets and initialisations "
                             "(default: 3)")
    parser.add_argument("--test-fraction", type=float, default=0.2,
                        help="share held out for test accuracy (a stratified split seeded "
                             "by --seed; default: 0.2)")
    parser.add_argument("--head-steps", type=int, default=200)
    parser.add_argument("--fine-tune-steps", type=int, default=None,
                        help="steps training the whole network after the head (default: "
                             "100 for images, 0 for text: a transformer's fine-tuning is "
                             "slow on a CPU)")
    parser.add_argument("--backup-dir", default=None,
                        help="BackupAndRestore folder of the pretraining "
                             "(default: <out>.backup)")
    text = add_text_arguments(parser, label_use="the labeled subsets and test accuracy",
                              sequence_length=64, cache_dir=True)
    text.add_argument("--backbone", default=None,
                      help="text encoder: a keras-hub preset folder, hf:// or kaggle:// "
                           "(default: all-MiniLM-L6-v2 from the shared data folder if "
                           "present, else from Hugging Face, as tfunsup cluster chooses it)")
    text.add_argument("--classes", nargs="+", default=None,
                      help="keep only these label values (e.g. fresh rotten)")
    text.add_argument("--adapt", choices=["none", "simcse"], default="none",
                      help="adapt the encoder to the training texts without labels first "
                           "(SimCSE; default: none)")
    text.add_argument("--adapt-epochs", type=int, default=1)
    text.add_argument("--adapt-max-texts", type=int, default=2000,
                      help="training texts the adaptation sees (default: 2000)")
    text.add_argument("--adapt-word-deletion", type=float, default=0.0,
                      help="word deletion rate of the adaptation's views (default: 0)")
    text.add_argument("--adapt-learning-rate", type=float, default=3e-5)
    text.add_argument("--setfit-iterations", type=int, default=0,
                      help="also fine-tune the encoder on pairs of the labelled texts first "
                           "(SetFit; this many rounds of pairs, SetFit's default 20; slow on a "
                           "CPU: ~2-3 s per 16 pairs with MiniLM) then train the head: a "
                           "'SetFit' row (default: 0, off)")
    text.add_argument("--self-training-threshold", type=float, default=None,
                      help="also retrain each text classifier on its labels plus its "
                           "pseudo-labels of the unlabelled training texts with confidence >= "
                           "this (e.g. 0.8): '<method> + self-training' rows (default: off)")
    text.add_argument("--self-training-rounds", type=int, default=1,
                      help="pseudo-labelling rounds of --self-training-threshold (default: 1)")
    text.add_argument("--scratch-same-architecture", action="store_true",
                      help="also train the encoder's own architecture from random weights "
                           "(Adam 3e-4, the same steps): a 'scratch (same architecture)' row; "
                           "slow on a CPU (~8 min per run for MiniLM at 200 steps)")
    add_jit_argument(parser)
    add_deterministic_argument(parser)
    add_common_arguments(parser, "runs/finetune")
    parser.set_defaults(run=run, batch_size=64)


def _check_arguments(args):
    from tfunsup.utils.run_directory import check_output_dir

    check_output_dir(args.out, args.overwrite)
    for name in ("latent_dim", "pretrain_epochs", "pretrain_batch_size", "seeds",
                 "head_steps", "batch_size", "adapt_epochs", "self_training_rounds"):
        check_positive("--" + name.replace("_", "-"), getattr(args, name))
    if args.fine_tune_steps is not None and args.fine_tune_steps < 0:
        raise ValueError(f"Expected --fine-tune-steps >= 0. "
                         f"Received: --fine-tune-steps={args.fine_tune_steps}")
    check_text_arguments(args)
    if args.setfit_iterations < 0:
        raise ValueError(f"Expected --setfit-iterations >= 0. "
                         f"Received: --setfit-iterations={args.setfit_iterations}")
    if args.self_training_threshold is not None and not 0.0 < args.self_training_threshold <= 1.0:
        raise ValueError(f"Expected --self-training-threshold in (0, 1]. "
                         f"Received: --self-training-threshold={args.self_training_threshold}")
    if args.adapt_max_texts < 2:
        raise ValueError(f"Expected --adapt-max-texts >= 2. "
                         f"Received: --adapt-max-texts={args.adapt_max_texts}")
    if not 0.0 <= args.adapt_word_deletion < 1.0:
        raise ValueError(f"Expected --adapt-word-deletion in [0, 1). "
                         f"Received: --adapt-word-deletion={args.adapt_word_deletion}")
    for fraction in args.fractions:
        check_fraction("--fractions", fraction, high_inclusive=True)
    check_fraction("--test-fraction", args.test_fraction, high=0.9, high_inclusive=True)


def _load_data(args):
    """The labeled data: a `TextDataset` (text data) or an image dataset."""
    from tfunsup.data import load_dataset
    from tfunsup.data.text import is_text_data, load_text_dataset

    if not is_text_data(args.data):
        return load_dataset(args.data)
    columns = {key: value for key, value in (("text_column", args.text_column),
                                             ("label_column", args.label_column))
               if value is not None}
    data = load_text_dataset(args.data, **columns)
    if args.classes is not None and data.labels is not None:
        try:
            data = data.select_classes(args.classes)
        except ValueError as error:
            raise ValueError(f"--classes: {error}") from None
    return data


def _text_encoder(args, train_texts):
    """The text encoder and a dict describing it (and its adaptation)."""
    from tfunsup.backbones import load_backbone
    from tfunsup.backbones.defaults import default_text_encoder

    spec = args.backbone if args.backbone is not None else default_text_encoder()[0]
    encoder = load_backbone(spec, sequence_length=args.sequence_length)
    info = {"backbone": spec, "sequence_length": args.sequence_length, "adapt": args.adapt}
    if args.adapt == "simcse":
        from tfunsup.pretraining import adapt_text_encoder

        if not args.quiet:
            print(f"Adapting {spec} with SimCSE on up to {args.adapt_max_texts} unlabeled "
                  "training texts ...", flush=True)
        start = time.perf_counter()
        adapted = adapt_text_encoder(
            encoder, train_texts, epochs=args.adapt_epochs,
            batch_size=min(32, args.adapt_max_texts, len(train_texts)),
            learning_rate=args.adapt_learning_rate,
            word_deletion=args.adapt_word_deletion, max_texts=args.adapt_max_texts,
            seed=args.seed, verbose=0 if args.quiet else 1)
        info.update(adapt_epochs=args.adapt_epochs, adapt_texts=adapted["n_texts"],
                    adapt_loss=adapted["loss"], adapt_word_deletion=args.adapt_word_deletion,
                    adapt_learning_rate=args.adapt_learning_rate,
                    adapt_seconds=time.perf_counter() - start)
    return encoder, info


def _write_predictions(path, data, test_index, result):
    """`predictions.csv`: per test item its id, label and each run's prediction."""
    import csv

    names = data.class_names
    columns = [f"{r['method']}@{100 * r['fraction']:g}%/seed{r['seed']}" for r in result["runs"]]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "label", *columns])
        for row, item in enumerate(test_index):
            label = data.labels[item]
            values = [p[row] for p in result["predictions"]]
            if names:
                label, values = names[label], [names[v] for v in values]
            writer.writerow([data.ids[item], label, *values])


def run(args):
    start = time.perf_counter()
    _check_arguments(args)
    import numpy as np
    from sklearn.model_selection import train_test_split

    from tfunsup.data.text import TextDataset
    from tfunsup.pretraining.label_efficiency import labeled_subset

    data = _load_data(args)
    if data.labels is None:
        raise ValueError(f"Fine-tuning needs labeled data; '{args.data}' has no labels.")
    text = isinstance(data, TextDataset)
    fine_tune_steps = args.fine_tune_steps
    if fine_tune_steps is None:
        fine_tune_steps = 0 if text else 100
    if not text and fine_tune_steps < 1:
        raise ValueError("Expected --fine-tune-steps >= 1 with images. "
                         f"Received: --fine-tune-steps={fine_tune_steps}")
    if not text and (args.setfit_iterations or args.self_training_threshold is not None
                     or args.scratch_same_architecture):
        raise ValueError("--setfit-iterations, --self-training-threshold and "
                         "--scratch-same-architecture apply to text data only; "
                         f"'{args.data}' holds images.")
    train_index, test_index = train_test_split(
        np.arange(len(data)), test_size=args.test_fraction, stratify=data.labels,
        random_state=args.seed)
    train_labels = data.labels[train_index]
    for fraction in args.fractions:  # fails before any training when too few labels
        labeled_subset(train_labels, fraction, args.seed)
    from tfunsup.pretraining import EncoderPretrainer, label_efficiency
    from tfunsup.pretraining.plots import save_label_efficiency
    from tfunsup.utils.export import export_atomically
    from tfunsup.utils.run_directory import RunDirectory

    inputs = data.texts if text else data.images
    if text:
        encoder, info = _text_encoder(args, inputs[train_index])
        pretrainer = None
        title = f"{data.name.split('/')[-1]}: {info['backbone'].rstrip('/').split('/')[-1]}" + (
            " + SimCSE" if args.adapt == "simcse" else "") + " vs. scratch"
    else:
        backup_dir = backup_directory(args.out, args.backup_dir)
        if not args.quiet:
            print(f"Pretraining a {args.architecture} encoder ({args.method}, latent_dim="
                  f"{args.latent_dim}) on {len(train_index)} unlabeled images of "
                  f"'{args.data}' ...", flush=True)
        pretrainer = EncoderPretrainer(
            args.method, args.architecture, args.latent_dim, epochs=args.pretrain_epochs,
            batch_size=args.pretrain_batch_size, jit_compile=JIT_CHOICES[args.jit],
            backup_dir=backup_dir, seed=args.seed, deterministic=args.deterministic,
            verbose=0 if args.quiet else 1)
        pretrainer.fit(inputs[train_index])  # no labels
        encoder = pretrainer.encoder_
        info = {"method": args.method, "architecture": args.architecture,
                "latent_dim": args.latent_dim, "pretrain_epochs": args.pretrain_epochs,
                "pretrain_loss": (pretrainer.history_["loss"][-1]
                                  if pretrainer.history_.get("loss") else None)}
        title = f"{args.data}: {args.method} pretraining vs. scratch"
    pretrain_seconds = time.perf_counter() - start

    def progress(run):
        if not args.quiet:
            print(f"fraction {run['fraction']:g} ({run['n_labels']} labels), seed "
                  f"{run['seed']}, {run['method']}: test accuracy {run['acc']:.3f}", flush=True)

    cache_dir, text_options = None, {}
    if text:
        cache_dir = args.cache_dir or default_cache_dir()
        text_options = {key: getattr(args, key) for key in (
            "setfit_iterations", "self_training_threshold", "self_training_rounds",
            "scratch_same_architecture")}
    result = label_efficiency(
        encoder, inputs[train_index], train_labels, inputs[test_index],
        data.labels[test_index], fractions=args.fractions,
        seeds=range(args.seed, args.seed + args.seeds), head_steps=args.head_steps,
        fine_tune_steps=fine_tune_steps, batch_size=args.batch_size, cache_dir=cache_dir,
        progress=progress, **text_options)
    metrics = {
        "dataset": args.data, "modality": "text" if text else "image", **info,
        "class_names": list(data.class_names) if data.class_names else None,
        "seed": args.seed, "deterministic": args.deterministic,
        "n_train": len(train_index), "n_test": len(test_index),
        "test_fraction": args.test_fraction,
        "head_steps": args.head_steps, "fine_tune_steps": fine_tune_steps,
        **text_options,
        "pretrain_seconds": pretrain_seconds,
        "label_efficiency": result["label_efficiency"], "runs": result["runs"],
    }
    with RunDirectory(args.out, overwrite=args.overwrite) as out:
        save_label_efficiency(result["label_efficiency"], out.path / "label_efficiency.png",
                              title=title)
        _write_predictions(out.path / "predictions.csv", data, test_index, result)
        if pretrainer is not None:
            export_atomically(pretrainer.encoder_, out.path / "encoder")
        metrics["seconds"] = time.perf_counter() - start
        write_json(out.path / "metrics.json", metrics)

    print_table([[f"{100 * r['fraction']:g}%", r["method"], r["mean_acc"], r["std_acc"],
                  r["seeds"]] for r in result["label_efficiency"]],
                ["labels", "method", "mean acc", "std", "seeds"])
    print(f"wrote {args.out}/ in {metrics['seconds']:.1f} s")
    return 0
