"""The step where the reporter tells what happened, in words or photos (a photo's caption is
its words), for ``flows.intake``. Words that raise the alarm (``flows.red_flags``) get the
advice to call 110 / 120 / 12355 at once, before the next question: the report itself is
filed only at the end (or, for an urgent report, the words are added to it now)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from flows import alarms
from flows.dialogue import AddToReport, Dialogue, filed
from flows.events import Photo
from flows.messages import Outcome, Reply
from flows.texts import t
from storage.models import TEXT_MAX

PHOTOS_MAX: Final = 5

# Intake's move after an answer: (dialogue, fields answered, next step) -> outcome.
Advance = Callable[[Dialogue, tuple[str, ...], str], Outcome]


def story(dlg: Dialogue, text: str, advance: Advance) -> Outcome:
    loc = dlg.locale
    if len(text) > TEXT_MAX:
        return Outcome([Reply(t(loc, "story.too_long", length=len(text), max=TEXT_MAX))])
    if len(text) < 2:
        return Outcome([Reply(t(loc, "story.too_short"))])
    dlg.answers["story"] = text
    out = advance(dlg, ("story",), "contact")  # may end an urgent report's answers
    if alarms.flags_of({"story": text}):
        out.replies.insert(0, Reply(t(loc, "redflag.advice")))
    return out


def photo(dlg: Dialogue, event: Photo, advance: Advance) -> Outcome:
    loc = dlg.locale
    photos: list[str] = dlg.answers.get("photos", [])
    if len(photos) >= PHOTOS_MAX:
        return Outcome([Reply(t(loc, "story.photo_limit", max=PHOTOS_MAX))])
    dlg.answers["photos"] = [*photos, event.file_ref]
    dlg.version += 1
    caption = (event.caption or "").strip()
    if caption:
        out = story(dlg, caption, advance)
        out.changed = True
        if isinstance(out.effect, AddToReport):  # the photo goes with the story
            out.effect = AddToReport(("photos", *out.effect.fields))
        elif filed(dlg):  # the caption was refused; the photo is still added
            out.effect = AddToReport(("photos",))
        return out
    text = t(loc, "story.photo_saved", count=len(photos) + 1, max=PHOTOS_MAX)
    effect = AddToReport(("photos",)) if filed(dlg) else None
    return Outcome([Reply(text)], changed=True, effect=effect)
