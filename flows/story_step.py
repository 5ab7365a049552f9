"""The step where the reporter tells what happened, in words, with photos, voice messages,
videos or files besides (a caption is words too), for ``flows.intake``. Words that raise the
alarm (``flows.red_flags``) get the advice to call 110 / 120 / 12355 at once, before the next
question: the report itself is filed only at the end (or, for an urgent report, the words
are added to it now)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from flows import alarms
from flows.attachments import entry
from flows.dialogue import AddToReport, Dialogue, filed
from flows.events import Media, Photo
from flows.messages import Outcome, Reply
from flows.screens import say
from storage.models import TEXT_MAX

# Files one report may carry (photos, voice messages, videos, documents together). They are
# kept in the answers' "photos" list (``flows.attachments.entry``), added to a filed report
# as the field "photos".
PHOTOS_MAX: Final = 5

# Intake's move after an answer: (dialogue, fields answered, next step) -> outcome.
Advance = Callable[[Dialogue, tuple[str, ...], str], Outcome]


def story(dlg: Dialogue, text: str, advance: Advance) -> Outcome:
    if len(text) > TEXT_MAX:
        return Outcome([Reply(say(dlg, "story.too_long", length=len(text), max=TEXT_MAX))])
    if len(text) < 2:
        return Outcome([Reply(say(dlg, "story.too_short"))])
    dlg.answers["story"] = text
    out = advance(dlg, ("story",), "contact")  # may end an urgent report's answers
    if alarms.flags_of({"story": text}):
        out.replies.insert(0, Reply(say(dlg, "redflag.advice")))
    return out


def photo(dlg: Dialogue, event: Photo | Media, advance: Advance) -> Outcome:
    """A photo, voice message, video or file with the story: kept (at most PHOTOS_MAX), its
    caption taken as the story's words."""
    kind = event.kind if isinstance(event, Media) else "photo"
    photos: list[str] = dlg.answers.get("photos", [])
    if len(photos) >= PHOTOS_MAX:
        return Outcome([Reply(say(dlg, "story.photo_limit", max=PHOTOS_MAX))])
    dlg.answers["photos"] = [*photos, entry(kind, event.file_ref)]
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
    text = say(
        dlg,
        "story.photo_saved" if kind == "photo" else "story.file_saved",
        count=len(photos) + 1,
        max=PHOTOS_MAX,
        kind=say(dlg, f"kind.{kind}"),
    )
    effect = AddToReport(("photos",)) if filed(dlg) else None
    return Outcome([Reply(text)], changed=True, effect=effect)
