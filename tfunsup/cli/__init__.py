"""The `tfunsup` command line: one subcommand per flow.

Each subcommand module defines `add_parser(subparsers)`, which registers its
arguments and sets `run=<function(args) -> int>`. The CLI only parses flags
and calls the library.
"""

import argparse
import importlib
import os
import sys

# Subcommand modules, in `--help` order.
COMMANDS = ("source", "cluster", "deepcluster", "adapt", "autoencoder", "anomaly", "finetune",
            "gan")

# Errors that are the user's input, reported as one line with exit code 2.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError,
               OSError)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfunsup",
        description="Transfer-learning-based unsupervised learning (TensorFlow/Keras 3).")
    parser.add_argument("--debug", action="store_true",
                        help="show full tracebacks instead of one-line errors")
    subparsers = parser.add_subparsers(dest="command", metavar="<flow>", required=True)
    for name in COMMANDS:
        importlib.import_module(f"tfunsup.cli.{name}").add_parser(subparsers)
    return parser


def main(argv=None):
    """Entry point of the `tfunsup` console script; returns the exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except USER_ERRORS as error:
        if args.debug:
            raise
        message = " ".join(str(error).split())
        print(f"tfunsup {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tfunsup {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
