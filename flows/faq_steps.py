"""The policy-questions part of the citizen's dialogue (政策咨询, step ``faq``). Pure, like
flows.place_steps: what a button or typed words ask for. The questions and answers are in the
database, so the machine asks for them with a ``ConsultFaq`` effect, which flows.faq carries
out in the turn's transaction.

A button's value (``IntakeAction.FAQ``) says what by its first letter: ``t`` the topics as a
new message, ``p<page>`` another page of them in place, ``e<entry id>`` one answer in place of
the list it was chosen from, ``m`` back to the menu.
"""

from __future__ import annotations

from typing import Final

from flows.dialogue import ConsultFaq
from flows.messages import number_in

TOPICS: Final = "t"
MENU: Final = "m"
# Typed words looked at: a pasted essay costs no more than a question (flows.faq_search).
WORDS_MAX: Final = 200


def page(number: int) -> str:
    return f"p{number}"


def entry(key: str) -> str:
    return f"e{key}"


def topics() -> ConsultFaq:
    """The first page of the topics, as a new message (from the menu)."""
    return ConsultFaq()


def pressed(value: str) -> tuple[str, ConsultFaq | None] | None:
    """The step a policy-questions button leads to and what it shows there; None: not a
    value these buttons carry."""
    if value == MENU:
        return "menu", None
    if value == TOPICS:
        return "faq", topics()
    if value.startswith("p") and (number := number_in(value[1:])) is not None:
        return "faq", ConsultFaq(page=number, edit=True)
    if value.startswith("e") and len(value) > 1:
        return "faq", ConsultFaq(key=value[1:], edit=True)
    return None


def typed(text: str) -> ConsultFaq:
    """Words typed at the step: the answers they match, or the topics when there are none."""
    words = text.strip()[:WORDS_MAX]
    return ConsultFaq(words=words) if words else ConsultFaq()
