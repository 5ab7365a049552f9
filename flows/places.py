"""The Guangdong place directory and free-text place matching.

Pure Python, no I/O: the caller reads the rows (``storage.directory_data``) and builds one
:class:`Directory`. :meth:`Directory.match` turns what a citizen typed ("广州 从化 街口",
"廣州市從化區街口街道", "从化 新城社区") into ranked candidate places for confirmation.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise, product
from typing import Any, NamedTuple

import opencc

LEVELS = ("city", "county", "township", "village")

# Shorter aliases ("新" from "新村") would match almost any text.
MIN_ALIAS_LEN = 2
# Addresses are short; a cap keeps match() cheap whatever is pasted in.
MAX_QUERY_LEN = 50

# A real address names a place once or twice ("街口" inside "街口街道").
_MAX_HITS_PER_PLACE = 4

_LEVEL_RANK = {"city": 3, "county": 2, "township": 1, "village": 0}

# What people put in front of an address that names no place in the directory.
_QUERY_PREFIXES = ("中华人民共和国", "中国", "广东省", "广东")

# Suffixes stripped (repeatedly, longest first) to reach the name people actually say.
_STRIP: dict[str, tuple[str, ...]] = {
    "city": ("市",),
    "county": ("自治县", "区", "县", "市"),
    "township": (
        "街道办事处",
        "街道办",
        "街道",
        "办事处",
        "管理区",
        "农场",
        "林场",
        "茶场",
        "盐场",
        "镇",
        "乡",
    ),
    "village": (
        # The data has typos like "社区居委会会" and "村民委员会委会"; strip those too.
        "社区居民委员会",
        "社区居委委员会",
        "村民委员会委会",
        "社区居委员会",
        "社区居委会会",
        "虚拟生活区",
        "社区居委会",
        "居民委员会",
        "村民委员会",
        "类似居委会",
        "虚拟社区",
        "社区居委",
        "村民委会",
        "村委会",
        "居委会",
        "渔委会",
        "委员会",
        "生活区",
        "社区",
        "居委",
        "村委",
        "村",
    ),
}
# Per level: suffix lengths, longest first, and the suffixes of each length.
_STRIP_BY_LEN: dict[str, list[tuple[int, frozenset[str]]]] = {
    level: [
        (n, frozenset(s for s in suffixes if len(s) == n))
        for n in sorted({len(s) for s in suffixes}, reverse=True)
    ]
    for level, suffixes in _STRIP.items()
}

# Suffixes re-attached to a stripped name: the forms people type for the same place.
_STREET_FORMS = ("街道", "街", "街道办", "街道办事处")
_COMMUNITY_FORMS = ("社区", "居委", "居委会", "社区居委会", "居民委员会", "社区居民委员会")
_VILLAGE_FORMS = ("村", "村委", "村委会", "村民委员会")
# Counties were often renamed 市 -> 区 or 县 -> 区; people still use the old form.
_COUNTY_FORMS = ("区", "县", "市")

# "乳源瑶族自治县" is called "乳源"; "下帅壮族瑶族乡" is "下帅乡".
_ETHNIC = re.compile(r"(?:[壮瑶畲回苗黎]族)+(?=(?:自治县|乡)$)")

# Bare unit words are never a place name on their own.
_GENERIC = frozenset(
    {s for forms in _STRIP.values() for s in forms}
    | {*_STREET_FORMS, *_COMMUNITY_FORMS, *_VILLAGE_FORMS, *_COUNTY_FORMS, "虚拟"}
)


@dataclass(frozen=True, slots=True)
class Place:
    """One division: city, county, township (the station) or village."""

    code: str  # 12-digit NBS code
    name: str  # as in the data, e.g. "街口街道", "新城社区居委会"
    level: str  # "city" | "county" | "township" | "village"
    parent_code: str | None


class _Hit(NamedTuple):
    start: int
    end: int
    strength: int  # 2: the official name, 1: another form of it


class _Score(NamedTuple):
    coverage: int  # query characters explained by the place and its ancestors
    strength: int
    in_order: int  # 1 when ancestors come before the place, as Chinese addresses are written


@functools.cache
def _converter() -> Any:
    # Loading the OpenCC dictionaries costs a few ms; do it once, on first use.
    return opencc.OpenCC("t2s")


_NOT_WORD = re.compile(r"[\W_]+")


def _clean(text: str) -> str:
    # Keep letters and digits only: spaces and punctuation separate parts, never name them.
    return _NOT_WORD.sub("", text.casefold())


def _normalise_many(texts: list[str]) -> list[str]:
    """NFKC, Traditional -> Simplified, lower case, letters and digits only."""
    nfkc = [unicodedata.normalize("NFKC", t).replace("\n", " ") for t in texts]
    # One OpenCC call for all texts is several times faster than one call each.
    converted = _converter().convert("\n".join(nfkc)).split("\n")
    if len(converted) != len(nfkc):  # defensive: never trust a splitter with our counts
        converted = [_converter().convert(t) for t in nfkc]
    return [_clean(t) for t in converted]


def normalise_query(text: str) -> str:
    """The form of typed text that match() looks up (at most MAX_QUERY_LEN characters)."""
    # Cut before converting so a pasted essay costs no more than an address.
    query = _normalise_many([text[: MAX_QUERY_LEN * 4]])[0]
    for prefix in _QUERY_PREFIXES:
        if query.startswith(prefix):
            query = query[len(prefix) :]
    return query[:MAX_QUERY_LEN]


def _forms_for(level: str, suffix: str) -> tuple[str, ...]:
    """The suffixes to re-attach to a name stripped of suffix."""
    if level == "county":
        return _COUNTY_FORMS
    if level == "city":
        return ("市",)
    if level == "township":
        if suffix.startswith("街道"):
            return _STREET_FORMS
        return (suffix,) if suffix in ("镇", "乡") else ()
    if "社区" in suffix or "居" in suffix:
        return _COMMUNITY_FORMS
    if "村" in suffix:
        return _VILLAGE_FORMS
    return ()


def _strippable(stem: str, level: str) -> str | None:
    """The longest suffix of stem that leaves a name of at least MIN_ALIAS_LEN."""
    for n, suffixes in _STRIP_BY_LEN[level]:
        if len(stem) - n >= MIN_ALIAS_LEN and stem[-n:] in suffixes:
            return stem[-n:]
    return None


def _aliases(name: str, level: str) -> dict[str, int]:
    """Normalised alias -> strength for one normalised name."""
    # The official name goes in first with strength 2; setdefault keeps it.
    out: dict[str, int] = {name: 2} if len(name) >= MIN_ALIAS_LEN else {}
    bases = [name]
    if name.startswith("广东"):
        rest = name.removeprefix("广东省") if name.startswith("广东省") else name[2:]
        if len(rest) >= MIN_ALIAS_LEN:
            bases.append(rest)
    if "族" in name:
        bases += [b for b in (_ETHNIC.sub("", b) for b in bases) if b not in bases]

    for base in bases:
        stem: str = base
        forms: tuple[str, ...] = ()
        while True:
            out.setdefault(stem, 1)
            for form in forms:
                out.setdefault(stem + form, 1)
            suffix = _strippable(stem, level)
            # "和平新村" is a name in itself; "和平新" is not.
            if suffix is None or (suffix == "村" and stem.endswith("新村")):
                break
            forms = forms or _forms_for(level, suffix)
            stem = stem[: -len(suffix)]
    # Stems are never shorter than MIN_ALIAS_LEN (see _strippable), so only generic words
    # and a too-short official name need removing.
    return {a: s for a, s in out.items() if a not in _GENERIC and len(a) >= MIN_ALIAS_LEN}


class Directory:
    """All places, with lookups by code and by (typed) name."""

    def __init__(self, places: Iterable[Place]) -> None:
        self._places: list[Place] = list(places)
        self._by_code: dict[str, int] = {}
        for i, place in enumerate(self._places):
            if place.level not in _LEVEL_RANK:
                raise ValueError(f"unknown level {place.level!r} for {place.code}")
            if place.code in self._by_code:
                raise ValueError(f"duplicate code {place.code}")
            self._by_code[place.code] = i

        # Ancestor indexes, nearest first (township, county, city as they exist).
        self._chain: list[tuple[int, ...]] = []
        children: dict[str, list[Place]] = {}
        for place in self._places:
            chain: list[int] = []
            parent = place.parent_code
            while parent is not None and parent in self._by_code and len(chain) < len(LEVELS):
                chain.append(self._by_code[parent])
                parent = self._places[chain[-1]].parent_code
            self._chain.append(tuple(chain))
            if place.parent_code is not None:
                children.setdefault(place.parent_code, []).append(place)
        self._children = {c: sorted(kids, key=lambda p: p.code) for c, kids in children.items()}
        self._cities = sorted((p for p in self._places if p.level == "city"), key=lambda p: p.code)

        # Normalised alias -> {place index: strength}. Both the converted and the raw name are
        # indexed, because OpenCC converts by phrase and may treat a name differently in context.
        self._index: dict[str, dict[int, int]] = {}
        index = self._index
        converted = _normalise_many([p.name for p in self._places])
        cache: dict[tuple[str, str], dict[str, int]] = {}  # many names repeat ("新村村委会")
        for i, place in enumerate(self._places):
            key = (converted[i], place.level)
            if key not in cache:
                cache[key] = _aliases(*key)
            aliases = cache[key]
            raw = _clean(unicodedata.normalize("NFKC", place.name))
            if raw != converted[i]:
                aliases = {**_aliases(raw, place.level), **aliases}
            for alias, strength in aliases.items():
                slot = index.get(alias)
                if slot is None:
                    index[alias] = {i: strength}
                else:
                    slot[i] = strength
        self._max_alias = max((len(a) for a in self._index), default=0)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str, str | None]]) -> Directory:
        """Build from (code, name, level, parent_code) rows, e.g. ``DivisionRow``."""
        return cls(Place(code, name, level, parent) for code, name, level, parent in rows)

    def __len__(self) -> int:
        return len(self._places)

    def get(self, code: str) -> Place | None:
        """The place with this code, or None."""
        i = self._by_code.get(code)
        return None if i is None else self._places[i]

    def cities(self) -> list[Place]:
        """All cities, sorted by code."""
        return list(self._cities)

    def children(self, code: str) -> list[Place]:
        """Direct children sorted by code (东莞/中山: city -> townships)."""
        return list(self._children.get(code, ()))

    def _at_level(self, code: str, level: str) -> Place | None:
        i = self._by_code.get(code)
        if i is None:
            return None
        for j in (i, *self._chain[i]):
            if self._places[j].level == level:
                return self._places[j]
        return None

    def township_of(self, code: str) -> Place | None:
        """Village -> its township; township -> itself; else None."""
        return self._at_level(code, "township")

    def county_of(self, code: str) -> Place | None:
        """The county at or above code; None for cities and under 东莞/中山."""
        return self._at_level(code, "county")

    def city_of(self, code: str) -> Place | None:
        """The city at or above code."""
        return self._at_level(code, "city")

    def full_name(self, code: str) -> str:
        """Names from the city down, e.g. "广州市从化区街口街道"; KeyError if unknown."""
        i = self._by_code[code]
        return "".join(self._places[j].name for j in (*reversed(self._chain[i]), i))

    def match(self, text: str, *, limit: int = 8) -> list[Place]:
        """Places the text most plausibly names, best first; [] when nothing plausible.

        Every candidate is scored by how many query characters its own name plus the
        names of its ancestors explain (non-overlapping). Only the best-explained tier
        is kept, so a typed county or city filters out same-named places elsewhere.
        """
        query = normalise_query(text)
        if len(query) < MIN_ALIAS_LEN or limit <= 0:
            return []

        hits: dict[int, list[_Hit]] = {}
        n = len(query)
        for start in range(n - MIN_ALIAS_LEN + 1):
            for end in range(start + MIN_ALIAS_LEN, min(n, start + self._max_alias) + 1):
                found = self._index.get(query[start:end])
                if not found:
                    continue
                for i, strength in found.items():
                    # Text that also names the village's own township ("街口" of 街口村委会 in
                    # 街口街道) says nothing about the village: same station, and a road
                    # ("街口路") would otherwise pass for it.
                    chain = self._chain[i]
                    if chain and chain[0] in found and self._places[i].level == "village":
                        continue
                    hits.setdefault(i, []).append(_Hit(start, end, strength))
        if not hits:
            return []
        for found_hits in hits.values():
            if len(found_hits) > _MAX_HITS_PER_PLACE:
                # Only repeated text gets here ("广州广州广州..."); keeping the longest hits
                # bounds the ancestor search in _explain.
                found_hits.sort(key=lambda h: (h.start - h.end, h.start))
                del found_hits[_MAX_HITS_PER_PLACE:]

        scores = {i: self._explain(i, hits) for i in hits}
        best = max(s.coverage for s in scores.values())
        tier = {i: s for i, s in scores.items() if s.coverage == best}

        def keep(i: int) -> bool:
            # A village explaining no more than its own township adds nothing: same station.
            chain = self._chain[i]
            return not (self._places[i].level == "village" and chain and chain[0] in tier)

        ranked = sorted((i for i in tier if keep(i)), key=lambda i: self._rank_key(i, tier[i]))
        return [self._places[i] for i in ranked[:limit]]

    def _rank_key(self, i: int, score: _Score) -> tuple[int, int, int, int, int, str]:
        """Sort key, best first."""
        place = self._places[i]
        # NBS township codes 400-599 are statistical units (farms, parks, reservoirs), not
        # 镇/街道 governments; prefer a real township of the same name.
        statistical = int(place.level == "township" and place.code[6:9] >= "400")
        return (
            -score.coverage,
            -_LEVEL_RANK[place.level],  # equal text: the broader, better-known place first
            statistical,
            -score.strength,
            -score.in_order,
            place.code,
        )

    def _explain(self, i: int, hits: dict[int, list[_Hit]]) -> _Score:
        """Best non-overlapping choice of one hit for the place and at most one per ancestor."""
        ancestors = [a for a in self._chain[i] if a in hits]
        if not ancestors:  # the common case for an ambiguous short name: no search needed
            return max(_Score(h.end - h.start, h.strength, 1) for h in hits[i])
        options = [[None, *hits[a]] for a in reversed(ancestors)]  # top of the hierarchy first
        best = _Score(0, 0, 0)
        for own in hits[i]:
            for combo in product(*options):
                spans = [h for h in combo if h is not None] + [own]  # the place itself last
                ordered = sorted(spans)
                if any(a.end > b.start for a, b in pairwise(ordered)):
                    continue
                score = _Score(
                    coverage=sum(h.end - h.start for h in spans),
                    strength=sum(h.strength for h in spans),
                    in_order=int(spans == ordered),
                )
                best = max(best, score)
        return best
