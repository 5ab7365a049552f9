"""How place names sound: toneless pinyin readings, for names typed with homophones (街扣 for
街口) or in pinyin (``conghua jiekou``, ``Conghua Qu Jiekou Jiedao``, ``conghuajiekou``).

A name's sound is written as a *sound key*: one character per syllable, each syllable's
number offset into Unicode's private use area (街口 → ``jie kou`` → two characters). Keys are
indexed by the same :class:`flows.alias_index.AliasIndex` as the names, so a key is found by
its text like an alias, and a match spans the query's positions like an alias match does.

What people type is read as a *lattice*: per query position, the syllables that can start
there and the position after them. A Chinese character gives each of its readings, one
position on (polyphones: every reading); a run of Latin letters gives the syllables of every
way to split the whole run into syllables (``xian`` is 县 and 西安), so a syllable never
starts or ends inside another. ``AliasIndex.scan_paths`` walks the lattice.

The readings are pypinyin's single-character dictionary: every reading of every character
(what its ``heteronym=True`` gives), tones dropped as its ``to_normal`` drops them. Imported,
pypinyin holds that dictionary as a dict of 42,000 strings for good (≈ 10 MiB resident; 57
MiB with its phrase dictionary, which toneless matching does not need), and even let go it
leaves ≈ 7 MiB of freed-but-held small-object memory. So :func:`from_data_file` reads its data
file entry by entry into a :class:`Readings` table of a few arrays (≈ 0.5 MiB, ≈ 1 MiB
resident in all), without importing it; :func:`from_pypinyin`, the same through its API, is
the fallback should the file ever change, and a test holds the two equal.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import os
import re
import sys
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from flows.place_names import MAX_QUERY_LEN, unconverted_query

# Per query position: (syllable, the position after it, whether it is an unusual reading).
Lattice = list[list[tuple[str, int, bool]]]
# Syllable number n is written chr(_BASE + n): 2 bytes a character in a str, and no
# character a person types (private use area).
_BASE: Final = 0xE000
# A name with many polyphones gets every combination of readings up to this many keys; past
# it only each character's first (pypinyin's most common) reading.
MAX_KEYS_PER_NAME: Final = 16
# In a place name these unit words are read one way; their other readings (ou, xuan, fu)
# would only make false sound-alikes: 浮山浮 is not 佛山市 (fo shan shi).
_UNIT_READINGS: Final = {"区": "qu", "县": "xian", "市": "shi"}
# The longest pinyin syllable ("zhuang", "shuang", "chuang").
_MAX_SYLLABLE: Final = 6
# pypinyin's documented switches: no phrase dictionary, no second copy of the characters'.
_PYPINYIN_SWITCHES: Final = ("PYPINYIN_NO_PHRASES", "PYPINYIN_NO_DICT_COPY")
# An entry of pypinyin's pinyin_dict.json: "code point": "toned,readings".
_ENTRY: Final = re.compile(r'"(\d+)":\s*"([^"]*)"')
# Grave, acute, macron, caron after NFD; not the circumflex of ê, which stays ê (no place's).
_TONE_MARKS: Final = frozenset("\u0300\u0301\u0304\u030c")
# The file holds ~42,000 characters; far fewer means it is not the file this reads.
_AT_LEAST: Final = 20_000


class Readings:
    """Every character pypinyin knows → its toneless readings, as syllable numbers.

    Held in a few large objects (code points sorted in one array, the reading set of each in
    another, the ≈ 5,200 distinct sets in one str): made while its source is read, many
    small long-lived objects would pin the memory of the source's freed ones.
    """

    def __init__(self, table: Iterable[tuple[int, Iterable[str]]]) -> None:
        """From (code point, readings) pairs in code point order."""
        syllables: dict[str, int] = {}
        sets: dict[str, int] = {}
        self._points = array("I")
        self._set_of = array("H")
        for point, found in table:
            if self._points and point <= self._points[-1]:
                raise ValueError("code points must come in ascending order")
            ids = []
            for reading in found:
                if reading.isascii() and reading.isalpha():  # "ê", "m̄" are no place's
                    n = syllables.setdefault(reading, len(syllables))
                    if chr(_BASE + n) not in ids:
                        ids.append(chr(_BASE + n))
            if ids:
                self._points.append(point)
                self._set_of.append(sets.setdefault("".join(ids), len(sets)))
        self._set_text = "".join(sets)
        self._set_ends = array("I", itertools.accumulate(len(k) for k in sets))
        self._syllable_text = " ".join(syllables)

    def __len__(self) -> int:
        return len(self._points)

    @functools.cached_property
    def syllables(self) -> tuple[str, ...]:
        """Syllable number -> its letters."""
        return tuple(self._syllable_text.split(" "))

    @functools.cached_property
    def _numbers(self) -> dict[str, int]:
        return {s: n for n, s in enumerate(self.syllables)}

    def of(self, char: str) -> str:
        """The character's readings as syllable characters, the most common first; '' for
        none (a letter, a digit, a character pypinyin does not know)."""
        point = ord(char)
        k = bisect_left(self._points, point)
        if k < len(self._points) and self._points[k] == point:
            n = self._set_of[k]
            return self._set_text[self._set_ends[n - 1] if n else 0 : self._set_ends[n]]
        return ""

    def syllable(self, reading: str) -> str | None:
        """A toneless reading ("jie") as its syllable character, or None."""
        n = self._numbers.get(reading)
        return None if n is None else chr(_BASE + n)

    def spell(self, key: str) -> str:
        """A sound key in letters, syllables apart (for messages and tests)."""
        return " ".join(self.syllables[ord(c) - _BASE] for c in key)

    def _unit(self, char: str) -> str | None:
        reading = _UNIT_READINGS.get(char)
        return None if reading is None else self.syllable(reading)

    def keys(self, name: str) -> list[str]:
        """The sound keys of a normalised name: every combination of its characters'
        readings (at most MAX_KEYS_PER_NAME, else the most common readings only), the
        usual readings first; [] when a character has no reading."""
        options = [self._unit(c) or self.of(c) for c in name]
        if not all(options):
            return []
        count = 1
        for o in options:
            count *= len(o)
        if count > MAX_KEYS_PER_NAME:
            return ["".join(o[0] for o in options)]
        return ["".join(combo) for combo in itertools.product(*options)]

    def keys_of(self, aliases: Iterable[str]) -> dict[str, int]:
        """Sound key -> 2 when it reads every character the usual way (pypinyin's first
        reading), else 1, for a place's aliases: every reading of every character, since
        the citizen knows how the name is said and pypinyin only which readings its
        characters have."""
        out: dict[str, int] = {}
        for alias in aliases:
            for n, key in enumerate(self.keys(alias)):
                out[key] = max(2 if n == 0 else 1, out.get(key, 0))
        return out


class Speller:
    """Splits runs of Latin letters into syllables, for the syllables some name uses."""

    def __init__(self, readings: Readings, used: Iterable[str]) -> None:
        self._readings = readings
        self._known = frozenset(readings.syllables[ord(c) - _BASE] for c in used)

    def hear(self, text: str, query: str) -> Lattice:
        """The lattice of typed ``text``, which match() reads as ``query``."""
        typed = unconverted_query(text)
        return self.lattice(
            query, typed if len(typed) == len(query) else None, cut=len(query) == MAX_QUERY_LEN
        )

    def lattice(self, query: str, typed: str | None = None, *, cut: bool = False) -> Lattice:
        """Per position of ``query`` (normalised: lower case, letters and digits), the
        syllables starting there, the position after each and whether it is an unusual
        reading of the character (not pypinyin's first). ``typed``: the query before
        Traditional -> Simplified, position for position; its characters' readings count
        too. ``cut``: the query was cut short, maybe inside a syllable, so letters at its
        end that split into no syllable are left out."""
        n = len(query)
        if typed is not None and len(typed) != n:
            raise ValueError("typed must line up with query")
        edges: Lattice = [[] for _ in range(n)]
        start = 0
        while start < n:
            char = query[start]
            if "a" <= char <= "z":
                end = start
                while end < n and "a" <= query[end] <= "z":
                    end += 1
                # Cut inside a syllable, the query ends in up to five letters of it.
                shortest = max(start + 1, end + 1 - _MAX_SYLLABLE) if cut and end == n else end
                for stop in range(end, shortest - 1, -1):
                    if self._split(query, start, stop, edges):
                        break
                start = end
            else:
                heard = self._readings.of(char)
                usual = heard[:1]
                if typed is not None and typed[start] != char:
                    also = self._readings.of(typed[start])
                    heard += "".join(s for s in also if s not in heard)
                    usual += also[:1]
                edges[start] = [(s, start + 1, s not in usual) for s in heard]
                start += 1
        return edges

    def _split(self, text: str, start: int, end: int, edges: Lattice) -> bool:
        """The syllable edges of text[start:end] that lie on some split of the whole run;
        False when it has none."""
        known = self._known
        # From the end back: the positions from which the rest of the run splits.
        ends_well = [False] * (end - start + 1)
        ends_well[end - start] = True
        steps: list[list[int]] = [[] for _ in range(end - start)]
        for i in range(end - 1, start - 1, -1):
            for j in range(i + 1, min(end, i + _MAX_SYLLABLE) + 1):
                if ends_well[j - start] and text[i:j] in known:
                    steps[i - start].append(j)
                    ends_well[i - start] = True
        if not ends_well[0]:
            return False  # not pinyin ("hello", "asdf"): no syllable at all
        # From the start on: only positions a split reaches.
        reached = [False] * (end - start + 1)
        reached[0] = True
        for i in range(start, end):
            if not reached[i - start]:
                continue
            for j in steps[i - start]:
                reached[j - start] = True
                syllable = self._readings.syllable(text[i:j])
                assert syllable is not None  # known syllables are the table's
                edges[i].append((syllable, j, False))
        return True


def from_data_file() -> Readings | None:
    """pypinyin's character dictionary read from its data file without importing pypinyin,
    entry by entry; None when the file is not there or not as this reads it."""
    spec = importlib.util.find_spec("pypinyin")  # finds the package, does not run it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "pinyin_dict.json"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    toneless: dict[str, str] = {}  # some 1,500 toned readings for 42,000 characters

    def plain(toned: str) -> str:
        if toned not in toneless:
            # NFD puts each tone mark after its letter; ü (u + diaeresis) is written v, as
            # pypinyin's to_normal writes it (lv, nv).
            parts = unicodedata.normalize("NFD", toned).replace("u\u0308", "v")
            toneless[toned] = "".join(c for c in parts if c not in _TONE_MARKS)
        return toneless[toned]

    try:
        table = Readings(
            (int(m[1]), [plain(r) for r in m[2].split(",")]) for m in _ENTRY.finditer(text)
        )
    except ValueError:  # out of code point order: not the file this reads
        return None
    return table if len(table) >= _AT_LEAST else None


def from_pypinyin() -> Readings:
    """The same from pypinyin's API: importing it loads its dictionary for good."""
    saved = {k: os.environ.get(k) for k in _PYPINYIN_SWITCHES}
    if "pypinyin" not in sys.modules:
        os.environ.update(dict.fromkeys(_PYPINYIN_SWITCHES, "1"))
    try:
        from pypinyin.constants import PINYIN_DICT
        from pypinyin.contrib.tone_convert import to_normal
    finally:
        for k, v in saved.items():  # the switches are read at import only
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    normal = functools.cache(to_normal)
    return Readings(
        (point, [normal(r) for r in PINYIN_DICT[point].split(",")]) for point in sorted(PINYIN_DICT)
    )


@functools.cache
def readings() -> Readings:
    """The process's reading table, made on first use (≈ 0.1 s)."""
    return from_data_file() or from_pypinyin()
