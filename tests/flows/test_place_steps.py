"""flows.place_steps: choosing a place by city → county → township, by typed words, or by
"only the county/city", against the bundled directory; refusals for answers that do not
belong to the current step."""

from __future__ import annotations

from flows import place_steps
from flows.dialogue import Dialogue
from flows.places import Directory

GUANGZHOU = "440100000000"
LIWAN = "440103000000"
CONGHUA = "440117000000"
JIEKOU = "440117001000"  # 从化区 街口街道
DONGGUAN = "441900000000"  # no county level
PUNING = "445281000000"  # 33 townships: three pages


def _at(step: str, **answers: object) -> Dialogue:
    return Dialogue(step=step, answers=dict(answers))


def test_a_city_leads_to_its_counties_or_straight_to_townships(directory: Directory) -> None:
    dlg = _at("place")
    assert place_steps.city(directory, dlg, GUANGZHOU) == "place_county"
    assert dlg.answers["_city"] == GUANGZHOU
    dlg = _at("place")
    assert place_steps.city(directory, dlg, DONGGUAN) == "place_township"
    assert dlg.answers["_county"] == DONGGUAN and dlg.answers["_page"] == 0


def test_a_city_button_is_refused_off_its_step_or_for_a_non_city(directory: Directory) -> None:
    assert place_steps.city(directory, _at("age"), GUANGZHOU) is None
    assert place_steps.city(directory, _at("place"), LIWAN) is None  # a county, not a city
    assert place_steps.city(directory, _at("place"), "999999999999") is None


def test_a_county_must_belong_to_the_chosen_city(directory: Directory) -> None:
    dlg = _at("place_county", _city=GUANGZHOU)
    assert place_steps.county(directory, dlg, LIWAN)
    assert dlg.answers["_county"] == LIWAN
    other_city = _at("place_county", _city=DONGGUAN)
    assert not place_steps.county(directory, other_city, LIWAN)
    assert "_county" not in other_city.answers


def test_pages_turn_within_the_townships_there_are(directory: Directory) -> None:
    dlg = _at("place_township", _city="445200000000", _county=PUNING, _page=0)
    assert place_steps.turn_page(directory, dlg, "2")
    assert dlg.answers["_page"] == 2
    assert not place_steps.turn_page(directory, dlg, "3")  # 33 townships: pages 0-2
    assert not place_steps.turn_page(directory, dlg, "x")
    assert not place_steps.turn_page(directory, _at("place_county", _county=PUNING), "1")
    assert dlg.answers["_page"] == 2


def test_a_township_must_be_of_the_chosen_county(directory: Directory) -> None:
    dlg = _at("place_township", _city=GUANGZHOU, _county=CONGHUA)
    assert place_steps.picked(directory, dlg, JIEKOU) == JIEKOU
    elsewhere = _at("place_township", _city=GUANGZHOU, _county=LIWAN)
    assert place_steps.picked(directory, elsewhere, JIEKOU) is None
    assert place_steps.picked(directory, _at("age"), JIEKOU) is None


def test_typed_words_give_candidates_and_only_those_may_be_picked(directory: Directory) -> None:
    dlg = _at("place")
    assert place_steps.typed(directory, dlg, "街口") == "pick"
    assert JIEKOU in dlg.answers["_candidates"]
    assert dlg.answers["place_text"] == "街口"
    dlg.step = "place_pick"
    assert place_steps.picked(directory, dlg, JIEKOU) == JIEKOU
    assert place_steps.picked(directory, dlg, LIWAN) is None  # not among the candidates


def test_typed_words_too_long_or_matching_nothing(directory: Directory) -> None:
    dlg = _at("place")
    assert place_steps.typed(directory, dlg, "街" * (place_steps.PLACE_TEXT_MAX + 1)) == "too_long"
    assert place_steps.typed(directory, dlg, "qqqqzzzz") == "none"
    assert place_steps.typed(directory, dlg, "") == "none"
    assert "_candidates" not in dlg.answers


def test_only_the_county_or_city_known(directory: Directory) -> None:
    at_townships = _at("place_township", _city=GUANGZHOU, _county=CONGHUA)
    assert place_steps.unknown(at_townships, "county") == CONGHUA
    assert place_steps.unknown(at_townships, "city") == GUANGZHOU
    assert place_steps.unknown(_at("place_county", _city=GUANGZHOU), "county") is None
    assert place_steps.unknown(_at("place_county"), "city") is None
    assert place_steps.unknown(_at("age", _city=GUANGZHOU), "city") is None


def test_settling_keeps_the_place_and_drops_the_working_answers() -> None:
    typed = _at("place_pick", place_text="街口", _candidates=[JIEKOU], _city=GUANGZHOU)
    place_steps.settle(typed, JIEKOU)
    assert typed.answers == {"place": JIEKOU, "place_text": "街口"}
    # Chosen by buttons after typing: the typed words no longer describe the place.
    by_buttons = _at("place_township", place_text="街口", _candidates=[JIEKOU], _page=1)
    place_steps.settle(by_buttons, LIWAN)
    assert by_buttons.answers == {"place": LIWAN}
