"""Which language a citizen's dialogue speaks.

It starts from the person's Telegram app (``texts.guess_locale``). Someone whose app does not
say Traditional but who types Traditional characters where they first write (at the menu, or
the place, the report's first typed answer) is answered in Traditional from then on; a choice
made with /language is never overridden by such a guess.
"""

from __future__ import annotations

from typing import Final

from flows import hant
from flows.dialogue import LANGUAGE_CHOSEN, Dialogue
from flows.events import Event, Text
from flows.messages import Outcome, Reply
from flows.screens import Screens
from flows.texts import CATALOGUES, DEFAULT_LOCALE, t

# Where a person first writes in their own words (at ``faq``: a policy question).
_FIRST_TYPED_STEPS: Final = frozenset({"menu", "place", "place_pick", "faq"})


def choose(screens: Screens, dlg: Dialogue, locale: str) -> Outcome:
    """A language button: from now on this language, whatever the person types."""
    if locale not in CATALOGUES:
        return Outcome(notice=t(dlg.locale, "already"))
    dlg.locale = locale
    dlg.answers[LANGUAGE_CHOSEN] = locale
    dlg.version += 1
    return Outcome([Reply(t(locale, "language.set")), *screens.prompts(dlg)], changed=True)


def follow_script(dlg: Dialogue, event: Event) -> Reply | None:
    """Switch to Traditional if this is someone writing Traditional to a dialogue that only
    guessed Simplified; the reply says so and how to change it."""
    if (
        not isinstance(event, Text)
        or dlg.locale != DEFAULT_LOCALE
        or LANGUAGE_CHOSEN in dlg.answers
        or dlg.step not in _FIRST_TYPED_STEPS
        or not hant.is_traditional(event.text)
    ):
        return None
    dlg.locale = "zh-Hant"
    return Reply(t(dlg.locale, "language.followed"))
