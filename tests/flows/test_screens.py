"""flows.screens: every step's question carries buttons of the dialogue's current version
(so older messages' buttons are recognised as old), the summary escapes what people typed,
and the resume/additions prompts offer both ways."""

from __future__ import annotations

import pytest

from flows.callbacks import IntakeData, parse_intake
from flows.dialogue import REPORT_STEPS, Dialogue
from flows.places import Directory
from flows.screens import Screens, added_note, additions_resume, language_prompt, resume_prompt
from flows.texts import LOCALES

JIEKOU = "440117001000"
CONGHUA = "440117000000"
GUANGZHOU = "440100000000"
# Answers that let every step render (the place steps need their working answers).
ANSWERS: dict[str, object] = {
    "_city": GUANGZHOU,
    "_county": CONGHUA,
    "_candidates": [JIEKOU],
    "danger": "no",
    "reporter": "neighbour",
    "place": JIEKOU,
    "age": "6-11",
    "sex": "f",
    "concerns": ["basic_needs"],
    "story": "x",
    "anonymous": True,
}


@pytest.fixture(scope="module")
def screens(directory: Directory) -> Screens:
    return Screens(directory)


@pytest.mark.parametrize("step", sorted(REPORT_STEPS | {"menu", "status"}))
def test_every_step_asks_with_buttons_of_the_current_version(screens: Screens, step: str) -> None:
    dlg = Dialogue(step=step, answers=dict(ANSWERS), version=41)
    replies = screens.prompts(dlg)
    assert replies and all(r.text for r in replies)
    for reply in replies:
        for row in reply.buttons:
            for button in row:
                data = parse_intake(button.data)
                if isinstance(data, IntakeData):
                    assert data.version == 41, (step, button)


def test_an_unknown_step_has_no_prompt(screens: Screens) -> None:
    with pytest.raises(ValueError):
        screens.prompt(Dialogue(step="nowhere"))


def test_after_an_urgent_filing_each_question_offers_to_stop(screens: Screens) -> None:
    dlg = Dialogue(step="age", answers={**ANSWERS, "_filed": "AB12CD34"}, version=3)
    datas = [b.data for r in screens.prompts(dlg) for row in r.buttons for b in row]
    assert IntakeData(3, parse_intake(datas[-1]).action, "stop").encode() in datas  # type: ignore[union-attr]


def test_the_summary_escapes_what_was_typed_and_shows_the_phone(screens: Screens) -> None:
    typed = {**ANSWERS, "story": '<b>he said</b> & "ran"', "anonymous": False}
    typed["phone"] = "13800138000"
    summary = screens.summary(Dialogue(step="summary", answers=typed))
    assert "&lt;b&gt;he said&lt;/b&gt; &amp;" in summary
    assert "<b>he said" not in summary
    assert "13800138000" in summary


def test_the_township_screen_pages_through_a_large_county(screens: Screens) -> None:
    puning = {"_city": "445200000000", "_county": "445281000000", "_page": 1}
    reply = screens.prompt(Dialogue(step="place_township", answers=puning, version=1))
    labels = [b.label for row in reply.buttons for b in row]
    assert "2/3" in reply.text or "2 / 3" in reply.text
    nav = [parse_intake(b.data) for row in reply.buttons for b in row]
    pages = {d.value for d in nav if isinstance(d, IntakeData) and d.action.name == "PAGE"}
    assert pages == {"0", "2"}
    assert len(labels) > 12  # twelve townships, the navigation, "don't know", back


def test_unsupported_says_so_and_asks_again(screens: Screens) -> None:
    replies = screens.unsupported(Dialogue(step="age", answers=dict(ANSWERS)), "sticker")
    assert len(replies) == 2 and replies[1].buttons


@pytest.mark.parametrize("locale", LOCALES)
def test_resume_and_language_prompts_offer_every_way(locale: str) -> None:
    dlg = Dialogue(step="age", locale=locale, version=5, answers={"_filed": "AB12CD34"})
    for reply in (resume_prompt(dlg), additions_resume(dlg)):
        assert reply.text
        assert len([b for row in reply.buttons for b in row]) == 2
    languages = [b.label for row in language_prompt(dlg).buttons for b in row]
    assert languages == ["简体中文", "繁體中文", "English"]  # each in its own script
    assert "AB12CD34" in additions_resume(dlg).text
    assert "AB12CD34" in added_note(dlg, "AB12CD34", ("age", "sex"))
