"""Routing a place to its owner: township station, or the county's or city's triage queue."""

from __future__ import annotations

import pytest

from flows.places import Directory
from flows.tickets import CODE_ALPHABET, CODE_LENGTH, new_ticket_code, route

JIEKOU = "440117001000"


@pytest.mark.parametrize(
    "typed",
    ["从化区街口街道", "广州 从化 街口", "廣州市從化區街口街道", "雄锋村委会", "雄锋村"],
)
def test_typed_places_route_to_jiekou_station(directory: Directory, typed: str) -> None:
    best = directory.match(typed)[0]
    r = route(directory, best.code)
    assert r.station_code == JIEKOU and r.owner_level == "township"
    assert (r.county_code, r.city_code) == ("440117000000", "440100000000")


def test_village_routes_to_its_township(directory: Directory) -> None:
    village = directory.match("雄锋村委会")[0]
    assert village.level == "village"
    assert route(directory, village.code).owner_code == JIEKOU


def test_county_only_goes_to_county_triage(directory: Directory) -> None:
    r = route(directory, "440117000000")
    assert (r.owner_level, r.owner_code, r.station_code) == ("county", "440117000000", None)


def test_city_only_goes_to_city_triage(directory: Directory) -> None:
    r = route(directory, "440100000000")
    assert (r.owner_level, r.owner_code, r.county_code) == ("city", "440100000000", None)


def test_dongguan_township_has_no_county(directory: Directory) -> None:
    humen = directory.match("东莞 虎门")[0]
    r = route(directory, humen.code)
    assert r.owner_level == "township" and r.county_code is None
    assert r.city_code == "441900000000"


def test_unknown_place_is_an_error(directory: Directory) -> None:
    with pytest.raises(ValueError):
        route(directory, "449999999999")


def test_ticket_codes_are_short_and_unguessable() -> None:
    codes = {new_ticket_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set(CODE_ALPHABET) & set("01OIL")
