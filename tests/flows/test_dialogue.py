"""flows.dialogue: the stored dialogue's helpers (what an urgent report still lacks, where
"back" goes, what a typed ticket code looks like)."""

from __future__ import annotations

import pytest

from flows.dialogue import (
    ADDITIONS,
    EDITABLE,
    REPORT_STEPS,
    Dialogue,
    filed,
    looks_like_code,
    missing,
    previous_step,
)


def test_filed_means_an_urgent_report_was_already_sent() -> None:
    assert not filed(Dialogue(step="age"))
    assert filed(Dialogue(step="age", answers={"_filed": "AB12CD34"}))


def test_missing_is_the_first_unanswered_addition_in_order() -> None:
    dlg = Dialogue(answers={"place": "440117001000"})
    assert missing(dlg) == "age"
    dlg.answers.update(age="6-11", sex="f")
    assert missing(dlg) == "concerns"
    dlg.answers.update(concerns=["basic_needs"], story="no food for two days")
    assert missing(dlg) == "contact"
    dlg.answers["anonymous"] = True  # answered "anonymous": contact is answered
    assert missing(dlg) is None


@pytest.mark.parametrize(
    ("step", "answers", "back"),
    [
        ("place_township", {"_city": "440100000000", "_county": "440117000000"}, "place_county"),
        # 东莞: the city is its own county level, so back from townships is the city list.
        ("place_township", {"_city": "441900000000", "_county": "441900000000"}, "place"),
        ("place_county", {}, "place"),
        ("place_pick", {}, "place"),
        ("edit", {}, "summary"),
        ("contact_phone", {}, "contact"),
        ("age", {}, None),
        ("menu", {}, None),
    ],
)
def test_back_goes_one_step_up(step: str, answers: dict[str, object], back: str | None) -> None:
    assert previous_step(Dialogue(step=step, answers=dict(answers))) == back


@pytest.mark.parametrize(
    ("text", "ok"),
    [("AB12CD34", True), ("ab12cd", True), ("AB12", False), ("AB-12CD34", False), ("", False)],
)
def test_a_ticket_code_is_six_to_twelve_letters_and_digits(text: str, ok: bool) -> None:
    assert looks_like_code(text) is ok


def test_step_vocabularies_agree() -> None:
    assert set(EDITABLE.values()) <= REPORT_STEPS
    assert set(ADDITIONS) <= REPORT_STEPS
    assert "menu" not in REPORT_STEPS and "status" not in REPORT_STEPS
