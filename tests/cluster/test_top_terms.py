"""Top terms per cluster (class-based TF-IDF)."""

import pytest

from tfunsup.cluster.top_terms import top_terms

TEXTS = [
    "the striker scored a late goal in the cup final",
    "goal after goal, the striker won the league",
    "the keeper saved a penalty in the cup match",
    "the central bank raised interest rates",
    "markets fell as interest rates rose and the bank warned",
    "shares and markets rallied after the bank decision",
]


def test_each_cluster_gets_its_own_words():
    terms = top_terms(TEXTS, [0, 0, 0, 1, 1, 1], n_terms=3, min_df=1)
    sport = {t for t, _ in terms[0]}
    finance = {t for t, _ in terms[1]}
    assert {"goal", "cup", "striker"} & sport and not {"bank", "rates"} & sport
    assert {"bank", "interest", "markets", "rates"} & finance and not {"goal"} & finance
    assert [s for _, s in terms[0]] == sorted((s for _, s in terms[0]), reverse=True)


def test_unassigned_texts_are_ignored_and_errors():
    terms = top_terms(TEXTS, [0, 0, -1, 1, 1, -1], n_terms=2, min_df=1)
    assert sorted(terms) == [0, 1]
    with pytest.raises(ValueError, match="6 texts, 5 labels"):
        top_terms(TEXTS, [0] * 5)
    with pytest.raises(ValueError, match="n_terms=0"):
        top_terms(TEXTS, [0] * 6, n_terms=0)
