"""The argument helpers shared by the subcommands."""

import argparse

import pytest

from tfunsup.cli import build_parser, main
from tfunsup.cli.common import add_text_arguments, check_text_arguments


def _text_group(command):
    """`{flag: action}` of the "text data" group of `tfunsup <command>`."""
    subparsers = next(a for a in build_parser()._actions
                      if isinstance(a, argparse._SubParsersAction))
    parser = subparsers.choices[command]
    [group] = [g for g in parser._action_groups if g.title == "text data"]
    return {a.option_strings[0]: a for a in group._group_actions}, parser


def test_text_data_group_is_shared_by_the_text_subcommands():
    groups = {command: _text_group(command)[0] for command in ("anomaly", "cluster", "finetune")}
    for command, group in groups.items():
        assert {"--text-column", "--label-column", "--sequence-length"} <= set(group), command
        for flag in ("--text-column", "--sequence-length"):
            assert group[flag].help.startswith(groups["cluster"][flag].help[:40]), (command, flag)
    assert groups["anomaly"]["--sequence-length"].default is None
    assert groups["cluster"]["--sequence-length"].default is None
    assert groups["finetune"]["--sequence-length"].default == 64
    assert "(default: 64)" in groups["finetune"]["--sequence-length"].help
    assert "(default: 256)" in groups["cluster"]["--sequence-length"].help
    assert "--cache-dir" in groups["cluster"] and "--cache-dir" in groups["finetune"]
    assert "--cache-dir" not in groups["anomaly"]  # it has --feature-cache for both modalities
    assert "--pooling" in groups["anomaly"] and "--classes" in groups["finetune"]
    _, parser = _text_group("anomaly")
    assert "tokens kept per text by a keras-hub text encoder" in parser.format_help()


def test_add_text_arguments_parses_columns_and_checks_sequence_length():
    parser = argparse.ArgumentParser()
    add_text_arguments(parser, label_use="scoring only", cache_dir=True)
    args = parser.parse_args(["--text-column", "2", "--label-column", "label",
                              "--sequence-length", "7"])
    assert (args.text_column, args.label_column, args.cache_dir) == (2, "label", None)
    with pytest.raises(ValueError, match="Expected --sequence-length >= 8. "
                                         "Received: --sequence-length=7"):
        check_text_arguments(args)
    check_text_arguments(parser.parse_args([]))  # None: the encoder's own


@pytest.mark.parametrize("command", ["anomaly", "cluster", "finetune"])
def test_subcommands_reject_a_short_sequence_length(command, tmp_path, one_line_error):
    assert main([command, "--sequence-length", "4", "--out", str(tmp_path / "out")]) == 2
    assert one_line_error().endswith("Expected --sequence-length >= 8. "
                                     "Received: --sequence-length=4")
