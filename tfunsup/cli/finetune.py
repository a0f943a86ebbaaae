"""`tfunsup finetune`: unsupervised pretraining, then fine-tuning with few labels."""

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
    write_json,
)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "finetune", help="pretrain an encoder without labels, fine-tune with few labels",
        description="Pretrain an encoder on the unlabeled training split (SimCLR or "
                    "autoencoder), then for each label fraction and seed train a linear "
                    "probe and fine-tune, against the identical network trained from "
                    "scratch on the same labels; report held-out test accuracy. "
                    "Default: MNIST-5k.")
    parser.add_argument("--data", default="mnist-5k",
                        help="labeled dataset name or .npz (default: mnist-5k)")
    parser.add_argument("--method", choices=["simclr", "autoencoder"], default="simclr",
                        help="pretraining objective (default: simclr)")
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
                        help="share held out for test accuracy (default: 0.2)")
    parser.add_argument("--head-steps", type=int, default=200)
    parser.add_argument("--fine-tune-steps", type=int, default=100)
    parser.add_argument("--backup-dir", default=None,
                        help="BackupAndRestore folder of the pretraining "
                             "(default: <out>.backup)")
    add_jit_argument(parser)
    add_deterministic_argument(parser)
    add_common_arguments(parser, "runs/finetune")
    parser.set_defaults(run=run, batch_size=64)


def _check_arguments(args):
    from tfunsup.utils.run_directory import check_output_dir

    check_output_dir(args.out, args.overwrite)
    for name in ("latent_dim", "pretrain_epochs", "pretrain_batch_size", "seeds",
                 "head_steps", "fine_tune_steps", "batch_size"):
        check_positive("--" + name.replace("_", "-"), getattr(args, name))
    for fraction in args.fractions:
        check_fraction("--fractions", fraction, high_inclusive=True)
    check_fraction("--test-fraction", args.test_fraction, high=0.9, high_inclusive=True)


def run(args):
    start = time.perf_counter()
    _check_arguments(args)
    import numpy as np
    from sklearn.model_selection import train_test_split

    from tfunsup.data import load_dataset
    from tfunsup.pretraining.label_efficiency import labeled_subset

    data = load_dataset(args.data)
    if data.labels is None:
        raise ValueError(f"Fine-tuning needs labeled data; '{args.data}' has no labels.")
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
    pretrainer.fit(data.images[train_index])  # no labels
    pretrain_seconds = time.perf_counter() - start

    def progress(run):
        if not args.quiet:
            print(f"fraction {run['fraction']:g} ({run['n_labels']} labels), seed "
                  f"{run['seed']}, {run['method']}: test accuracy {run['acc']:.3f}", flush=True)

    result = label_efficiency(
        pretrainer.encoder_, data.images[train_index], train_labels,
        data.images[test_index], data.labels[test_index], fractions=args.fractions,
        seeds=range(args.seed, args.seed + args.seeds), head_steps=args.head_steps,
        fine_tune_steps=args.fine_tune_steps, batch_size=args.batch_size,
        progress=progress)
    metrics = {
        "dataset": args.data, "method": args.method, "architecture": args.architecture,
        "latent_dim": args.latent_dim, "pretrain_epochs": args.pretrain_epochs,
        "seed": args.seed, "deterministic": args.deterministic,
        "n_train": len(train_index), "n_test": len(test_index),
        "head_steps": args.head_steps, "fine_tune_steps": args.fine_tune_steps,
        "pretrain_loss": (pretrainer.history_["loss"][-1]
                          if pretrainer.history_.get("loss") else None),
        "pretrain_seconds": pretrain_seconds,
        "label_efficiency": result["label_efficiency"], "runs": result["runs"],
    }
    with RunDirectory(args.out, overwrite=args.overwrite) as out:
        save_label_efficiency(result["label_efficiency"], out.path / "label_efficiency.png",
                              title=f"{args.data}: {args.method} pretraining vs. scratch")
        export_atomically(pretrainer.encoder_, out.path / "encoder")
        metrics["seconds"] = time.perf_counter() - start
        write_json(out.path / "metrics.json", metrics)

    print_table([[f"{100 * r['fraction']:g}%", r["method"], r["mean_acc"], r["std_acc"],
                  r["seeds"]] for r in result["label_efficiency"]],
                ["labels", "method", "mean acc", "std", "seeds"])
    print(f"wrote {args.out}/ in {metrics['seconds']:.1f} s")
    return 0
