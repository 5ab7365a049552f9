"""The bundled Guangdong division directory (NBS 2023 edition), read from package data."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from importlib import resources
from typing import NamedTuple


class DivisionRow(NamedTuple):
    code: str
    name: str
    level: str  # city | county | township | village
    parent_code: str | None


def _read(filename: str) -> Iterator[dict[str, str]]:
    path = resources.files("storage").joinpath("divisions", filename)
    yield from csv.DictReader(path.read_text(encoding="utf-8").splitlines())


def read_bundled_divisions() -> list[DivisionRow]:
    """All rows, parents before children.

    东莞 (4419) and 中山 (4420) have no county level; the source lists a pseudo-county with the
    city's own code. It is dropped here, so their townships point straight at the city.
    """
    rows: list[DivisionRow] = [
        DivisionRow(r["code"], r["name"], "city", None) for r in _read("cities.csv")
    ]
    city_codes = {r.code for r in rows}
    for r in _read("counties.csv"):
        if r["code"] not in city_codes:
            rows.append(DivisionRow(r["code"], r["name"], "county", r["city_code"]))
    for r in _read("townships.csv"):
        rows.append(DivisionRow(r["code"], r["name"], "township", r["county_code"]))
    for r in _read("villages.csv"):
        rows.append(DivisionRow(r["code"], r["name"], "village", r["township_code"]))
    return rows
