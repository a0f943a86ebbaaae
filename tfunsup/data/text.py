"""Text datasets: a folder of `.txt` files or a CSV/TSV file with a text column.

Every loader returns a `TextDataset` whose items keep an id (the file path, or
the 0-based data row of a table) so outputs can be traced back to the text.
"""

import bz2
import csv
import dataclasses
import gzip
import io
import lzma
import os
from pathlib import Path

import numpy as np

TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
COMPRESSED = {".bz2": bz2.open, ".gz": gzip.open, ".xz": lzma.open}
TEXT_COLUMN_NAMES = ("text", "msg", "message", "sentence", "review", "content",
                     "document", "body", "abstract")
LABEL_COLUMN_NAMES = ("label", "labels", "category", "class", "target", "topic")


@dataclasses.dataclass(frozen=True)
class TextDataset:
    """Texts with ids and optional labels.

    Attributes:
        texts: object array `(n,)` of `str`.
        ids: object array `(n,)` of `str`: the file path of each text, or its
            0-based data row (header excluded) in a table.
        labels: int64 array `(n,)` or None when the data has no labels.
        name: the path it was loaded from.
        class_names: names of the label values, when known.
        skipped: `(id, reason)` pairs of items that could not be read.
    """

    texts: np.ndarray
    ids: np.ndarray
    labels: np.ndarray | None
    name: str
    class_names: tuple | None = None
    skipped: tuple = ()

    def __len__(self):
        return len(self.texts)

    def subset(self, index):
        """The texts at positions `index` (int array), with their ids and labels."""
        index = np.asarray(index, dtype=np.int64)
        return dataclasses.replace(
            self, texts=self.texts[index], ids=self.ids[index],
            labels=None if self.labels is None else self.labels[index], skipped=())

    def select_classes(self, classes):
        """The texts of the given classes only, relabelled `0 .. k-1`.

        Args:
            classes: sequence of class names (values of `class_names`).

        Returns:
            A `TextDataset` with the texts (and ids) whose label is one of
            `classes`, in their order here; `class_names` keeps the
            dataset's order of the selected names and `labels` index it.

        Raises:
            ValueError: the dataset has no labels, `classes` is empty, or it
                names a class the dataset does not have.
        """
        if self.labels is None or self.class_names is None:
            raise ValueError(f"Expected a labelled dataset to select classes from. "
                             f"Received: classes={classes!r} with the unlabelled {self.name}")
        classes = [classes] if isinstance(classes, str) else list(classes)
        unknown = sorted(set(classes) - set(self.class_names))
        if not classes or unknown:
            raise ValueError(f"Expected classes among the data's classes "
                             f"{list(self.class_names)}. Received: classes={classes!r}"
                             + (f" (unknown: {unknown})" if unknown else ""))
        kept = [name for name in self.class_names if name in classes]
        old = [self.class_names.index(name) for name in kept]
        keep = np.isin(self.labels, old)
        return dataclasses.replace(
            self, texts=self.texts[keep], ids=self.ids[keep],
            labels=np.searchsorted(old, self.labels[keep]).astype(np.int64),
            class_names=tuple(kept))

    def without_labels(self):
        """The same texts with `labels=None`."""
        return dataclasses.replace(self, labels=None, class_names=None)


def is_text_data(path):
    """Whether `path` looks like text data `load_text_dataset` reads: a table
    file (`.csv`, `.tsv`, optionally `.bz2`/`.gz`/`.xz`) or a folder whose
    files (at most one sub-folder deep) are `.txt`."""
    path = Path(path).expanduser()
    if path.is_file():
        return _table_suffix(path) in (".csv", ".tsv")
    if not path.is_dir():
        return False
    files = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    for sub in path.iterdir():
        if sub.is_dir():
            files.extend(p for p in sub.iterdir() if p.is_file() and not p.name.startswith("."))
    return bool(files) and all(p.suffix.lower() == ".txt" for p in files)


def load_text_dataset(path, *, text_column=None, label_column=None,
                      encoding="utf-8", fallback_encoding="latin-1"):
    """Loads texts from a folder of `.txt` files or a CSV/TSV table.

    Folders follow `keras.utils.text_dataset_from_directory`'s layout and
    order: with sub-folders, each sub-folder is a class (labels for scoring
    only) and the `.txt` files below it its texts; without sub-folders the
    folder's `.txt` files are read without labels. Tables are read
    with Python's `csv` module (`.tsv` is tab-separated, `.csv` comma), also
    when compressed (`.bz2`, `.gz`, `.xz`).

    Args:
        path: folder or table file.
        text_column: column name (table with a header) or 0-based index;
            None picks a column named like `text`/`msg`/`review`, else the
            column with the longest texts.
        label_column: column name or index holding labels; None picks a
            column named like `label`/`category` in a table with a header,
            else no labels.
        encoding: text encoding tried first.
        fallback_encoding: encoding for files that are not valid `encoding`
            (BBC News is latin-1); None makes such files skipped.

    Returns:
        A `TextDataset`.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: no texts, an unknown column, or an unsupported file type.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"Text data not found. Received: path='{path}'")
    if path.is_dir():
        return _load_folder(path, encoding, fallback_encoding)
    if _table_suffix(path) not in (".csv", ".tsv"):
        raise ValueError(
            f"Expected a folder of .txt files or a .csv/.tsv file. Received: path='{path}'")
    return _load_table(path, text_column, label_column, encoding, fallback_encoding)


def _decode(raw, encoding, fallback_encoding):
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        if fallback_encoding is None:
            raise
        return raw.decode(fallback_encoding)


def _list_folder(path):
    """`(file_paths, labels, class_names)` of the `.txt` files under `path`,
    in `keras.utils.text_dataset_from_directory`'s order (classes = sorted
    sub-folders, files sorted within each); that loader does not return the
    file paths, which are the items' ids here."""
    classes = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    roots = [(path / name, index) for index, name in enumerate(classes)] or [(path, None)]
    paths, labels = [], []
    for root, label in roots:
        found = []
        for folder, _, names in sorted(os.walk(root)) if classes else [(str(root), None, os.listdir(root))]:
            found.extend(os.path.join(folder, n) for n in sorted(names)
                         if n.lower().endswith(".txt") and not n.startswith("."))
        paths.extend(found)
        labels.extend([label] * len(found))
    return paths, labels, tuple(classes) or None


def _load_folder(path, encoding, fallback_encoding):
    paths, labels, class_names = _list_folder(path)
    texts, ids, kept_labels, skipped = [], [], [], []
    for file_path, label in zip(paths, labels):
        try:
            with open(file_path, "rb") as handle:
                text = _decode(handle.read(), encoding, fallback_encoding)
        except (OSError, UnicodeDecodeError) as error:
            skipped.append((file_path, f"{type(error).__name__}: {error}"))
            continue
        texts.append(text)
        ids.append(file_path)
        kept_labels.append(label)
    if not texts:
        raise ValueError(f"No readable .txt files in folder '{path}'.")
    return TextDataset(
        texts=np.asarray(texts, dtype=object), ids=np.asarray(ids, dtype=object),
        labels=np.asarray(kept_labels, dtype="int64") if class_names else None,
        name=str(path), class_names=class_names, skipped=tuple(skipped))


def _table_suffix(path):
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSED:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _read_rows(path, encoding, fallback_encoding):
    opener = COMPRESSED.get(path.suffix.lower(), open)
    with opener(path, "rb") as handle:
        raw = handle.read()
    text = _decode(raw, encoding, fallback_encoding)
    delimiter = "\t" if _table_suffix(path) == ".tsv" else ","
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting))


def _column_index(column, header, n_columns, argument):
    if isinstance(column, (int, np.integer)):
        if not 0 <= column < n_columns:
            raise ValueError(
                f"Expected {argument} in [0, {n_columns}). Received: {argument}={column}")
        return int(column)
    if header is None or column not in header:
        raise ValueError(
            f"Unknown {argument}={column!r}. Columns: "
            f"{header if header is not None else list(range(n_columns))}")
    return header.index(column)


def _load_table(path, text_column, label_column, encoding, fallback_encoding):
    rows = [row for row in _read_rows(path, encoding, fallback_encoding) if row]
    if not rows:
        raise ValueError(f"Table '{path}' is empty.")
    first = [cell.strip().lower() for cell in rows[0]]
    named = isinstance(text_column, str) or isinstance(label_column, str)
    has_header = named or any(cell in TEXT_COLUMN_NAMES + LABEL_COLUMN_NAMES for cell in first)
    header = [cell.strip() for cell in rows[0]] if has_header else None
    body = rows[1:] if has_header else rows
    n_columns = len(rows[0])
    if text_column is None:
        lowered = [c.lower() for c in header] if header else []
        known = [lowered.index(c) for c in TEXT_COLUMN_NAMES if c in lowered]
        if known:
            text_index = known[0]
        else:
            sample = [r for r in body[:500] if len(r) == n_columns]
            text_index = int(np.argmax([np.mean([len(r[i]) for r in sample] or [0])
                                        for i in range(n_columns)]))
    else:
        text_index = _column_index(text_column, header, n_columns, "text_column")
    if label_column is None and header:
        lowered = [c.lower() for c in header]
        known = [lowered.index(c) for c in LABEL_COLUMN_NAMES if c in lowered]
        label_index = known[0] if known and known[0] != text_index else None
    elif label_column is None:
        label_index = None
    else:
        label_index = _column_index(label_column, header, n_columns, "label_column")
    texts, ids, raw_labels, skipped = [], [], [], []
    for row_number, row in enumerate(body):
        if len(row) != n_columns:
            skipped.append((str(row_number), f"{len(row)} columns, expected {n_columns}"))
            continue
        if not row[text_index].strip():
            skipped.append((str(row_number), "empty text"))
            continue
        texts.append(row[text_index])
        ids.append(str(row_number))
        if label_index is not None:
            raw_labels.append(row[label_index].strip())
    if not texts:
        raise ValueError(f"No texts in table '{path}' (column {text_index}).")
    labels = class_names = None
    if label_index is not None:
        values = sorted(set(raw_labels))
        if all(v.lstrip("-").isdigit() for v in values):
            values = sorted(values, key=int)
        lookup = {value: i for i, value in enumerate(values)}
        labels = np.asarray([lookup[v] for v in raw_labels], dtype="int64")
        class_names = tuple(values)
    return TextDataset(
        texts=np.asarray(texts, dtype=object), ids=np.asarray(ids, dtype=object),
        labels=labels, name=str(path), class_names=class_names, skipped=tuple(skipped))


__all__ = ["TextDataset", "is_text_data", "load_text_dataset"]
