"""A citizen's dialogue with the bot as stored between messages (``conversation`` row, see
flows.conversations), the vocabulary of its steps, and the effects the machine (flows.intake)
asks its caller to carry out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

REPORT_STEPS: Final = frozenset(
    {
        "danger",
        "reporter",
        "place",
        "place_county",
        "place_township",
        "place_pick",
        "age",
        "sex",
        "concerns",
        "story",
        "contact",
        "contact_phone",
        "consent",
        "summary",
        "edit",
    }
)
# Fields that "change an answer" can jump back to, with the step that asks for each.
EDITABLE: Final = {
    "danger": "danger",
    "reporter": "reporter",
    "place": "place",
    "age": "age",
    "sex": "sex",
    "concerns": "concerns",
    "story": "story",
    "contact": "contact",
}
# What an urgent report, filed as soon as its place is known, is asked afterwards; each answer
# is added to the filed ticket at once.
ADDITIONS: Final = ("age", "sex", "concerns", "story", "contact")


# In a dialogue's answers: the language the person chose with /language (flows.languages).
# It outlives the answers of any one report.
LANGUAGE_CHOSEN: Final = "_language"
# In a dialogue's answers at the step "adding" (flows.additions): the filed report's code.
ADDING_CODE: Final = "_adding"


@dataclass(slots=True)
class Dialogue:
    step: str = "menu"
    answers: dict[str, Any] = field(default_factory=dict)
    locale: str = "zh"
    version: int = 0


def fresh(dlg: Dialogue, **answers: Any) -> dict[str, Any]:
    """Answers for a new start: ``answers``, and what outlives a report (the chosen language)."""
    kept = {LANGUAGE_CHOSEN: dlg.answers[LANGUAGE_CHOSEN]} if LANGUAGE_CHOSEN in dlg.answers else {}
    return {**kept, **answers}


def by_the_child(dlg: Dialogue) -> bool:
    """The reporter is the child the report is about (我就是这个孩子): spoken to as 你."""
    return dlg.answers.get("reporter") == "child"


def filed(dlg: Dialogue) -> bool:
    """The report of this dialogue was already filed (urgent); answers are additions."""
    return "_filed" in dlg.answers


def missing(dlg: Dialogue) -> str | None:
    """The first question an urgent report still lacks an answer to."""
    a = dlg.answers
    for question in ADDITIONS:
        answered = "anonymous" in a if question == "contact" else bool(a.get(question))
        if not answered:
            return question
    return None


# ---- effects: what the caller does for the machine ------------------------------------


@dataclass(frozen=True, slots=True)
class Submit:
    """File the report in ``Dialogue.answers``. ``urgent``: the child is in danger now and
    the place is known; the rest of the questions follow as additions to the filed ticket."""

    urgent: bool = False


@dataclass(frozen=True, slots=True)
class AddToReport:
    """Add these answers to the report already filed (``answers["_filed"]``)."""

    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LookupStatus:
    code: str | None  # None: list this chat's reports


Effect = Submit | AddToReport | LookupStatus


# ---- typed answers --------------------------------------------------------------------

_PHONE_RE: Final = re.compile(r"^\+?[\d\s\-()]{7,20}$")


def normalise_phone(text: str) -> str | None:
    """Digits with an optional leading +, or None when it cannot be a phone number."""
    text = text.strip()
    if not _PHONE_RE.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15:
        return None
    return ("+" if text.startswith("+") else "") + digits


_CODE_RE: Final = re.compile(r"^[A-Za-z0-9]{6,12}$")


def looks_like_code(text: str) -> bool:
    """Could be a ticket code (typed at the status step)."""
    return bool(_CODE_RE.match(text))


def previous_step(dlg: Dialogue) -> str | None:
    """Where 返回 (back) goes from the current step: townships → counties → cities, the
    change-an-answer menu → the summary, typing a number → the contact choice."""
    if dlg.step == "place_township" and dlg.answers.get("_county") != dlg.answers.get("_city"):
        return "place_county"
    if dlg.step in ("place_county", "place_township", "place_pick"):
        return "place"
    return {"edit": "summary", "contact_phone": "contact"}.get(dlg.step)
