"""Text datasets from folders of .txt files and CSV/TSV tables."""

import bz2

import numpy as np
import pytest

from tfunsup.data.text import is_text_data, load_text_dataset


def _folder(root):
    (root / "sport").mkdir(parents=True)
    (root / "tech").mkdir()
    (root / "sport" / "001.txt").write_text("Late goal wins the cup")
    (root / "sport" / "002.txt").write_bytes("Cup final \xa3 tickets".encode("latin-1"))
    (root / "tech" / "001.txt").write_text("New phone chip is faster")
    (root / "README.TXT").write_text("not a text of any class")
    return root


def test_folder_with_class_sub_folders(tmp_path):
    data = load_text_dataset(_folder(tmp_path / "news"))
    assert data.class_names == ("sport", "tech")
    assert data.labels.tolist() == [0, 0, 1]
    assert [p.split("news/")[1] for p in data.ids] == ["sport/001.txt", "sport/002.txt", "tech/001.txt"]
    assert data.texts[1] == "Cup final \u00a3 tickets"  # latin-1 fallback
    assert is_text_data(tmp_path / "news")
    assert data.without_labels().labels is None
    part = data.subset([2, 0])
    assert part.texts.tolist() == [data.texts[2], data.texts[0]]
    assert part.ids.tolist() == [data.ids[2], data.ids[0]] and part.labels.tolist() == [1, 0]


def test_undecodable_file_is_skipped_and_listed(tmp_path):
    root = _folder(tmp_path / "news")
    data = load_text_dataset(root, fallback_encoding=None)
    assert len(data) == 2 and len(data.skipped) == 1
    assert data.skipped[0][0].endswith("sport/002.txt")


def test_flat_folder_has_no_labels(tmp_path):
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "b.txt").write_text("two")
    data = load_text_dataset(tmp_path)
    assert data.labels is None and data.texts.tolist() == ["one", "two"]


def test_tsv_with_header_picks_named_columns(tmp_path):
    path = tmp_path / "sms.tsv"
    path.write_text("label\tmsg\nham\tsee you at 5\nspam\tWIN a prize now\nham\t\nham\tok\n")
    data = load_text_dataset(path)
    assert data.texts.tolist() == ["see you at 5", "WIN a prize now", "ok"]
    assert data.class_names == ("ham", "spam") and data.labels.tolist() == [0, 1, 0]
    assert data.ids.tolist() == ["0", "1", "3"]
    assert data.skipped == (("2", "empty text"),)


def test_compressed_csv_without_header_and_column_errors(tmp_path):
    path = tmp_path / "news.csv.bz2"
    rows = '2,"markets fall, dollar slides"\n0,"cup final tonight in the rain"\n1,"chip maker profits"\n'
    path.write_bytes(bz2.compress(rows.encode()))
    data = load_text_dataset(path, label_column=0)
    assert data.texts[0] == "markets fall, dollar slides"  # longest column is the text
    assert data.class_names == ("0", "1", "2") and data.labels.tolist() == [2, 0, 1]
    assert load_text_dataset(path).labels is None
    with pytest.raises(ValueError, match="label_column=5"):
        load_text_dataset(path, label_column=5)
    with pytest.raises(ValueError, match="text_column='body'"):
        load_text_dataset(path, text_column="body")


def test_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        load_text_dataset(tmp_path / "missing")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ValueError, match="x.json"):
        load_text_dataset(tmp_path / "x.json")


def test_real_bbc_and_sms(shared_data):
    bbc = load_text_dataset(shared_data("text", "bbc"))
    assert len(bbc) == 2225 and len(bbc.class_names) == 5 and not bbc.skipped
    assert np.bincount(bbc.labels).tolist() == [510, 386, 417, 511, 401]
    sms = load_text_dataset(shared_data("text", "sms_spam.tsv"))
    assert len(sms) == 5574 and np.bincount(sms.labels).tolist() == [4827, 747]


def test_load_dataset_infers_text_and_checks_the_column_flags(tmp_path):
    from tfunsup.data import load_dataset

    data = load_dataset(_folder(tmp_path / "news"))
    assert data.class_names == ("sport", "tech") and len(data) == 3
    table = tmp_path / "t.csv"
    table.write_text("kind,body\nspam,win a prize now\nham,see you at six\n")
    loaded = load_dataset(table, text_column="body", label_column=0)
    assert loaded.texts.tolist() == ["win a prize now", "see you at six"]
    assert loaded.class_names == ("ham", "spam") and loaded.ids.tolist() == ["0", "1"]
    with pytest.raises(ValueError, match="text_column='body'"):
        load_dataset(tmp_path / "news", text_column="body")


def test_select_classes_keeps_their_texts_and_relabels(tmp_path):
    table = tmp_path / "reviews.csv"
    table.write_text("label,text\nrotten,bad\nfresh,good\nmeh,fine\nfresh,great\nrotten,dull\n")
    data = load_text_dataset(table)
    names = data.class_names
    part = data.select_classes(["rotten", "fresh"])  # the dataset's class order is kept
    kept = [i for i, label in enumerate(data.labels) if names[label] in ("rotten", "fresh")]
    assert part.class_names == tuple(n for n in names if n != "meh")
    assert part.texts.tolist() == data.texts[kept].tolist()
    assert part.ids.tolist() == data.ids[kept].tolist()
    assert [part.class_names[label] for label in part.labels] == [names[data.labels[i]]
                                                                  for i in kept]
    assert part.labels.dtype == np.int64 and set(part.labels) == {0, 1}
    assert data.select_classes("meh").texts.tolist() == ["fine"]
    with pytest.raises(ValueError, match=r"Received: classes=\['fresh', 'great'\] "
                                         r"\(unknown: \['great'\]\)"):
        data.select_classes(["fresh", "great"])
    with pytest.raises(ValueError, match=r"Received: classes=\[\]"):
        data.select_classes([])
    with pytest.raises(ValueError, match="unlabelled"):
        data.without_labels().select_classes(["fresh"])
