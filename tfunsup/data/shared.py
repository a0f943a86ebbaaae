"""Where the offline real data and pretrained weights live.

One setting, the `TFUNSUP_DATA_DIR` environment variable, points at a folder
laid out like the project's `../shared/data` (COIL-20, CIFAR-10 test as
JPEG folders, MNIST-test, USPS, FSDD, text sets, Keras-cache weights). It
defaults to `../shared/data` beside the repository checkout. On Colab,
users point tfunsup at their own folders instead and weights download
through Keras, TF Hub and keras-hub as usual.
"""

import os
from pathlib import Path

DATA_DIR_ENV = "TFUNSUP_DATA_DIR"
_DEFAULT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


class SharedDataMissingError(FileNotFoundError):
    """A file or folder of the shared data folder is not there."""


def data_dir():
    """The shared data folder: `$TFUNSUP_DATA_DIR`, else `../shared/data`.

    Returns:
        `pathlib.Path` (not checked for existence).
    """
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else _DEFAULT.resolve()


def data_path(*parts):
    """A path inside the shared data folder that must exist.

    Args:
        *parts: path components below the folder, e.g. `"coil-20"`.

    Returns:
        `pathlib.Path` of the existing file or folder.

    Raises:
        SharedDataMissingError: the path does not exist; the message names
            the `TFUNSUP_DATA_DIR` setting.
    """
    path = data_dir().joinpath(*parts)
    if not path.exists():
        raise SharedDataMissingError(
            f"'{path}' does not exist. Set {DATA_DIR_ENV} to the folder holding the "
            f"offline data (default: ../shared/data beside the repository); "
            f"now {DATA_DIR_ENV}={os.environ.get(DATA_DIR_ENV, '<unset>')}.")
    return path
