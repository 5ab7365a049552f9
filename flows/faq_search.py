"""Which policy answers a person's typed words are about (政策咨询). Pure: no I/O.

Chinese is written without spaces and people phrase the same worry many ways, so words are
compared as overlapping pairs of characters (留守儿童 → 留守, 守儿, 儿童) and, for English, as
words cut to their first five letters (children, child → child). A pair counts for more the
fewer entries use it (inverse document frequency, as BM25 weighs it: 儿童, in every entry, says
almost nothing) and for more in an entry's keywords than in its question, and there than in
its answer; a keyword typed whole adds a bonus. Below a floor nothing is offered: a wrong
answer to a worried parent is worse than "not found" and the list of topics.

Typed Traditional Chinese (留守兒童) is made Simplified by OpenCC first, like the entries.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from flows import hant

# How much a match in each part of an entry counts.
WEIGHTS: Final = {"keywords": 3.0, "question": 2.0, "answer": 1.0}
# A keyword typed whole (at least two characters).
KEYWORD_BONUS: Final = 3.0
# The least score offered, and the least share of the best score (drops a weak tail).
FLOOR: Final = 2.5
SHARE: Final = 0.4
# Typed words looked at: a pasted essay costs no more than a question.
QUERY_MAX: Final = 200
# Question words that say nothing of the topic.
_STOP_WORDS: Final = (
    "什么 怎么 怎样 如何 哪些 哪里 哪个 是否 可以 请问 一下 我们 你们 他们 这个 那个 有没"
    " 没有 是不 不是 能不 不能 需要 应该 想问 知道 问题 谢谢 您好 你好 么办 该怎 么样 办呢"
    " what how who where when which can could does do the and for are is my our get with"
    " there this that from have"
)
_STOP: Final = frozenset(_STOP_WORDS.split())
_TOKEN: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
_STEM: Final = 5


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits), Simplified, lower case."""
    return hant.converter("t2s").convert(unicodedata.normalize("NFKC", text)).casefold()


def grams(text: str) -> set[str]:
    """The pairs of characters and the (cut) words of already normalised text."""
    found: set[str] = set()
    for token in _TOKEN.findall(text):
        if token.isascii():
            if len(token) >= 2:
                found.add(token[:_STEM])
        elif len(token) == 1:
            found.add(token)
        else:
            found.update(token[i : i + 2] for i in range(len(token) - 1))
    return found - _STOP


@dataclass(frozen=True, slots=True)
class Document:
    """One entry as the search sees it: its grams per part, and its keywords whole."""

    key: str
    parts: dict[str, frozenset[str]]
    keywords: tuple[str, ...]
    every: frozenset[str]  # the grams of all parts, for counting how many entries use one

    @classmethod
    def of(
        cls, key: str, *, question: Iterable[str], answer: Iterable[str], keywords: Iterable[str]
    ) -> Document:
        """From an entry's texts in every language it has."""
        words = tuple(normalise(k) for k in keywords)
        parts = {
            "keywords": frozenset(g for k in words for g in grams(k)),
            "question": frozenset(g for q in question for g in grams(normalise(q))),
            "answer": frozenset(g for a in answer for g in grams(normalise(a))),
        }
        every = frozenset().union(*parts.values())
        return cls(key, parts, tuple(w for w in words if len(w) >= 2), every)


def rank(documents: Sequence[Document], words: str, *, limit: int = 3) -> list[str]:
    """The keys of the entries ``words`` are most likely about, best first; [] if none."""
    query = normalise(words[:QUERY_MAX])
    asked = grams(query)
    if not asked or not documents:
        return []
    frequency = Counter(g for d in documents for g in asked & d.every)
    n = len(documents)

    def idf(gram: str) -> float:
        df = frequency[gram]
        return math.log((n - df + 0.5) / (df + 0.5) + 1)

    scored = []
    for position, doc in enumerate(documents):
        score = sum(
            idf(g) * max((WEIGHTS[p] for p, have in doc.parts.items() if g in have), default=0)
            for g in asked
        )
        score += KEYWORD_BONUS * sum(1 for k in doc.keywords if k in query)
        if score >= FLOOR:
            scored.append((-score, position, doc.key))
    scored.sort()
    if not scored:
        return []
    best = -scored[0][0]
    return [key for negative, _, key in scored[:limit] if -negative >= best * SHARE]
