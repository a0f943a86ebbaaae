"""Arguments and output helpers shared by the subcommands."""

import json
import math
import os
from pathlib import Path

import numpy as np

JIT_CHOICES = {"auto": "auto", "on": True, "off": False}


def add_jit_argument(parser):
    """Adds `--jit {auto,on,off}` (XLA for the train step); `JIT_CHOICES[args.jit]`
    is the `jit_compile` value."""
    parser.add_argument("--jit", choices=sorted(JIT_CHOICES), default="auto",
                        help="XLA-compile the train step: auto = on a GPU/TPU, and on a "
                             "CPU only for flows measured faster with it (default: auto)")


def add_deterministic_argument(parser):
    """Adds `--deterministic` (TensorFlow op determinism; XLA off)."""
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic TensorFlow ops: with --seed, a run repeats bit "
                             "for bit on CPU, but without XLA (slower on GPUs)")


def add_common_arguments(parser, default_out):
    """Adds `--out`, `--overwrite`, `--seed`, `--batch-size`, `--quiet`."""
    parser.add_argument("--out", default=default_out,
                        help=f"output folder (default: {default_out})")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a non-empty --out")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random number generators (default: 0)")
    parser.add_argument("--batch-size", type=int, default=128,
                        help="batch size (default: 128)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def add_text_arguments(parser, *, label_use, sequence_length=None, cache_dir=False):
    """Adds the "text data" argument group of the subcommands that take texts.

    `--text-column`, `--label-column` and `--sequence-length`, and with
    `cache_dir` also `--cache-dir` (default None: `default_cache_dir()`);
    `check_text_arguments` checks them.

    Args:
        parser: the subcommand's `argparse.ArgumentParser`.
        label_use: what the labels serve, ending `--label-column`'s help
            ("holding labels, for <label_use>"), e.g. `"scoring only"`.
        sequence_length: default of `--sequence-length`; None leaves the
            text encoder's own (`tfunsup.backbones.defaults.TEXT_SEQUENCE_LENGTH`).
        cache_dir: whether to add `--cache-dir`.

    Returns:
        The argument group, for the subcommand's own text options.
    """
    from tfunsup.backbones.defaults import TEXT_SEQUENCE_LENGTH

    text = parser.add_argument_group("text data")
    text.add_argument("--text-column", type=table_column, default=None,
                      help="column (name or 0-based index) of a .csv/.tsv holding the texts "
                           "(default: one named like text/msg/review, else the longest)")
    text.add_argument("--label-column", type=table_column, default=None,
                      help=f"column (name or index) holding labels, for {label_use} "
                           "(default: one named like label/category in a header)")
    text.add_argument("--sequence-length", type=int, default=sequence_length,
                      help="tokens kept per text by a keras-hub text encoder (default: "
                           f"{sequence_length or TEXT_SEQUENCE_LENGTH})")
    if cache_dir:
        text.add_argument("--cache-dir", default=None,
                          help="folder caching text embeddings, so a rerun reads them "
                               "instead of encoding again (default: $TFUNSUP_CACHE_DIR, "
                               "else ~/.cache/tfunsup)")
    return text


def check_text_arguments(args):
    """Raises ValueError unless `--sequence-length` (of `add_text_arguments`)
    is None or >= 8."""
    if args.sequence_length is not None and args.sequence_length < 8:
        raise ValueError("Expected --sequence-length >= 8. Received: "
                         f"--sequence-length={args.sequence_length}")


def default_cache_dir():
    """`$TFUNSUP_CACHE_DIR`, else `~/.cache/tfunsup`: where text embeddings
    are cached when no folder is given."""
    return Path(os.environ.get("TFUNSUP_CACHE_DIR", "~/.cache/tfunsup")).expanduser()


def backup_directory(out, backup_dir=None):
    """`--backup-dir`, or by default `<out>.backup` beside the output folder."""
    return Path(backup_dir or f"{str(out).rstrip('/')}.backup")


def check_positive(name, value):
    """Raises ValueError unless `value` >= 1."""
    if value < 1:
        raise ValueError(f"Expected {name} >= 1. Received: {name}={value}")


def check_fraction(name, value, low=0.0, high=1.0, high_inclusive=False):
    """Raises ValueError unless low < value < high (or <= high)."""
    if not (low < value < high or (high_inclusive and value == high)):
        bracket = "]" if high_inclusive else ")"
        raise ValueError(f"Expected {name} in ({low}, {high}{bracket}. Received: {name}={value}")


def shuffled_split(n, held_out_fraction, seed):
    """`(train_index, held_out_index)` of a seeded random split of `n` items."""
    order = np.random.default_rng(seed).permutation(n)  # mnist-5k is sorted by class
    cut = n - max(1, int(round(held_out_fraction * n)))
    return np.sort(order[:cut]), np.sort(order[cut:])


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path, payload):
    """Writes `payload` as indented JSON (NumPy scalars converted)."""
    Path(path).write_text(json.dumps(_jsonable(payload), indent=2) + "\n")


def print_table(rows, headers):
    """Prints rows as an aligned text table."""
    cells = [[str(h) for h in headers]] + [[
        f"{c:.3f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for i, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def table_column(value):
    """argparse type of `--text-column` / `--label-column`: a column index when
    `value` is a number, else a column name."""
    return int(value) if value.isdigit() else value
