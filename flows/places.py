"""The Guangdong place directory and free-text place matching.

Pure Python, no I/O: the caller reads the rows (``storage.directory_data``) and builds one
:class:`Directory`. :meth:`Directory.match` turns what a citizen typed ("广州 从化 街口",
"廣州市從化區街口街道", "从化 新城社区") into ranked candidate places for confirmation; when
the characters do not explain it, by sound: 从化区街扣街道, "Conghua Qu Jiekou Jiedao".

The directory lives for the whole process, so it is held compactly: per place a code, a slice
of one packed name text, a level byte and a parent index (a :class:`Place` is made when asked
for); the aliases in a :class:`flows.alias_index.AliasIndex`, and the sound keys of the cities',
counties' and townships' aliases in a second, smaller one. It can be built from batches of
rows (:class:`DirectoryBuilder`) so that all rows are never held at once.
"""

from __future__ import annotations

import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice, pairwise, product
from typing import NamedTuple

from flows.alias_index import AliasIndex, PackedStrings
from flows.place_names import (
    MAX_QUERY_LEN,
    MIN_ALIAS_LEN,
    aliases,
    clean,
    normalise_many,
    normalise_query,
)
from flows.place_sounds import Readings, Speller, readings

__all__ = ["LEVELS", "MAX_QUERY_LEN", "MIN_ALIAS_LEN", "Directory", "DirectoryBuilder", "Place"]

LEVELS = ("city", "county", "township", "village")

# A real address names a place once or twice ("街口" inside "街口街道").
_MAX_HITS_PER_PLACE = 4

_LEVEL_RANK = {"city": 3, "county": 2, "township": 1, "village": 0}
_LEVEL_OF_RANK = ("village", "township", "county", "city")
_VILLAGE = _LEVEL_RANK["village"]
_TOWNSHIP = _LEVEL_RANK["township"]
_CITY = _LEVEL_RANK["city"]

# Places taken at a time while building: their names are converted in one OpenCC call.
_BATCH = 2048
# Indexed by sound too: the stations and what is written before them (11,000 keys, 0.8 MiB
# with the readings). With the villages: 414,000 keys, 19 MiB more (bench/place_sounds.py).
_SOUNDED = frozenset((_LEVEL_RANK["city"], _LEVEL_RANK["county"], _TOWNSHIP))
_SOUND_PREFIX_BITS = 1 << 20  # ~1 % false "maybe" for the keys' ~14,000 prefixes


@dataclass(frozen=True, slots=True)
class Place:
    """One division: city, county, township (the station) or village."""

    code: str  # 12-digit NBS code
    name: str  # as in the data, e.g. "街口街道", "新城社区居委会"
    level: str  # "city" | "county" | "township" | "village"
    parent_code: str | None


_Hits = dict[int, list["_Hit"]]  # place index -> where its names occur in the query
_Scan = Iterable[tuple[int, int, dict[int, int]]]  # (start, end, {place index: strength})
_Spans = set[tuple[int, int]]


class Found(NamedTuple):
    """What :meth:`Directory.find` found: the candidates, best first, and whether they were
    found by sound (a homophone or pinyin stands for some of their characters)."""

    places: list[Place]
    by_sound: bool


class _Hit(NamedTuple):
    start: int
    end: int
    strength: int  # 2: the official name, 1: another form of it
    sound: bool = False  # found by its sound key, not its characters


class _Score(NamedTuple):
    coverage: int  # query characters explained by the place and its ancestors
    exact: int  # of which by their characters, not their sound
    strength: int
    in_order: int  # 1 when ancestors come before the place, as Chinese addresses are written
    places: int  # the place and its ancestors that explain part of the query


class DirectoryBuilder:
    """Takes places batch by batch (``add``), then makes the :class:`Directory` (``build``)."""

    def __init__(self, *, sounds: bool = True) -> None:
        """``sounds=False``: no sound index (characters only; benches compare the two)."""
        self._readings: Readings | None = readings() if sounds else None
        self._sounds = AliasIndex(MIN_ALIAS_LEN, prefix_bits=_SOUND_PREFIX_BITS)
        self._syllables: set[str] = set()  # every syllable some sound key uses
        self._codes = PackedStrings()
        self._names = PackedStrings()
        self._levels = bytearray()
        # Resolved to indexes once all places are in; one str per distinct parent code.
        self._parent_codes: list[str | None] = []
        self._interned: dict[str, str] = {}
        # The first place with an unknown level: raised at the end, like a duplicate code,
        # so that of two faults the one met first is the one reported.
        self._bad_level: tuple[int, str] | None = None
        self._ascending = True  # codes came in order: nothing to sort, no repeat possible
        self._index = AliasIndex(MIN_ALIAS_LEN)

    def add(self, places: Iterable[Place]) -> None:
        """Take some places (any number; batches of a few thousand keep the build lean)."""
        it = iter(places)
        while batch := list(islice(it, _BATCH)):
            self._add(batch)

    def add_rows(self, rows: Iterable[tuple[str, str, str, str | None]]) -> None:
        """Take (code, name, level, parent_code) rows, e.g. ``DivisionRow``."""
        self.add(Place(code, name, level, parent) for code, name, level, parent in rows)

    def _add(self, batch: list[Place]) -> None:
        first = len(self._codes)
        for i, place in enumerate(batch, first):
            rank = _LEVEL_RANK.get(place.level)
            if rank is None and self._bad_level is None:
                self._bad_level = (i, f"unknown level {place.level!r} for {place.code}")
            if self._ascending and i and not self._codes[i - 1] < place.code:
                self._ascending = False
            self._codes.append(place.code)
            self._names.append(place.name)
            self._levels.append(rank or 0)
            parent = place.parent_code
            self._parent_codes.append(
                None if parent is None else self._interned.setdefault(parent, parent)
            )

        # Normalised alias -> strength per place. Both the converted and the raw name are
        # indexed, because OpenCC converts by phrase and may treat a name differently in context.
        converted = normalise_many([p.name for p in batch])
        for i, (place, name) in enumerate(zip(batch, converted, strict=True), first):
            if place.level not in _LEVEL_RANK:
                continue  # the build fails in _fill
            found = aliases(name, place.level)
            raw = clean(unicodedata.normalize("NFKC", place.name))
            if raw != name:
                found = {**aliases(raw, place.level), **found}
            self._index.add(i, found)
            if self._readings is not None and _LEVEL_RANK[place.level] in _SOUNDED:
                # Strength by sound: 2 for the usual reading (see flows.place_sounds).
                keys = self._readings.keys_of(found)
                self._sounds.add(i, keys)
                self._syllables.update(*keys)

    def build(self) -> Directory:
        directory = Directory.__new__(Directory)
        self._fill(directory)
        return directory

    def _sorted(self) -> Sequence[int]:
        """Place indexes in code order; raise for the first place (as added) with an unknown
        level or a code used before."""
        codes = self._codes
        faults = [] if self._bad_level is None else [self._bad_level]
        if self._ascending:  # as the database gives them
            order: Sequence[int] = range(len(codes))
        else:
            order = array("i", sorted(range(len(codes)), key=codes.__getitem__))
            # The sort is stable: a repeated code sits right after its first use.
            for k in range(len(order) - 1):
                if codes[order[k]] == codes[order[k + 1]]:
                    faults.append((order[k + 1], f"duplicate code {codes[order[k + 1]]}"))
        if faults:
            raise ValueError(min(faults)[1])
        return order

    def _fill(self, directory: Directory) -> None:
        order = self._sorted()
        n = len(self._codes)
        directory._codes, directory._names, directory._order = self._codes, self._names, order
        directory._levels = bytes(self._levels)
        parents = array("i", bytes(4 * n))
        lost_parents: dict[int, str] = {}
        last: tuple[str | None, int | None] = (None, None)  # siblings come together
        for i, parent_code in enumerate(self._parent_codes):
            if parent_code is not None and parent_code != last[0]:
                last = (parent_code, directory._index_of(parent_code))
            parent = last[1] if parent_code is not None else None
            parents[i] = -1 if parent is None else parent
            if parent_code is not None and parent is None:
                lost_parents[i] = parent_code  # still shown as the Place's parent_code
        directory._parents = parents
        directory._lost_parents = lost_parents

        # Children in code order: place p's are _children[_child_starts[p]:_child_starts[p+1]].
        starts = array("i", bytes(4 * (n + 1)))
        for i in range(n):
            if parents[i] >= 0:
                starts[parents[i] + 1] += 1
        for p in range(n):
            starts[p + 1] += starts[p]
        filled = array("i", starts)
        children = array("i", bytes(4 * starts[n]))
        lost_children: dict[str, list[int]] = {}
        for i in order:
            p = parents[i]
            if p >= 0:
                children[filled[p]] = i
                filled[p] += 1
            elif i in lost_parents:
                lost_children.setdefault(lost_parents[i], []).append(i)
        directory._child_starts, directory._children = starts, children
        directory._lost_children = lost_children
        directory._cities = array("i", (i for i in order if self._levels[i] == _CITY))
        self._index.done()
        directory._index = self._index
        directory._sounds = directory._speller = None
        if self._readings is not None:
            self._sounds.done()
            directory._sounds = self._sounds
            directory._speller = Speller(self._readings, self._syllables)


class Directory:
    """All places, with lookups by code and by (typed) name."""

    _codes: PackedStrings
    _names: PackedStrings
    _order: Sequence[int]  # place indexes in code order
    _levels: bytes  # per place: 3 city, 2 county, 1 township, 0 village
    _parents: array[int]  # per place: the parent's index, -1 when none in the directory
    _lost_parents: dict[int, str]  # parent codes the directory does not hold
    _child_starts: array[int]
    _children: array[int]
    _lost_children: dict[str, list[int]]
    _cities: array[int]
    _index: AliasIndex  # normalised alias -> {place index: strength}
    _sounds: AliasIndex | None  # sound key -> {place index: strength}
    _speller: Speller | None  # typed text -> the syllables it may stand for

    def __init__(self, places: Iterable[Place], *, sounds: bool = True) -> None:
        builder = DirectoryBuilder(sounds=sounds)
        builder.add(places)
        builder._fill(self)

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[str, str, str, str | None]], *, sounds: bool = True
    ) -> Directory:
        """Build from (code, name, level, parent_code) rows, e.g. ``DivisionRow``."""
        builder = DirectoryBuilder(sounds=sounds)
        builder.add_rows(rows)
        return builder.build()

    def __len__(self) -> int:
        return len(self._codes)

    def _index_of(self, code: str) -> int | None:
        order = self._order
        k = bisect_left(order, code, key=self._codes.__getitem__)
        if k < len(order) and self._codes[order[k]] == code:
            return order[k]
        return None

    def _place(self, i: int) -> Place:
        parent = self._parents[i]
        return Place(
            self._codes[i],
            self._names[i],
            _LEVEL_OF_RANK[self._levels[i]],
            self._codes[parent] if parent >= 0 else self._lost_parents.get(i),
        )

    def _chain(self, i: int) -> list[int]:
        """Ancestor indexes, nearest first (township, county, city as they exist)."""
        chain: list[int] = []
        parent = self._parents[i]
        while parent >= 0 and len(chain) < len(LEVELS):  # the bound: a cycle in bad data
            chain.append(parent)
            parent = self._parents[parent]
        return chain

    def get(self, code: str) -> Place | None:
        """The place with this code, or None."""
        i = self._index_of(code)
        return None if i is None else self._place(i)

    def cities(self) -> list[Place]:
        """All cities, sorted by code."""
        return [self._place(i) for i in self._cities]

    def children(self, code: str) -> list[Place]:
        """Direct children sorted by code (东莞/中山: city -> townships)."""
        p = self._index_of(code)
        if p is None:
            return [self._place(i) for i in self._lost_children.get(code, ())]
        kids = self._children[self._child_starts[p] : self._child_starts[p + 1]]
        return [self._place(i) for i in kids]

    def _at_level(self, code: str, level: str) -> Place | None:
        i = self._index_of(code)
        if i is None:
            return None
        rank = _LEVEL_RANK[level]
        for j in (i, *self._chain(i)):
            if self._levels[j] == rank:
                return self._place(j)
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
        i = self._index_of(code)
        if i is None:
            raise KeyError(code)
        return "".join(self._names[j] for j in (*reversed(self._chain(i)), i))

    def match(self, text: str, *, limit: int = 8) -> list[Place]:
        """Places the text most plausibly names, best first; [] when nothing plausible
        (:meth:`find`'s places)."""
        return self.find(text, limit=limit).places

    def find(self, text: str, *, limit: int = 8) -> Found:
        """Places the text most plausibly names, best first, and whether found by sound.

        Every candidate is scored by how many query characters its own name plus the
        names of its ancestors explain (non-overlapping). Only the best-explained tier
        is kept, so a typed county or city filters out same-named places elsewhere.

        When the characters leave part of the query unexplained, names' sounds are tried
        (``flows.place_sounds``); the sound-alike tier is taken when it explains more than
        the characters did (an exact name always wins), and two thirds of the query or a
        place with its county or city (two syllables of a sentence are no place). In a
        tier, more explained by characters ranks first.
        """
        query = normalise_query(text)
        if len(query) < MIN_ALIAS_LEN or limit <= 0:
            return Found([], False)
        hits: _Hits = {}
        spans: _Spans = set()
        self._collect(hits, self._index.scan(query), spans, sound=False)
        scores = {i: self._explain(i, hits) for i in hits}
        best = max((s.coverage for s in scores.values()), default=0)
        by_sound = False
        if best < len(query) and self._sounds is not None and self._speller is not None:
            heard = {i: list(found) for i, found in hits.items()}
            lattice = self._speller.hear(text, query)
            self._collect(heard, self._sounds.scan_paths(lattice), spans, sound=True)
            heard_scores = {i: self._explain(i, heard) for i in heard}
            heard_best = max((s.coverage for s in heard_scores.values()), default=0)
            chained = any(s.places > 1 for s in heard_scores.values() if s.coverage == heard_best)
            if heard_best > best and (chained or 3 * heard_best >= 2 * len(query)):
                scores, best, by_sound = heard_scores, heard_best, True
        if not scores:
            return Found([], False)
        parents, levels = self._parents, self._levels
        tier = {i: s for i, s in scores.items() if s.coverage == best}

        def keep(i: int) -> bool:
            # A village explaining no more than its own township adds nothing: same station.
            parent = parents[i]
            return not (levels[i] == _VILLAGE and parent >= 0 and parent in tier)

        ranked = sorted((i for i in tier if keep(i)), key=lambda i: self._rank_key(i, tier[i]))
        return Found([self._place(i) for i in ranked[:limit]], by_sound)

    def _collect(self, hits: _Hits, found_at: _Scan, spans: _Spans, sound: bool) -> None:
        """Add each place's hits: (start, end, {place: strength}) as the index scans them.
        ``spans``: where names were found by their characters, where no place is heard (平山
        typed is 平山, not 坪山)."""
        parents, levels = self._parents, self._levels
        for start, end, found in found_at:
            if not sound:
                spans.add((start, end))
            elif (start, end) in spans:
                continue
            for i, strength in found.items():
                # Text that also names the village's own township ("街口" of 街口村委会 in
                # 街口街道) says nothing about the village: same station, and a road
                # ("街口路") would otherwise pass for it.
                parent = parents[i]
                if parent >= 0 and parent in found and levels[i] == _VILLAGE:
                    continue
                own = hits.setdefault(i, [])
                if sound and any(h.start == start and h.end == end for h in own):
                    continue  # already found there by its characters, or by another reading
                own.append(_Hit(start, end, strength, sound))
        for found_hits in hits.values():
            if len(found_hits) > _MAX_HITS_PER_PLACE:
                # Only repeated text gets here ("广州广州广州..."); keeping the longest hits
                # (by characters first) bounds the ancestor search in _explain.
                found_hits.sort(key=lambda h: (h.start - h.end, h.sound, h.start))
                del found_hits[_MAX_HITS_PER_PLACE:]

    def _rank_key(self, i: int, score: _Score) -> tuple[int, int, int, int, int, int, str]:
        """Sort key, best first."""
        code, rank = self._codes[i], self._levels[i]
        # NBS township codes 400-599 are statistical units (farms, parks, reservoirs), not
        # 镇/街道 governments; prefer a real township of the same name.
        statistical = int(rank == _TOWNSHIP and code[6:9] >= "400")
        return (
            -score.coverage,
            -score.exact,  # the name as written before a sound-alike
            -rank,  # equal text: the broader, better-known place first
            statistical,
            -score.strength,
            -score.in_order,
            code,
        )

    def _explain(self, i: int, hits: dict[int, list[_Hit]]) -> _Score:
        """Best non-overlapping choice of one hit for the place and at most one per ancestor."""
        ancestors = [a for a in self._chain(i) if a in hits]
        if not ancestors:  # the common case for an ambiguous short name: no search needed
            return max(_score([h], 1) for h in hits[i])
        options = [[None, *hits[a]] for a in reversed(ancestors)]  # top of the hierarchy first
        best = _Score(0, 0, 0, 0, 0)
        for own in hits[i]:
            for combo in product(*options):
                spans = [h for h in combo if h is not None] + [own]  # the place itself last
                ordered = sorted(spans)
                if any(a.end > b.start for a, b in pairwise(ordered)):
                    continue
                best = max(best, _score(spans, int(spans == ordered)))
        return best


def _score(spans: Sequence[_Hit], in_order: int) -> _Score:
    return _Score(
        coverage=sum(h.end - h.start for h in spans),
        exact=sum(h.end - h.start for h in spans if not h.sound),
        strength=sum(h.strength for h in spans),
        in_order=in_order,
        places=len(spans),
    )
