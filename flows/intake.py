"""The intake dialogue as a pure state machine: (dialogue, event) -> replies and effects.

No I/O and no channel library here. A channel adapter turns its updates into
``flows.events`` values and renders ``Reply`` values; ``flows.conversations`` loads and saves
the ``Dialogue`` and carries out the effects (filing the ticket, looking up a status).

Buttons carry the dialogue's version, an action and a value (``flows.callbacks.IntakeData``).
The version is bumped on every accepted change, so a button from an old message, or the same
button pressed twice, is recognised and answered without changing anything.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Final

from flows.callbacks import IntakeAction, IntakeData, LanguageData, parse_intake
from flows.events import Command, Event, Photo, Press, SharedContact, Text, Unsupported
from flows.messages import Button, Outcome, Reply, number_in
from flows.places import Directory
from flows.sla import DEFAULT_POLICY, Policy
from flows.texts import CATALOGUES, t
from flows.triage import AGE_BANDS, CONCERNS, DANGER, REPORTER_ROLES, SEXES, derive_priority
from storage.models import TEXT_MAX

PLACE_TEXT_MAX: Final = 60
PHOTOS_MAX: Final = 5
TOWNSHIPS_PER_PAGE: Final = 12
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
_PHONE_RE: Final = re.compile(r"^\+?[\d\s\-()]{7,20}$")
_CODE_RE: Final = re.compile(r"^[A-Za-z0-9]{6,12}$")


# ---- effects ----------------------------------------------------------------------------


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


@dataclass(slots=True)
class Dialogue:
    step: str = "menu"
    answers: dict[str, Any] = field(default_factory=dict)
    locale: str = "zh"
    version: int = 0


# ---- the machine -----------------------------------------------------------------------


class Intake:
    """Decides what each event means at the current step. Holds only the directory."""

    def __init__(self, directory: Directory, policy: Policy = DEFAULT_POLICY) -> None:
        self.directory = directory
        # The deadlines new reports are filed under (HUTONG_SLA_FILE or the defaults in flows.sla).
        self.policy = policy

    def handle(self, dlg: Dialogue, event: Event) -> Outcome:
        if isinstance(event, Command):
            return self._command(dlg, event)
        if isinstance(event, Press):
            return self._press(dlg, event)
        return self._message(dlg, event)

    # -- commands ------------------------------------------------------------------------

    def _command(self, dlg: Dialogue, cmd: Command) -> Outcome:
        loc = dlg.locale
        if cmd.name == "start":
            if _filed(dlg):
                return Outcome([self._resume_additions(dlg)])
            if dlg.step in REPORT_STEPS:
                return Outcome(
                    [
                        Reply(
                            t(loc, "resume.prompt"),
                            [
                                [
                                    self._btn(dlg, "btn.resume", IntakeAction.RESUME, "resume"),
                                    self._btn(dlg, "btn.restart", IntakeAction.RESUME, "restart"),
                                ]
                            ],
                        )
                    ]
                )
            return self._goto(dlg, "menu")
        if cmd.name == "cancel":
            if _filed(dlg):  # nothing is taken back: the report was sent
                return self._stop_adding(dlg)
            if dlg.step in REPORT_STEPS or dlg.step == "status":
                out = self._reset(dlg)
                out.replies.insert(0, Reply(t(loc, "cancelled"), remove_keyboard=True))
                return out
            return Outcome([Reply(t(loc, "nothing_to_cancel"))])
        if cmd.name == "help":
            return Outcome([Reply(t(loc, "help"))])
        if cmd.name == "language":
            return Outcome([self._language_prompt(dlg)])
        if cmd.name == "status":
            code = cmd.arg.strip().upper() or None
            return Outcome(effect=LookupStatus(code))
        return Outcome([Reply(t(loc, "unknown_command", command="/" + cmd.name))])

    # -- buttons -------------------------------------------------------------------------

    def _press(self, dlg: Dialogue, press: Press) -> Outcome:
        data = parse_intake(press.data)
        if isinstance(data, LanguageData):  # language works from any message, old or new
            return self._set_language(dlg, data.locale)
        if data is None or data.version != dlg.version:
            return self._stale(dlg, press)
        out = _PRESS_ACTIONS[data.action](self, dlg, data.value)
        if out is None:  # a button that makes no sense at this step
            return self._stale(dlg, press)
        if out.changed:
            dlg.answers["_last_press"] = press.data
        return out

    def _stale(self, dlg: Dialogue, press: Press) -> Outcome:
        if dlg.answers.get("_last_press") == press.data:
            out = Outcome(notice=t(dlg.locale, "already"))
            if dlg.step == "menu" and dlg.answers.get("_last_code"):
                # The submit button pressed again: say where the report went.
                code = dlg.answers["_last_code"]
                out.replies.append(Reply(t(dlg.locale, "already_submitted", code=code)))
            return out
        out = Outcome([Reply(t(dlg.locale, "stale"))])
        out.replies.extend(self.prompts(dlg))
        return out

    def _on_menu(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "menu":
            return None
        if value == "report":
            dlg.answers = {}
            return self._goto(dlg, "danger")
        if value == "status":
            return self._goto(dlg, "status", effect=LookupStatus(None))
        if value == "lang":
            return Outcome([self._language_prompt(dlg)])
        return None

    def _on_resume(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step not in REPORT_STEPS:
            return None
        if value == "stop" and _filed(dlg):
            return self._stop_adding(dlg)
        if value == "restart" and _filed(dlg):
            return None  # a filed report is not started again
        if value == "resume":
            return self._goto(dlg, dlg.step)
        if value == "restart":
            dlg.answers = {}
            return self._goto(dlg, "danger")
        return None

    def _on_danger(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "danger" or value not in DANGER:
            return None
        dlg.answers["danger"] = value
        if value == "yes" and dlg.answers.get("place"):  # changed at the summary: file now
            dlg.answers.pop("_editing", None)
            out = self._file_urgent(dlg)
            out.replies.insert(0, Reply(t(dlg.locale, "danger.call_now")))
            return out
        out = self._next(dlg, "reporter")
        if value == "yes":  # before anything else: tell them to call now
            out.replies.insert(0, Reply(t(dlg.locale, "danger.call")))
        return out

    def _on_reporter(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "reporter" or value not in REPORTER_ROLES:
            return None
        dlg.answers["reporter"] = value
        return self._next(dlg, "place")

    def _on_city(self, dlg: Dialogue, value: str) -> Outcome | None:
        city = self.directory.get(value)
        if dlg.step not in ("place", "place_pick") or city is None or city.level != "city":
            return None
        dlg.answers["_city"] = city.code
        children = self.directory.children(city.code)
        if children and children[0].level == "township":  # 东莞, 中山: no county level
            dlg.answers["_county"] = city.code
            dlg.answers["_page"] = 0
            return self._goto(dlg, "place_township")
        return self._goto(dlg, "place_county")

    def _on_county(self, dlg: Dialogue, value: str) -> Outcome | None:
        county = self.directory.get(value)
        if dlg.step != "place_county" or county is None or county.level != "county":
            return None
        if county.parent_code != dlg.answers.get("_city"):
            return None
        dlg.answers["_county"] = county.code
        dlg.answers["_page"] = 0
        return self._goto(dlg, "place_township")

    def _on_page(self, dlg: Dialogue, value: str) -> Outcome | None:
        page = number_in(value)
        if dlg.step != "place_township" or page is None:
            return None
        pages = self._pages(dlg.answers.get("_county", ""))
        if not 0 <= page < pages:
            return None
        dlg.answers["_page"] = page
        out = self._goto(dlg, "place_township")
        for reply in out.replies:
            reply.edit = True  # paging turns the page in place
        return out

    def _on_back(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step == "place_township" and dlg.answers.get("_county") != dlg.answers.get("_city"):
            return self._goto(dlg, "place_county")
        if dlg.step in ("place_county", "place_township", "place_pick"):
            return self._goto(dlg, "place")
        if dlg.step == "edit":
            return self._goto(dlg, "summary")
        if dlg.step == "contact_phone":
            return self._goto(dlg, "contact")
        return None

    def _on_unknown_place(self, dlg: Dialogue, value: str) -> Outcome | None:
        """The reporter knows the city or county but not the township: triage queue."""
        if value == "city" and dlg.step in ("place_county", "place_township"):
            code = dlg.answers.get("_city")
        elif value == "county" and dlg.step == "place_township":
            code = dlg.answers.get("_county")
        else:
            return None
        if not code:
            return None
        return self._set_place(dlg, code)

    def _on_pick(self, dlg: Dialogue, value: str) -> Outcome | None:
        place = self.directory.get(value)
        if place is None:
            return None
        if dlg.step == "place_township":
            if place.level != "township" or place.parent_code != dlg.answers.get("_county"):
                return None
        elif dlg.step == "place_pick":
            if value not in dlg.answers.get("_candidates", []):
                return None
        else:
            return None
        return self._set_place(dlg, place.code)

    def _on_age(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "age" or value not in AGE_BANDS:
            return None
        dlg.answers["age"] = value
        return self._advance(dlg, ("age",), "sex")

    def _on_sex(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "sex" or value not in SEXES:
            return None
        dlg.answers["sex"] = value
        return self._advance(dlg, ("sex",), "concerns")

    def _on_concern(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "concerns" or value not in CONCERNS:
            return None
        chosen: list[str] = list(dlg.answers.get("concerns", []))
        if value in chosen:
            chosen.remove(value)
        else:
            chosen.append(value)
        dlg.answers["concerns"] = [c for c in CONCERNS if c in chosen]
        out = self._goto(dlg, "concerns")
        out.replies[0].edit = True  # ticks change in place
        return out

    def _on_concerns_done(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "concerns":
            return None
        if not dlg.answers.get("concerns"):
            return Outcome(notice=t(dlg.locale, "concerns.need_one"))
        return self._advance(dlg, ("concerns",), "story")

    def _on_contact(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step not in ("contact", "contact_phone"):
            return None
        if value == "anon":
            from_phone_step = dlg.step == "contact_phone"
            dlg.answers.pop("phone", None)
            dlg.answers.pop("callback", None)
            dlg.answers["anonymous"] = True
            out = self._advance(dlg, ("contact",), "summary")
            if from_phone_step:  # take the share-my-number keyboard away
                out.replies.insert(0, Reply(t(dlg.locale, "contact.anon_ok"), remove_keyboard=True))
            return out
        if value == "phone" and dlg.step == "contact":
            return self._goto(dlg, "contact_phone")
        return None

    def _on_consent(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "consent" or value not in ("yes", "no"):
            return None
        dlg.answers["callback"] = value == "yes"
        return self._advance(dlg, ("contact",), "summary")

    def _on_summary(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "summary":
            return None
        if value == "ok":
            dlg.version += 1
            return Outcome(effect=Submit(), changed=True)
        if value == "edit":
            return self._goto(dlg, "edit")
        if value == "cancel":
            out = self._reset(dlg)
            out.replies.insert(0, Reply(t(dlg.locale, "cancelled")))
            return out
        return None

    def _on_edit(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "edit" or value not in EDITABLE:
            return None
        dlg.answers["_editing"] = True
        return self._goto(dlg, EDITABLE[value])

    # -- messages ------------------------------------------------------------------------

    def _message(self, dlg: Dialogue, event: Event) -> Outcome:
        loc = dlg.locale
        step = dlg.step
        if isinstance(event, Text):
            text = event.text.strip()
            if step == "place" or step == "place_pick":
                return self._typed_place(dlg, text)
            if step == "story":
                return self._story(dlg, text)
            if step in ("contact", "contact_phone"):
                return self._typed_phone(dlg, text)
            if step == "status":
                if _CODE_RE.match(text):
                    return Outcome(effect=LookupStatus(text.upper()))
                return Outcome([Reply(t(loc, "status.prompt"))])
            if step == "menu":
                return Outcome([Reply(t(loc, "menu.hint")), *self.prompts(dlg)])
            return Outcome([Reply(t(loc, "use_buttons"))])
        if isinstance(event, Photo):
            if step == "story":
                return self._photo(dlg, event)
            return self._unsupported(dlg, "photo")
        if isinstance(event, SharedContact):
            if step in ("contact", "contact_phone"):
                if not event.own:
                    return Outcome([Reply(t(loc, "contact.not_own"))])
                return self._typed_phone(dlg, event.phone)
            return self._unsupported(dlg, "contact")
        assert isinstance(event, Unsupported)
        return self._unsupported(dlg, event.kind)

    def _unsupported(self, dlg: Dialogue, kind: str) -> Outcome:
        key = f"kind.{kind}" if f"kind.{kind}" in CATALOGUES["zh"] else "kind.other"
        text = t(dlg.locale, "unsupported", kind=t(dlg.locale, key))
        return Outcome([Reply(text), *self.prompts(dlg)])

    def _typed_place(self, dlg: Dialogue, text: str) -> Outcome:
        loc = dlg.locale
        if len(text) > PLACE_TEXT_MAX:
            return Outcome([Reply(t(loc, "place.too_long", max=PLACE_TEXT_MAX))])
        found = self.directory.match(text, limit=8) if text else []
        if not found:
            out = self._goto(dlg, "place")
            out.replies[0].text = t(loc, "place.not_found", text=text)
            return out
        dlg.answers["place_text"] = text
        dlg.answers["_candidates"] = [p.code for p in found]
        return self._goto(dlg, "place_pick")

    def _story(self, dlg: Dialogue, text: str) -> Outcome:
        loc = dlg.locale
        if len(text) > TEXT_MAX:
            return Outcome([Reply(t(loc, "story.too_long", length=len(text), max=TEXT_MAX))])
        if len(text) < 2:
            return Outcome([Reply(t(loc, "story.too_short"))])
        dlg.answers["story"] = text
        return self._advance(dlg, ("story",), "contact")

    def _photo(self, dlg: Dialogue, photo: Photo) -> Outcome:
        loc = dlg.locale
        photos: list[str] = list(dlg.answers.get("photos", []))
        if len(photos) >= PHOTOS_MAX:
            return Outcome([Reply(t(loc, "story.photo_limit", max=PHOTOS_MAX))])
        photos.append(photo.file_ref)
        dlg.answers["photos"] = photos
        dlg.version += 1
        caption = (photo.caption or "").strip()
        if caption:
            out = self._story(dlg, caption)
            out.changed = True
            if isinstance(out.effect, AddToReport):  # the photo goes with the story
                out.effect = AddToReport(("photos", *out.effect.fields))
            elif _filed(dlg):  # the caption was refused; the photo is still added
                out.effect = AddToReport(("photos",))
            return out
        text = t(loc, "story.photo_saved", count=len(photos), max=PHOTOS_MAX)
        effect = AddToReport(("photos",)) if _filed(dlg) else None
        return Outcome([Reply(text)], changed=True, effect=effect)

    def _typed_phone(self, dlg: Dialogue, text: str) -> Outcome:
        phone = normalise_phone(text)
        if phone is None:
            return Outcome([Reply(t(dlg.locale, "contact.bad_phone")), *self.prompts(dlg)])
        dlg.answers["phone"] = phone
        dlg.answers["anonymous"] = False
        out = self._goto(dlg, "consent")
        out.replies.insert(
            0, Reply(t(dlg.locale, "contact.saved", phone=phone), remove_keyboard=True)
        )
        return out

    # -- moving between steps ------------------------------------------------------------

    def _set_place(self, dlg: Dialogue, code: str) -> Outcome:
        dlg.answers["place"] = code
        if code not in dlg.answers.get("_candidates", []):
            # Chosen by buttons, not from what was typed: the typed words would mislead.
            dlg.answers.pop("place_text", None)
        for key in ("_city", "_county", "_page", "_candidates"):
            dlg.answers.pop(key, None)
        if dlg.answers.get("danger") == "yes":  # in danger now: file at once
            dlg.answers.pop("_editing", None)
            return self._file_urgent(dlg)
        return self._next(dlg, "age")

    # -- the urgent report: filed at the place, the rest added --------------------------

    def _file_urgent(self, dlg: Dialogue) -> Outcome:
        dlg.version += 1
        return Outcome(effect=Submit(urgent=True), changed=True)

    def after_urgent_filing(self, dlg: Dialogue, code: str, ticket_id: int) -> list[Reply]:
        """The urgent report is filed: ask what is still missing, each answer an addition;
        when nothing is (the danger was changed at the summary), the dialogue is over."""
        dlg.answers["_filed"] = code
        dlg.answers["_ticket"] = ticket_id
        step = self._missing(dlg)
        if step is None:
            self.after_submit(dlg, code)
            return []
        dlg.step = step
        return self.prompts(dlg)

    def _missing(self, dlg: Dialogue) -> str | None:
        """The first question an urgent report still lacks an answer to."""
        a = dlg.answers
        for question in ADDITIONS:
            answered = "anonymous" in a if question == "contact" else bool(a.get(question))
            if not answered:
                return question
        return None

    def _advance(self, dlg: Dialogue, fields: tuple[str, ...], step: str) -> Outcome:
        """After an answer: the next question; for a filed report, the answer is added to
        it first and the next question is what is still missing."""
        if not _filed(dlg):
            return self._next(dlg, step)
        code = str(dlg.answers["_filed"])
        following = self._missing(dlg)
        what = "、".join(t(dlg.locale, f"summary.{f}") for f in fields)
        added = t(dlg.locale, "urgent.added", code=code, what=what)
        if following is None:
            done = Reply(f"{added}\n\n{t(dlg.locale, 'urgent.done', code=code)}")
            self.after_submit(dlg, code)
            dlg.version += 1
            return Outcome([done], effect=AddToReport(fields), changed=True)
        out = self._goto(dlg, following)
        out.replies[0].text = f"{added}\n\n{out.replies[0].text}"
        out.effect = AddToReport(fields)
        return out

    def _resume_additions(self, dlg: Dialogue) -> Reply:
        return Reply(
            t(dlg.locale, "urgent.resume", code=str(dlg.answers["_filed"])),
            [
                [
                    self._btn(dlg, "btn.add_more", IntakeAction.RESUME, "resume"),
                    self._btn(dlg, "btn.stop_adding", IntakeAction.RESUME, "stop"),
                ]
            ],
        )

    def _stop_adding(self, dlg: Dialogue) -> Outcome:
        code = str(dlg.answers["_filed"])
        self.after_submit(dlg, code)
        dlg.version += 1
        return Outcome(
            [Reply(t(dlg.locale, "urgent.stopped", code=code), remove_keyboard=True)],
            changed=True,
        )

    def _next(self, dlg: Dialogue, step: str) -> Outcome:
        """Go to the step after an answer, or back to the summary when changing one."""
        editing = dlg.answers.pop("_editing", False)
        out = self._goto(dlg, "summary" if editing else step)
        if self._newly_urgent(dlg):  # before the next question, as for "in danger: yes"
            out.replies.insert(0, Reply(t(dlg.locale, "danger.call_on_submit")))
        return out

    def _newly_urgent(self, dlg: Dialogue) -> bool:
        """The answers make the report P0 (sexual harm, self-harm risk, a small child alone)
        though "in danger now" was not answered yes: the reporter hears to call 110/120 once."""
        a = dlg.answers
        if a.get("danger") == "yes" or a.get("_advised") or not a.get("concerns"):
            return False
        priority = derive_priority(
            in_danger=a.get("danger", ""), concerns=a["concerns"], child_age=a.get("age", "")
        )
        if priority != "P0":
            return False
        a["_advised"] = True
        return True

    def _goto(self, dlg: Dialogue, step: str, effect: Effect | None = None) -> Outcome:
        dlg.step = step
        dlg.version += 1
        replies = [] if step == "status" else self.prompts(dlg)
        return Outcome(replies, effect=effect, changed=True)

    def _reset(self, dlg: Dialogue) -> Outcome:
        dlg.answers = {}
        return self._goto(dlg, "menu")

    def _set_language(self, dlg: Dialogue, value: str) -> Outcome:
        if value not in CATALOGUES:
            return Outcome(notice=t(dlg.locale, "already"))
        dlg.locale = value
        dlg.version += 1
        return Outcome([Reply(t(value, "language.set")), *self.prompts(dlg)], changed=True)

    def after_submit(self, dlg: Dialogue, code: str) -> None:
        """The report is filed: forget the answers, remember the code, back to the menu."""
        dlg.answers = {"_last_code": code, "_last_press": dlg.answers.get("_last_press")}
        dlg.step = "menu"

    # -- prompts -------------------------------------------------------------------------

    def _btn(self, dlg: Dialogue, key: str, action: IntakeAction, value: str) -> Button:
        return self._raw_btn(dlg, t(dlg.locale, key), action, value)

    def _raw_btn(self, dlg: Dialogue, label: str, action: IntakeAction, value: str) -> Button:
        return Button(label, IntakeData(dlg.version, action, value).encode())

    def _language_prompt(self, dlg: Dialogue) -> Reply:
        names = (("zh", "中文"), ("en", "English"))
        buttons = [Button(name, LanguageData(dlg.version, loc).encode()) for loc, name in names]
        return Reply(t(dlg.locale, "language.prompt"), [buttons])

    def _pages(self, county_code: str) -> int:
        count = len(self.directory.children(county_code))
        return max(1, -(-count // TOWNSHIPS_PER_PAGE))

    def prompts(self, dlg: Dialogue) -> list[Reply]:
        """What asks the current step's question: its prompt, and where that carries a
        channel keyboard (share my number) the way out as buttons in a second message."""
        replies = [self.prompt(dlg)]
        if dlg.step == "contact_phone":
            anon = self._btn(dlg, "btn.contact.anon", IntakeAction.CONTACT, "anon")
            replies.append(Reply(t(dlg.locale, "contact.or_anon"), [[anon]]))
        if _filed(dlg) and dlg.step in REPORT_STEPS:
            # Every question after an urgent filing may be left unanswered.
            stop = self._btn(dlg, "btn.stop_adding", IntakeAction.RESUME, "stop")
            replies[-1].buttons = [*replies[-1].buttons, [stop]]
        return replies

    def prompt(self, dlg: Dialogue) -> Reply:
        """The question of the current step, with buttons of the current version."""
        loc, a, step = dlg.locale, dlg.answers, dlg.step
        b = self._btn
        if step == "menu" or step == "status":
            if step == "status":
                return Reply(t(loc, "status.prompt"))
            return Reply(
                t(loc, "menu"),
                [
                    [b(dlg, "btn.report", IntakeAction.MENU, "report")],
                    [
                        b(dlg, "btn.status", IntakeAction.MENU, "status"),
                        b(dlg, "btn.language", IntakeAction.MENU, "lang"),
                    ],
                ],
            )
        if step == "danger":
            return Reply(
                t(loc, "danger.prompt"),
                [[b(dlg, f"btn.danger.{v}", IntakeAction.DANGER, v) for v in DANGER]],
            )
        if step == "reporter":
            roles = [b(dlg, f"role.{r}", IntakeAction.REPORTER, r) for r in REPORTER_ROLES]
            return Reply(t(loc, "reporter.prompt"), _rows(roles, 2))
        if step == "place":
            cities = [
                self._raw_btn(dlg, c.name, IntakeAction.CITY, c.code)
                for c in self.directory.cities()
            ]
            return Reply(t(loc, "place.prompt"), _rows(cities, 3))
        if step == "place_county":
            city = self.directory.get(a.get("_city", ""))
            assert city is not None
            counties = [
                self._raw_btn(dlg, c.name, IntakeAction.COUNTY, c.code)
                for c in self.directory.children(city.code)
            ]
            rows = _rows(counties, 3)
            rows.append([b(dlg, "place.unknown_county", IntakeAction.PLACE_UNKNOWN, "city")])
            rows.append([b(dlg, "btn.back", IntakeAction.BACK, "")])
            return Reply(t(loc, "place.county", city=city.name), rows)
        if step == "place_township":
            county_code = a.get("_county", "")
            county = self.directory.get(county_code)
            assert county is not None
            towns = self.directory.children(county_code)
            pages = self._pages(county_code)
            page = min(int(a.get("_page", 0)), pages - 1)
            shown = towns[page * TOWNSHIPS_PER_PAGE : (page + 1) * TOWNSHIPS_PER_PAGE]
            rows = _rows(
                [self._raw_btn(dlg, x.name, IntakeAction.TOWNSHIP, x.code) for x in shown], 3
            )
            nav = []
            if page > 0:
                nav.append(b(dlg, "btn.prev", IntakeAction.PAGE, str(page - 1)))
            if page + 1 < pages:
                nav.append(b(dlg, "btn.next", IntakeAction.PAGE, str(page + 1)))
            if nav:
                rows.append(nav)
            unknown = "county" if county.level == "county" else "city"
            rows.append([b(dlg, "place.unknown_township", IntakeAction.PLACE_UNKNOWN, unknown)])
            rows.append([b(dlg, "btn.back", IntakeAction.BACK, "")])
            text = t(loc, "place.township", county=county.name, page=page + 1, pages=pages)
            return Reply(text, rows)
        if step == "place_pick":
            codes: list[str] = a.get("_candidates", [])
            names = [self.directory.full_name(c) for c in codes]
            if len(codes) == 1:
                return Reply(
                    t(loc, "place.confirm_one", place=names[0]),
                    [
                        [b(dlg, "place.yes", IntakeAction.PICK, codes[0])],
                        [b(dlg, "place.none_of_these", IntakeAction.BACK, "")],
                    ],
                )
            rows = [
                [self._raw_btn(dlg, n, IntakeAction.PICK, c)]
                for c, n in zip(codes, names, strict=True)
            ]
            rows.append([b(dlg, "place.none_of_these", IntakeAction.BACK, "")])
            return Reply(t(loc, "place.confirm_many"), rows)
        if step == "age":
            return Reply(
                t(loc, "age.prompt"),
                _rows([b(dlg, f"age.{v}", IntakeAction.AGE, v) for v in AGE_BANDS], 3),
            )
        if step == "sex":
            return Reply(
                t(loc, "sex.prompt"), [[b(dlg, f"sex.{v}", IntakeAction.SEX, v) for v in SEXES]]
            )
        if step == "concerns":
            chosen = set(a.get("concerns", []))
            buttons = [
                self._raw_btn(
                    dlg,
                    ("✅ " if c in chosen else "") + t(loc, f"concern.{c}"),
                    IntakeAction.CONCERN,
                    c,
                )
                for c in CONCERNS
            ]
            rows = _rows(buttons, 2)
            rows.append([b(dlg, "concerns.done", IntakeAction.CONCERNS_DONE, "")])
            return Reply(t(loc, "concerns.prompt"), rows)
        if step == "story":
            return Reply(t(loc, "story.prompt", max=TEXT_MAX))
        if step == "contact":
            return Reply(
                t(loc, "contact.prompt"),
                [
                    [
                        b(dlg, "btn.contact.phone", IntakeAction.CONTACT, "phone"),
                        b(dlg, "btn.contact.anon", IntakeAction.CONTACT, "anon"),
                    ]
                ],
            )
        if step == "contact_phone":
            return Reply(t(loc, "contact.phone_prompt"), ask_contact=True)
        if step == "consent":
            return Reply(
                t(loc, "consent.prompt"),
                [
                    [
                        b(dlg, "btn.yes", IntakeAction.CONSENT, "yes"),
                        b(dlg, "btn.no", IntakeAction.CONSENT, "no"),
                    ]
                ],
            )
        if step == "summary":
            return Reply(
                self.summary(dlg),
                [
                    [b(dlg, "btn.confirm", IntakeAction.SUMMARY, "ok")],
                    [
                        b(dlg, "btn.change", IntakeAction.SUMMARY, "edit"),
                        b(dlg, "btn.cancel", IntakeAction.SUMMARY, "cancel"),
                    ],
                ],
            )
        if step == "edit":
            keys = {
                "danger": "summary.danger",
                "reporter": "summary.reporter",
                "place": "summary.place",
                "age": "summary.age",
                "sex": "summary.sex",
                "concerns": "summary.concerns",
                "story": "summary.story",
                "contact": "summary.contact",
            }
            buttons = [b(dlg, keys[f], IntakeAction.EDIT, f) for f in EDITABLE]
            rows = _rows(buttons, 2)
            rows.append([b(dlg, "btn.back", IntakeAction.BACK, "")])
            return Reply(t(loc, "edit.prompt"), rows)
        raise ValueError(f"no prompt for step {step!r}")

    def summary(self, dlg: Dialogue) -> str:
        loc, a = dlg.locale, dlg.answers
        place = self.directory.full_name(a["place"]) if a.get("place") else "—"
        if a.get("anonymous", True) or not a.get("phone"):
            contact = t(loc, "summary.anonymous")
        else:
            consent = "summary.callback_yes" if a.get("callback") else "summary.callback_no"
            contact = html.escape(a["phone"]) + t(loc, consent)
        concerns = "、".join(t(loc, f"concern.{c}") for c in a.get("concerns", []))
        lines = [
            t(loc, "summary.title"),
            f"{t(loc, 'summary.danger')}：{t(loc, 'btn.danger.' + a.get('danger', 'unsure'))}",
            f"{t(loc, 'summary.reporter')}：{t(loc, 'role.' + a.get('reporter', 'other'))}",
            f"{t(loc, 'summary.place')}：{_esc(place)}",
            f"{t(loc, 'summary.age')}：{t(loc, 'age.' + a.get('age', 'unknown'))}",
            f"{t(loc, 'summary.sex')}：{t(loc, 'sex.' + a.get('sex', 'unknown'))}",
            f"{t(loc, 'summary.concerns')}：{concerns}",
            f"{t(loc, 'summary.story')}：{_esc(_excerpt(a.get('story', ''), 600))}",
        ]
        if a.get("photos"):
            lines.append(f"{t(loc, 'summary.photos')}：{len(a['photos'])}")
        lines.append(f"{t(loc, 'summary.contact')}：{contact}")
        if loc != "zh":
            lines = [line.replace("：", ": ", 1) for line in lines]
        return "\n".join(lines)


_PRESS_ACTIONS = {
    IntakeAction.MENU: Intake._on_menu,
    IntakeAction.RESUME: Intake._on_resume,
    IntakeAction.DANGER: Intake._on_danger,
    IntakeAction.REPORTER: Intake._on_reporter,
    IntakeAction.CITY: Intake._on_city,
    IntakeAction.COUNTY: Intake._on_county,
    IntakeAction.PAGE: Intake._on_page,
    IntakeAction.BACK: Intake._on_back,
    IntakeAction.PLACE_UNKNOWN: Intake._on_unknown_place,
    IntakeAction.TOWNSHIP: Intake._on_pick,
    IntakeAction.PICK: Intake._on_pick,
    IntakeAction.AGE: Intake._on_age,
    IntakeAction.SEX: Intake._on_sex,
    IntakeAction.CONCERN: Intake._on_concern,
    IntakeAction.CONCERNS_DONE: Intake._on_concerns_done,
    IntakeAction.CONTACT: Intake._on_contact,
    IntakeAction.CONSENT: Intake._on_consent,
    IntakeAction.SUMMARY: Intake._on_summary,
    IntakeAction.EDIT: Intake._on_edit,
}


def _filed(dlg: Dialogue) -> bool:
    """The report of this dialogue was already filed (urgent); answers are additions."""
    return "_filed" in dlg.answers


def _rows(buttons: list[Button], width: int) -> list[list[Button]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _excerpt(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalise_phone(text: str) -> str | None:
    """Digits with an optional leading +, or None when it cannot be a phone number."""
    text = text.strip()
    if not _PHONE_RE.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15:
        return None
    return ("+" if text.startswith("+") else "") + digits
