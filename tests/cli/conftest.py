"""Fixtures of the CLI tests."""

import pytest


@pytest.fixture
def one_line_error(capsys):
    """A function returning the one line a failed command wrote to stderr
    (asserting that there is exactly one)."""

    def read():
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        return err[0]

    return read
