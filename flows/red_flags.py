"""Words that raise the alarm: a reporter's free text screened for red flags (self-harm,
sexual abuse, severe injury, a very young child alone, being locked in, trafficking,
abandonment), in Simplified and Traditional Chinese, Cantonese and English.

``screen`` is pure: text in, flags out, the same for every door (the bot's story and photo
captions, the web form, the console, the API, additions), because every door files through
``flows.tickets``. The lexicon is data (``flows/data/red_flags.toml``; its header documents
the pattern syntax and how negation is handled), read once.

A flag raises a ticket's priority to at least its category's (``raised``), never lowers it.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from flows import hant

RANKS: Final = {"P0": 0, "P1": 1, "P2": 2}
WORDS_MAX: Final = 5  # words kept per category: enough for the station to see why
WORD_MAX: Final = 24  # characters of one word kept (a gap pattern can span a clause)
# A gap never runs across the end of a sentence.
_GAP_CHARS: Final = r"[^。！？；!?;.\n]"
_NUMERALS: Final = "0123456789一二三四五六七八九十两百"
_MASK: Final = "\x00"  # blanked-out ignore phrases: matches nothing


class LexiconError(ValueError):
    """The lexicon file cannot be used; the message names the entry."""


@dataclass(frozen=True, slots=True)
class Flag:
    """One category found in a text, with the words (as the reporter wrote them) that
    raised it."""

    category: str
    priority: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    priority: str
    patterns: tuple[re.Pattern[str], ...]
    ignore: tuple[re.Pattern[str], ...] = ()  # never this category (被打扰 is not 被打)
    # Categories that, found in the same text, take this one's place (被打到流血: severe).
    yields_to: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lexicon:
    categories: tuple[Category, ...]
    ignore: tuple[re.Pattern[str], ...]
    questions: tuple[str, ...]
    negated: re.Pattern[str]  # a negation cue (and fillers) at the end of a text
    negated_latin: re.Pattern[str]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.categories)

    def priority_of(self, category: str) -> str:
        return next((c.priority for c in self.categories if c.name == category), "P2")


# ---- normalising ----------------------------------------------------------------------


def _char(c: str) -> str:
    # One character for one, so a match's place in the normalised text is its place in
    # what the reporter wrote (the words shown to the station are theirs).
    n = unicodedata.normalize("NFKC", c)
    n = n if len(n) == 1 else c
    low = n.lower()
    return low if len(low) == 1 else n


def normalise(text: str) -> str:
    """Half-width, lower case, Simplified; the same length as ``text`` whenever OpenCC
    converts character for character (it nearly always does)."""
    return str(hant.converter("t2s").convert("".join(_char(c) for c in text)))


# ---- the lexicon ----------------------------------------------------------------------

_TOKEN: Final = re.compile(r"\(([^()|]+(?:\|[^()|]+)+)\)|\.\{0,(\d{1,2})\}|( +)|(.)", re.S)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The file's pattern syntax (see its header) as a regular expression: words,
    ``(a|b)``, ``.{0,N}`` gaps (each a group, for the negation check), spaces."""
    source = normalise(pattern.strip())
    if not source:
        raise LexiconError("an empty pattern")
    parts: list[str] = []
    ends: list[list[str]] = []  # each token's possible words, for the first and the last
    for group, gap, spaces, char in _TOKEN.findall(source):
        if group:
            words = group.split("|")
            parts.append("(?:" + "|".join(_words(w) for w in words) + ")")
            ends.append(words)
        elif gap:
            parts.append(f"({_GAP_CHARS}{{0,{int(gap)}}}?)")
            ends.append([""])
        elif spaces:
            parts.append(r"\s+")
            ends.append([" "])
        else:
            if char in "()|{}[]?*+\\^$":  # a regular expression's: not this syntax
                raise LexiconError(f"{pattern!r}: use (a|b) and .{{0,N}} only")
            parts.append(re.escape(char))
            ends.append([char])
    body = "".join(parts)
    firsts = {w[:1] for w in ends[0]}
    lasts = {w[-1:] for w in ends[-1]}
    if any(c.isascii() and c.isalnum() for c in firsts):
        body = r"(?<![a-z0-9])" + body  # an English word starts whole
    if firsts & set(_NUMERALS):
        body = f"(?<![{_NUMERALS}])" + body  # 13岁 is not 3岁
    if any(c.isascii() and c.isalnum() for c in lasts):
        body += r"(?![a-z0-9])"  # and ends whole
    return re.compile(body)


def _words(word: str) -> str:
    return r"\s+".join(re.escape(w) for w in word.split(" ") if w) or re.escape(word)


def _either(words: Iterable[str]) -> str:
    ordered = sorted({normalise(w) for w in words if w}, key=len, reverse=True)
    return "|".join(_words(w) for w in ordered)


def parse(text: str) -> Lexicon:
    """A lexicon from TOML text (``flows/data/red_flags.toml``'s form)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"not valid TOML: {exc}") from None
    neg = data.pop("negation", {})
    ignore = data.pop("ignore", {})
    categories = []
    for name, section in data.items():
        if not isinstance(section, dict) or section.get("priority") not in RANKS:
            raise LexiconError(f"[{name}]: a priority (P0, P1 or P2) is needed")
        patterns = section.get("patterns") or []
        if not patterns:
            raise LexiconError(f"[{name}]: no patterns")
        categories.append(
            Category(
                name,
                section["priority"],
                tuple(compile_pattern(p) for p in patterns),
                tuple(compile_pattern(p) for p in section.get("ignore", [])),
                tuple(section.get("yields_to", [])),
            )
        )
    cues, fillers = _either(neg.get("cues", [])), _either(neg.get("fillers", []))
    cues_latin = _either(neg.get("cues_latin", []))
    fillers_latin = _either(neg.get("fillers_latin", []))
    return Lexicon(
        categories=tuple(categories),
        ignore=tuple(compile_pattern(p) for p in ignore.get("phrases", [])),
        questions=tuple(normalise(q) for q in neg.get("questions", [])),
        # A cue, then at most two fillers, at the very end of the text before a match.
        negated=re.compile(f"(?:{cues})(?:{fillers}){{0,2}}\\s*$"),
        negated_latin=re.compile(
            rf"(?<![a-z'])(?:{cues_latin})\s+(?:(?:{fillers_latin})\s+){{0,3}}$"
        ),
    )


@functools.cache
def lexicon() -> Lexicon:
    """The packaged lexicon, read and compiled once."""
    source = resources.files("flows").joinpath("data/red_flags.toml")
    return parse(source.read_text(encoding="utf-8"))


# ---- screening ------------------------------------------------------------------------


def _negated(lex: Lexicon, before: str) -> bool:
    tail = before[-24:]
    return bool(lex.negated.search(tail) or lex.negated_latin.search(tail))


def _blank(text: str, patterns: Iterable[re.Pattern[str]], fill: str) -> str:
    for pattern in patterns:
        text = pattern.sub(lambda m: fill * len(m.group()), text)
    return text


def screen(text: str, lex: Lexicon | None = None) -> tuple[Flag, ...]:
    """The red flags in ``text``, in the lexicon's order of categories."""
    lex = lex or lexicon()
    if not text or not text.strip():
        return ()
    norm = normalise(text)
    shown = text if len(norm) == len(text) else norm
    matched = _blank(norm, lex.ignore, _MASK)
    # Where a negation is looked for: questions (是不是想死) are not negations.
    plain = matched
    for question in lex.questions:
        plain = plain.replace(question, "\x01" * len(question))
    flags = []
    found: set[str] = set()
    for category in lex.categories:
        text_for = _blank(matched, category.ignore, _MASK) if category.ignore else matched
        spans: list[tuple[int, int]] = []
        denied: list[tuple[int, int]] = []
        for pattern in category.patterns:
            for m in pattern.finditer(text_for):
                # After each gap, the rest of the pattern may itself be negated.
                ends = (m.start(), *(m.end(g) for g in range(1, pattern.groups + 1)))
                if any(_negated(lex, plain[:end]) for end in ends):
                    denied.append(m.span())
                else:
                    spans.append(m.span())
        # 没有被打到流血: the negated 打到流血 takes its 流血 with it.
        spans = [s for s in spans if not any(d[0] <= s[0] and s[1] <= d[1] for d in denied)]
        if any(name in found for name in category.yields_to):
            continue
        if spans:
            found.add(category.name)
            words = _words_of(shown, spans)
            flags.append(Flag(category.name, category.priority, words))
    return tuple(flags)


def _words_of(text: str, spans: list[tuple[int, int]]) -> tuple[str, ...]:
    """Overlapping matches as one word (打到流血, not 打到流血 and 流血), in text order."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    words: list[str] = []
    for start, end in merged:
        word = " ".join(text[start:end].split())[:WORD_MAX]
        if word and word not in words:
            words.append(word)
    return tuple(words[:WORDS_MAX])


def screen_all(texts: Iterable[str], lex: Lexicon | None = None) -> tuple[Flag, ...]:
    """Several texts (a story and captions) as one: each category once, words merged."""
    return merge((), *(screen(text, lex) for text in texts))


def merge(*groups: Sequence[Flag]) -> tuple[Flag, ...]:
    """Flags found at different times (the story, then an addition) as one list."""
    by_category: dict[str, Flag] = {}
    for flags in groups:
        for flag in flags:
            had = by_category.get(flag.category)
            if had is None:
                by_category[flag.category] = flag
                continue
            words = tuple(dict.fromkeys((*had.words, *flag.words)))[:WORDS_MAX]
            priority = min(had.priority, flag.priority, key=RANKS.__getitem__)
            by_category[flag.category] = Flag(flag.category, priority, words)
    return tuple(by_category.values())


def raised(priority: str, flags: Iterable[Flag]) -> str:
    """The more urgent of ``priority`` and the flags' priorities: never lower."""
    return min((priority, *(f.priority for f in flags)), key=RANKS.__getitem__)


# ---- stored on the ticket -------------------------------------------------------------


def as_json(flags: Iterable[Flag]) -> list[dict[str, Any]]:
    """As ``Ticket.red_flags`` keeps them: the category and the words (the priority they
    set is in the ticket's own priority)."""
    return [{"category": f.category, "words": list(f.words)} for f in flags]


def from_json(data: Any, lex: Lexicon | None = None) -> tuple[Flag, ...]:
    """A ticket's stored flags; a category no longer in the lexicon keeps its words."""
    lex = lex or lexicon()
    flags = []
    for item in data or []:
        if isinstance(item, dict) and isinstance(item.get("category"), str):
            words = tuple(str(w) for w in item.get("words") or [])
            category = item["category"]
            flags.append(Flag(category, lex.priority_of(category), words))
    return tuple(flags)
