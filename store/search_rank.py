"""Relevance of a few hundred search matches, computed here rather than by FTS5's bm25().

FTS5's bm25() counts every row that holds each phrase before it scores the first one, so it
costs as much as the phrase's whole doclist: 20-50 ms for a word in half of a million posts,
more as the instance grows. Here the document frequency is counted only up to DF_CAP (a word
in more posts than that is simply common), and term frequencies come from the bodies of the
window being ranked, so the cost is bounded by the window whatever the size of the index.
The tokens are folded as the index's tokenizer folds them (unicode61, accents removed,
`_` kept in words).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

DF_CAP = 10_000
K1 = 1.2
B = 0.75
_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    if text.isascii():  # most posts: nothing to fold but case
        return _WORD.findall(text.lower())
    folded = unicodedata.normalize("NFKD", text.casefold())
    return _WORD.findall("".join(c for c in folded if not unicodedata.combining(c)))


def idf(document_frequency: int) -> float:
    """Rarer terms weigh more; every term in DF_CAP posts or more weighs the same."""
    return math.log(1.0 + DF_CAP / max(1, min(document_frequency, DF_CAP)))


def occurrences(words: list[str], phrase: Sequence[str], prefix: bool) -> int:
    """How often `phrase` (its last token a prefix when `prefix`) occurs in `words`."""
    if not phrase:
        return 0
    if len(phrase) == 1:
        if not prefix:
            return words.count(phrase[0])
        return sum(1 for word in words if word.startswith(phrase[0]))
    size, count = len(phrase), 0
    for start in range(len(words) - size + 1):
        if all(words[start + i] == phrase[i] for i in range(size - 1)):
            last = words[start + size - 1]
            if last == phrase[-1] or (prefix and last.startswith(phrase[-1])):
                count += 1
    return count


def scores(
    bodies: Sequence[str], phrases: Sequence[tuple[Sequence[str], bool, float]]
) -> list[float]:
    """BM25 of each body for the (tokens, prefix, idf) phrases, lengths normalised over the
    window itself."""
    documents = [tokens(body) for body in bodies]
    average = sum(len(words) for words in documents) / max(1, len(documents)) or 1.0
    result = []
    for words in documents:
        norm = K1 * (1 - B + B * len(words) / average)
        total = 0.0
        for phrase, prefix, weight in phrases:
            tf = occurrences(words, phrase, prefix)
            total += weight * tf * (K1 + 1) / (tf + norm) if tf else 0.0
        result.append(total)
    return result
