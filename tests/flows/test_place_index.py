"""The compact directory answers what the plain dicts it replaced answered, for every place.

The reference here is built the straightforward way (a dict of dicts from each place's
aliases, a dict of places by code, children grouped by parent code), as ``flows.places`` did
before it packed everything into arrays.
"""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict

import pytest

from flows.alias_index import AliasIndex, PackedStrings
from flows.place_names import MIN_ALIAS_LEN, aliases, clean, normalise_many, normalise_query
from flows.places import Directory, DirectoryBuilder, Place
from storage.directory_data import DivisionRow, read_bundled_divisions

Reference = dict[str, dict[int, int]]


@pytest.fixture(scope="module")
def rows() -> list[DivisionRow]:
    return read_bundled_divisions()


@pytest.fixture(scope="module")
def place_aliases(rows: list[DivisionRow]) -> list[dict[str, int]]:
    """Each place's aliases, as the directory derives them (converted and raw name)."""
    converted = normalise_many([r.name for r in rows])
    out = []
    for row, name in zip(rows, converted, strict=True):
        found = aliases(name, row.level)
        raw = clean(unicodedata.normalize("NFKC", row.name))
        if raw != name:
            found = {**aliases(raw, row.level), **found}
        out.append(found)
    return out


@pytest.fixture(scope="module")
def reference(place_aliases: list[dict[str, int]]) -> Reference:
    index: Reference = {}
    for i, found in enumerate(place_aliases):
        for alias, strength in found.items():
            index.setdefault(alias, {})[i] = strength
    return index


@pytest.fixture(scope="module")
def index(place_aliases: list[dict[str, int]]) -> AliasIndex:
    built = AliasIndex(MIN_ALIAS_LEN)
    for i, found in enumerate(place_aliases):
        built.add(i, found)
    built.done()
    return built


def test_every_alias_names_the_same_places(index: AliasIndex, reference: Reference) -> None:
    assert len(index) == len(reference) > 100_000
    for alias, places in reference.items():
        assert index.get(alias) == places, alias
    assert dict(index.items()) == reference


def test_what_is_not_an_alias_finds_nothing(index: AliasIndex, reference: Reference) -> None:
    rng = random.Random(5)
    names = list(reference)
    for _ in range(20_000):
        a, b = rng.sample(names, 2)
        for text in (a + b[:1], a[:-1] + "𣒍", b[1:] + a[0], a + a):
            assert index.get(text) == reference.get(text), text


def brute_force(text: str, reference: Reference) -> list[tuple[int, int, dict[int, int]]]:
    n = len(text)
    return [
        (start, end, reference[text[start:end]])
        for start in range(n)
        for end in range(start + MIN_ALIAS_LEN, n + 1)
        if text[start:end] in reference
    ]


def test_scan_finds_every_substring_that_is_an_alias(
    index: AliasIndex, reference: Reference, rows: list[DivisionRow]
) -> None:
    directory = Directory.from_rows(rows)
    texts = [normalise_query(directory.full_name(r.code)) for r in rows[::7]]
    texts += [
        normalise_query(t)
        for t in ("广州广州广州广州广州广州", "新村" * 30, "asdf 12345", "从化区街口街道街口路", "")
    ]
    for text in texts:
        assert list(index.scan(text)) == brute_force(text, reference), text


def test_an_alias_too_short_is_refused() -> None:
    with pytest.raises(ValueError, match="shorter"):
        AliasIndex(MIN_ALIAS_LEN).add(0, {"新": 1})


def test_packed_strings_read_back_across_parts() -> None:
    texts = [f"{i}街道" if i % 1000 else f"{i}𣒍村" for i in range(10_000)]  # 𣒍: outside the BMP
    packed = PackedStrings()
    for i, text in enumerate(texts):
        packed.append(text)
        assert packed[i] == text
    assert len(packed) == len(texts)
    assert [packed[i] for i in range(len(texts))] == texts


# --- the directory's lookups, for every place ---------------------------------------------


@pytest.fixture(scope="module")
def directory(rows: list[DivisionRow]) -> Directory:
    return Directory.from_rows(rows)


def test_every_place_reads_back(directory: Directory, rows: list[DivisionRow]) -> None:
    assert len(directory) == len(rows)
    by_code = {r.code: r for r in rows}
    kids: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r.parent_code is not None:
            kids[r.parent_code].append(r.code)

    def ancestors(code: str) -> list[DivisionRow]:
        chain = [by_code[code]]
        while chain[-1].parent_code is not None:
            chain.append(by_code[chain[-1].parent_code])
        return chain

    def at(code: str, level: str) -> Place | None:
        found = [r for r in ancestors(code) if r.level == level]
        return Place(*found[0]) if found else None

    for r in rows:
        assert directory.get(r.code) == Place(*r)
        assert [p.code for p in directory.children(r.code)] == sorted(kids[r.code])
        assert directory.township_of(r.code) == at(r.code, "township")
        assert directory.county_of(r.code) == at(r.code, "county")
        assert directory.city_of(r.code) == at(r.code, "city")
        assert directory.full_name(r.code) == "".join(a.name for a in reversed(ancestors(r.code)))
    assert [c.code for c in directory.cities()] == sorted(r.code for r in rows if not r.parent_code)
    for missing in ("", "4401", "440117001000 ", "449999999999", "999999999999"):
        assert directory.get(missing) is None
        assert directory.children(missing) == []


def test_built_in_batches_in_code_order_it_matches_alike(
    directory: Directory, rows: list[DivisionRow]
) -> None:
    # What the service does: rows from the database in code order, a batch at a time.
    builder = DirectoryBuilder()
    ordered = sorted(rows)
    for start in range(0, len(ordered), 1000):
        builder.add_rows(ordered[start : start + 1000])
    batched = builder.build()
    rng = random.Random(11)
    for r in rng.sample(rows, 1500):
        for text in (r.name, directory.full_name(r.code), r.name[:2], r.name[1:4]):
            assert batched.match(text, limit=20) == directory.match(text, limit=20), text
        assert batched.get(r.code) == directory.get(r.code)
        assert batched.children(r.code) == directory.children(r.code)


def test_a_parent_outside_the_directory_still_shows() -> None:
    directory = Directory.from_rows(
        [
            ("440117001000", "街口街道", "township", "440117000000"),  # its county is not given
            ("440117001202", "街口村委会", "village", "440117001000"),
        ]
    )
    place = directory.get("440117001000")
    assert place is not None and place.parent_code == "440117000000"
    assert [p.code for p in directory.children("440117000000")] == ["440117001000"]
    assert directory.county_of("440117001202") is None
    assert directory.full_name("440117001202") == "街口街道街口村委会"


def test_the_first_fault_met_is_the_one_reported() -> None:
    city = ("1", "甲市", "city", None)
    with pytest.raises(ValueError, match="duplicate code 1"):
        Directory.from_rows(
            [city, ("2", "乙市", "city", None), city, ("3", "丙省", "province", None)]
        )
    with pytest.raises(ValueError, match="unknown level 'province' for 3"):
        Directory.from_rows([("3", "丙省", "province", None), city, city])
    with pytest.raises(ValueError, match="duplicate code 2"):
        Directory.from_rows([("2", "乙市", "city", None), city, ("2", "丁市", "city", None)])
