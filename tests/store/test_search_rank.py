"""Relevance scoring of a window of matches (store.search_rank)."""

from __future__ import annotations

from store import search_rank


def test_tokens_fold_as_the_index_does() -> None:
    assert search_rank.tokens("Crème BRÛLÉE, snake_case & 42!") == [
        "creme",
        "brulee",
        "snake_case",
        "42",
    ]


def test_occurrences_of_words_phrases_and_prefixes() -> None:
    words = search_rank.tokens("the budget review of the budget reviewers")
    assert search_rank.occurrences(words, ["budget"], prefix=False) == 2
    assert search_rank.occurrences(words, ["budget", "review"], prefix=False) == 1
    assert search_rank.occurrences(words, ["budget", "review"], prefix=True) == 2
    assert search_rank.occurrences(words, ["review", "budget"], prefix=False) == 0
    assert search_rank.occurrences(words, [], prefix=False) == 0


def test_rarer_terms_weigh_more_and_common_ones_are_capped() -> None:
    assert search_rank.idf(1) > search_rank.idf(100) > search_rank.idf(search_rank.DF_CAP)
    assert search_rank.idf(search_rank.DF_CAP) == search_rank.idf(10 * search_rank.DF_CAP)


def test_scores_prefer_frequent_terms_short_posts_and_rare_words() -> None:
    common, rare = search_rank.idf(search_rank.DF_CAP), search_rank.idf(3)
    bodies = [
        "offsite offsite agenda",
        "a long note about many things with the offsite somewhere among them all",
        "nothing relevant here",
        "the quokka visited the offsite",
    ]
    scores = search_rank.scores(bodies, [(["offsite"], False, common), (["quokka"], False, rare)])
    assert scores[2] == 0.0
    assert scores[0] > scores[1]  # twice the word in a short post beats once in a long one
    assert scores[3] > scores[0]  # the rare word outweighs repetitions of the common one
