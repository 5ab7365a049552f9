"""Compact stores for the place directory: many short strings, and aliases to places.

The directory's ~112,000 aliases of 28,680 places were a dict of dicts: one str object and one
dict per alias, ~34 MiB of a service that should start in 120. Here the aliases are packed a
few thousand to a str, found through an open-addressing hash table of alias numbers, and each
alias's places (``place << 1 | strength - 1``) are a linked list in arrays: ~5 MiB, built
without ever holding them all as objects. A lookup compares the alias's text, not only its
hash, so it answers exactly what a dict would.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence

# Strings joined into one str at a time. Per part, not in one: a str takes 4 bytes a character
# when any of its characters is outside the BMP (a few names are), 2 for other Chinese text.
_CHUNK = 4096
_FIRST_SLOTS = 1 << 12
_LOW = (1 << 32) - 1
# One bit per hash of every alias's prefixes (~200,000, from min_len characters): a substring
# whose bit is clear starts no alias, so the scan of longer ones from there stops. 2**22
# bits: ~5 % false "maybe".
_PREFIX_BITS = 1 << 22


class PackedStrings:
    """A list of strings held as ``_CHUNK`` strings per str object; append and index only."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._pending: list[str] = []  # the part being filled
        self._ends = array("I")  # per string: where it ends in its part

    def __len__(self) -> int:
        return len(self._ends)

    def append(self, text: str) -> None:
        start = self._ends[-1] if self._pending else 0
        self._ends.append(start + len(text))
        self._pending.append(text)
        if len(self._pending) == _CHUNK:
            self._parts.append("".join(self._pending))
            self._pending.clear()

    def __getitem__(self, k: int) -> str:
        part, first = divmod(k, _CHUNK)
        if part == len(self._parts):
            return self._pending[first]
        return self._parts[part][self._ends[k - 1] if first else 0 : self._ends[k]]


class AliasIndex:
    """alias -> {place index: strength (1 or 2)}; each (alias, place) pair ``add``-ed once,
    every alias at least ``min_len`` characters long."""

    def __init__(self, min_len: int, *, prefix_bits: int = _PREFIX_BITS) -> None:
        if prefix_bits < 8 or prefix_bits & (prefix_bits - 1):
            raise ValueError("prefix_bits must be a power of two, at least 8")
        self.min_len = min_len
        self._texts = PackedStrings()  # per alias number: the alias
        # Per alias number: the low 32 bits of hash(alias), all the table needs to place it
        # and enough to skip most aliases before comparing text.
        self._hashes = array("I")
        self._slots = array("i", bytes(4 * _FIRST_SLOTS))  # alias number + 1; 0: empty
        self._mask = _FIRST_SLOTS - 1
        # Each alias's places: a linked list, in the order added.
        self._head = array("i")  # per alias number: its first posting
        self._tail = array("i")  # per alias number: its last posting (while building)
        self._next = array("i")  # per posting: the alias's next posting, -1 at the end
        self._values = array("i")  # per posting: place << 1 | strength - 1
        self._prefixes = bytearray(prefix_bits // 8)
        self._prefix_mask = prefix_bits - 1
        self.max_len = 0

    def __len__(self) -> int:
        return len(self._hashes)

    # ------------------------------------------------------------------ building

    def add(self, place: int, aliases: Mapping[str, int]) -> None:
        """Record that each alias names ``place``, with its strength (1 or 2)."""
        values, links, head, tail = self._values, self._next, self._head, self._tail
        hashes, texts = self._hashes, self._texts
        for alias, strength in aliases.items():
            if len(alias) < self.min_len:
                raise ValueError(f"alias shorter than {self.min_len}: {alias!r}")
            h = hash(alias)
            # The alias's number: _find, inlined (this runs ~160,000 times at start-up).
            slots, mask = self._slots, self._mask
            j = h & mask
            while k := slots[j]:
                if hashes[k - 1] == h & _LOW and texts[k - 1] == alias:
                    break
                j = (j + 1) & mask
            if k:
                k -= 1
            else:
                k = self._new(alias, h)
            posting = len(values)
            values.append(place << 1 | (strength - 1))
            links.append(-1)
            if head[k] < 0:
                head[k] = posting
            else:
                links[tail[k]] = posting
            tail[k] = posting

    def _new(self, alias: str, h: int) -> int:
        k = len(self._hashes)
        if 2 * (k + 1) > len(self._slots):  # keep the table at most half full
            self._grow()
        self._texts.append(alias)
        self._hashes.append(h & _LOW)
        self._head.append(-1)
        self._tail.append(-1)
        self._place_slot(self._slots, self._mask, k, h)
        self.max_len = max(self.max_len, len(alias))
        prefixes, mask = self._prefixes, self._prefix_mask
        for end in range(self.min_len, len(alias) + 1):
            bit = hash(alias[:end]) & mask
            prefixes[bit >> 3] |= 1 << (bit & 7)
        return k

    @staticmethod
    def _place_slot(slots: array[int], mask: int, k: int, h: int) -> None:
        j = h & mask
        while slots[j]:
            j = (j + 1) & mask
        slots[j] = k + 1

    def _grow(self) -> None:
        size = 2 * len(self._slots)
        slots, mask = array("i", bytes(4 * size)), size - 1
        for k, h in enumerate(self._hashes):
            self._place_slot(slots, mask, k, h)
        self._slots, self._mask = slots, mask

    def done(self) -> None:
        """Building is over: drop what only ``add`` needs."""
        self._tail = array("i")

    # ------------------------------------------------------------------ lookups

    def _find(self, alias: str, h: int) -> int:
        """The alias's number, or -1."""
        slots, mask, hashes = self._slots, self._mask, self._hashes
        j = h & mask
        while k := slots[j]:
            if hashes[k - 1] == h & _LOW and self._texts[k - 1] == alias:
                return k - 1
            j = (j + 1) & mask
        return -1

    def _places(self, alias: str, h: int) -> dict[int, int] | None:
        k = self._find(alias, h)
        if k < 0:
            return None
        found = {}
        p = self._head[k]
        while p >= 0:
            v = self._values[p]
            found[v >> 1] = (v & 1) + 1
            p = self._next[p]
        return found

    def get(self, alias: str) -> dict[int, int] | None:
        """{place index: strength} for the places ``alias`` names, or None."""
        return self._places(alias, hash(alias))

    def scan(self, text: str) -> Iterator[tuple[int, int, dict[int, int]]]:
        """(start, end, places) for every alias ``text[start:end]``, by start and then end:
        what looking up every substring would find."""
        prefixes, mask, min_len = self._prefixes, self._prefix_mask, self.min_len
        n = len(text)
        for start in range(n - min_len + 1):
            for end in range(start + min_len, min(n, start + self.max_len) + 1):
                part = text[start:end]
                h = hash(part)
                bit = h & mask
                if not prefixes[bit >> 3] & (1 << (bit & 7)):
                    break  # no alias starts with part, so none with anything longer
                found = self._places(part, h)
                if found is not None:
                    yield start, end, found

    def scan_paths(
        self, edges: Sequence[Sequence[tuple[str, int, bool]]]
    ) -> Iterator[tuple[int, int, dict[int, int]]]:
        """(start, end, places) for every alias spelt along a path of ``edges``, where
        ``edges[p]`` holds (character, next position, weak) triples: ``scan`` over a lattice
        of possible texts (a polyphone's readings, the ways to split pinyin into syllables).
        Along a path with a weak edge only the places of strength 2 are found."""
        prefixes, mask, min_len, max_len = (
            self._prefixes,
            self._prefix_mask,
            self.min_len,
            self.max_len,
        )
        n = len(edges)
        for start in range(n):
            stack = list(reversed(edges[start]))
            while stack:
                part, at, weak = stack.pop()
                if len(part) >= min_len:
                    h = hash(part)
                    bit = h & mask
                    if not prefixes[bit >> 3] & (1 << (bit & 7)):
                        continue  # no alias starts with part, so none with anything longer
                    found = self._places(part, h)
                    if found is not None and weak:
                        found = {i: s for i, s in found.items() if s == 2} or None
                    if found is not None:
                        yield start, at, found
                if len(part) < max_len and at < n:
                    stack.extend((part + c, end, weak or w) for c, end, w in reversed(edges[at]))

    def items(self) -> Iterator[tuple[str, dict[int, int]]]:
        """Every alias and its places (for checks, not for matching)."""
        for k in range(len(self._hashes)):
            alias = self._texts[k]
            places = self.get(alias)
            assert places is not None
            yield alias, places
