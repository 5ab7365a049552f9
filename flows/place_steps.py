"""The place part of the intake dialogue: city → county → a page of townships, or typed words
matched against the directory, or "I only know the county/city" (the county's or city's
triage queue). Pure functions on the dialogue's answers; flows.intake moves between steps.

Each returns what the answer means, or None when it makes no sense at the current step (an
old button, a place from another county): the machine then answers as for a stale button.
"""

from __future__ import annotations

from typing import Final, Literal

from flows.dialogue import Dialogue
from flows.messages import number_in
from flows.pager import page_count
from flows.places import Directory

PLACE_TEXT_MAX: Final = 60
# Answers that only help choose the place; dropped once it is chosen.
_WORKING: Final = ("_city", "_county", "_page", "_candidates")


def city(directory: Directory, dlg: Dialogue, code: str) -> str | None:
    """A city chosen: the next step (its counties, or its townships where it has none)."""
    found = directory.get(code)
    if dlg.step not in ("place", "place_pick") or found is None or found.level != "city":
        return None
    dlg.answers["_city"] = found.code
    children = directory.children(found.code)
    if children and children[0].level == "township":  # 东莞, 中山: no county level
        dlg.answers["_county"] = found.code
        dlg.answers["_page"] = 0
        return "place_township"
    return "place_county"


def county(directory: Directory, dlg: Dialogue, code: str) -> bool:
    """A county of the chosen city: its townships are next."""
    found = directory.get(code)
    if dlg.step != "place_county" or found is None or found.level != "county":
        return False
    if found.parent_code != dlg.answers.get("_city"):
        return False
    dlg.answers["_county"] = found.code
    dlg.answers["_page"] = 0
    return True


def turn_page(directory: Directory, dlg: Dialogue, value: str) -> bool:
    page = number_in(value)
    if dlg.step != "place_township" or page is None:
        return False
    if not 0 <= page < page_count(len(directory.children(dlg.answers.get("_county", "")))):
        return False
    dlg.answers["_page"] = page
    return True


def unknown(dlg: Dialogue, value: str) -> str | None:
    """The reporter knows the city or county but not the township: that queue's code."""
    if value == "city" and dlg.step in ("place_county", "place_township"):
        code = dlg.answers.get("_city")
    elif value == "county" and dlg.step == "place_township":
        code = dlg.answers.get("_county")
    else:
        return None
    return code or None


def picked(directory: Directory, dlg: Dialogue, code: str) -> str | None:
    """A township button, or one of the places the typed words matched."""
    place = directory.get(code)
    if place is None:
        return None
    if dlg.step == "place_township":
        if place.level != "township" or place.parent_code != dlg.answers.get("_county"):
            return None
    elif dlg.step == "place_pick":
        if code not in dlg.answers.get("_candidates", []):
            return None
    else:
        return None
    return place.code


def typed(directory: Directory, dlg: Dialogue, text: str) -> Literal["too_long", "none", "pick"]:
    """Typed words: the places they match become the candidates to confirm."""
    if len(text) > PLACE_TEXT_MAX:
        return "too_long"
    found = directory.match(text, limit=8) if text else []
    if not found:
        return "none"
    dlg.answers["place_text"] = text
    dlg.answers["_candidates"] = [p.code for p in found]
    return "pick"


def settle(dlg: Dialogue, code: str) -> None:
    """The place is chosen: keep it, drop the answers that only helped choose it."""
    dlg.answers["place"] = code
    if code not in dlg.answers.get("_candidates", []):
        # Chosen by buttons, not from what was typed: the typed words would mislead.
        dlg.answers.pop("place_text", None)
    for key in _WORKING:
        dlg.answers.pop(key, None)
