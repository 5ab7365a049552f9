"""The bundled Guangdong division directory (NBS 2023 edition), read from package data."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from importlib import resources
from typing import NamedTuple


class DivisionRow(NamedTuple):
    code: str
    name: str
    level: str  # city | county | township | village
    parent_code: str | None


def _read(filename: str) -> Iterator[dict[str, str]]:
    # Line by line: the villages' file is never held whole.
    path = resources.files("storage").joinpath("divisions", filename)
    with io.TextIOWrapper(path.open("rb"), encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


def iter_bundled_divisions() -> Iterator[DivisionRow]:
    """All rows, parents before children, one at a time.

    东莞 (4419) and 中山 (4420) have no county level; the source lists a pseudo-county with the
    city's own code. It is dropped here, so their townships point straight at the city.
    """
    city_codes = set()
    for r in _read("cities.csv"):
        city_codes.add(r["code"])
        yield DivisionRow(r["code"], r["name"], "city", None)
    for r in _read("counties.csv"):
        if r["code"] not in city_codes:
            yield DivisionRow(r["code"], r["name"], "county", r["city_code"])
    for r in _read("townships.csv"):
        yield DivisionRow(r["code"], r["name"], "township", r["county_code"])
    for r in _read("villages.csv"):
        yield DivisionRow(r["code"], r["name"], "village", r["township_code"])


def read_bundled_divisions() -> list[DivisionRow]:
    """All rows, parents before children (see ``iter_bundled_divisions``)."""
    return list(iter_bundled_divisions())
