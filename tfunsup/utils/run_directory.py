"""Atomic output folders: all files appear together, or none do."""

import os
import shutil
import tempfile
from pathlib import Path


def check_output_dir(out, overwrite=False):
    """Raises before any work if `out` cannot receive a run's results.

    Raises:
        FileExistsError: `out` is a non-empty folder and `overwrite` is False,
            or `out` is a file.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out '{out}' exists and is not a folder.")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(
            f"--out '{out}' is not empty; pass --overwrite to replace it."
        )


class RunDirectory:
    """Context manager that writes into a hidden temporary folder and moves
    it to `out` only when the block succeeds.

    On an exception the temporary folder (and any parent folders it had to
    create) is removed, so a failed run leaves nothing behind, and an
    existing `out` is only replaced after the new results are complete.

    Args:
        out: destination folder.
        overwrite: replace a non-empty `out`.

    Usage:
        with RunDirectory("runs/cluster") as run:
            (run.path / "metrics.json").write_text("{}")
    """

    def __init__(self, out, overwrite=False):
        self.out = Path(out)
        self.overwrite = overwrite
        self.path = None
        self._created = []

    def __enter__(self):
        check_output_dir(self.out, self.overwrite)
        parent = self.out.absolute().parent
        missing = []
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for folder in reversed(missing):
            folder.mkdir()
            self._created.append(folder)
        self.path = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.absolute().parent))
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            for folder in reversed(self._created):
                if folder.exists() and not any(folder.iterdir()):
                    folder.rmdir()
            return False
        os.chmod(self.path, 0o755)
        if self.out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old.", dir=self.out.absolute().parent))
            os.replace(self.out, old / "previous")
            os.replace(self.path, self.out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.path, self.out)
        self.path = self.out
        return False
