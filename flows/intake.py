"""The intake dialogue as a pure state machine: (dialogue, event) -> replies and effects.

No I/O and no channel library here. A channel adapter turns its updates into
``flows.events`` values and renders ``Reply`` values; ``flows.conversations`` loads and saves
the ``Dialogue`` and carries out the effects (filing the ticket, looking up a status).

Buttons carry the dialogue's version, an action and a value (``flows.callbacks.IntakeData``).
The version is bumped on every accepted change, so a button from an old message, or the same
button pressed twice, is recognised and answered without changing anything.
"""

from __future__ import annotations

from typing import Final

from flows import faq_steps, languages, place_steps, story_step
from flows.callbacks import IntakeAction, LanguageData, parse_intake
from flows.commands import help_text
from flows.dialogue import (
    EDITABLE,
    REPORT_STEPS,
    AddToReport,
    Dialogue,
    Effect,
    LookupStatus,
    Submit,
    filed,
    fresh,
    looks_like_code,
    missing,
    normalise_phone,
    previous_step,
)
from flows.events import Command, Event, Media, Photo, Press, SharedContact, Text, Unsupported
from flows.messages import Outcome, Reply
from flows.places import Directory
from flows.screens import (
    Screens,
    added_note,
    additions_resume,
    language_prompt,
    resume_prompt,
    say,
)
from flows.sla import DEFAULT_POLICY, Policy
from flows.triage import AGE_BANDS, CONCERNS, DANGER, REPORTER_ROLES, SEXES, newly_urgent

# Questions answered by one button of a fixed set: the button's action, its step, the
# answers it may carry and the next question.
_CHOICES: Final = {
    IntakeAction.REPORTER: ("reporter", REPORTER_ROLES, "place"),
    IntakeAction.AGE: ("age", AGE_BANDS, "sex"),
    IntakeAction.SEX: ("sex", SEXES, "concerns"),
}


class Intake:
    """Decides what each event means at the current step. Holds the directory and settings."""

    def __init__(
        self, directory: Directory, policy: Policy = DEFAULT_POLICY, web_url: str | None = None
    ) -> None:
        self.directory, self.screens = directory, Screens(directory)
        # The deadlines new reports are filed under (HUTONG_SLA_FILE or flows.sla's defaults),
        # and where the web pages are (HUTONG_PUBLIC_URL), for the bot's sign-in links.
        self.policy, self.web_url = policy, web_url

    def handle(self, dlg: Dialogue, event: Event) -> Outcome:
        if isinstance(event, Command):
            return self._command(dlg, event)
        if isinstance(event, Press):
            return self._press(dlg, event)
        return self._message(dlg, event)

    # -- commands ------------------------------------------------------------------------

    def _command(self, dlg: Dialogue, cmd: Command) -> Outcome:
        if cmd.name == "start":
            if filed(dlg):
                return Outcome([additions_resume(dlg)])
            if dlg.step in REPORT_STEPS:
                return Outcome([resume_prompt(dlg)])
            return self._goto(dlg, "menu")
        if cmd.name == "cancel":
            if filed(dlg):  # nothing is taken back: the report was sent
                return self._stop_adding(dlg)
            if dlg.step in REPORT_STEPS or dlg.step == "status":
                return self._cancel(dlg, remove_keyboard=True)
            if dlg.step == "faq":  # leaving the policy questions: nothing was being filed
                return self._goto(dlg, "menu")
            return Outcome([Reply(say(dlg, "nothing_to_cancel"))])
        if cmd.name == "help":  # a citizen's; staff get theirs in flows.conversations
            return Outcome([Reply(help_text(dlg.locale, None))])
        if cmd.name == "language":
            return Outcome([language_prompt(dlg)])
        if cmd.name == "status":
            code = cmd.arg.strip().upper() or None
            return Outcome(effect=LookupStatus(code))
        return Outcome([Reply(say(dlg, "unknown_command", command="/" + cmd.name))])

    # -- buttons -------------------------------------------------------------------------

    def _press(self, dlg: Dialogue, press: Press) -> Outcome:
        data = parse_intake(press.data)
        if isinstance(data, LanguageData):  # language works from any message, old or new
            return languages.choose(self.screens, dlg, data.locale)
        if data is None or data.version != dlg.version:
            return self._stale(dlg, press)
        if data.action in _CHOICES:
            out = self._on_choice(dlg, data.action, data.value)
        else:
            out = _PRESS_ACTIONS[data.action](self, dlg, data.value)
        if out is None:  # a button that makes no sense at this step
            return self._stale(dlg, press)
        if out.changed:
            dlg.answers["_last_press"] = press.data
        return out

    def _stale(self, dlg: Dialogue, press: Press) -> Outcome:
        if dlg.answers.get("_last_press") == press.data:
            out = Outcome(notice=say(dlg, "already"))
            if dlg.step == "menu" and dlg.answers.get("_last_code"):
                # The submit button pressed again: say where the report went.
                code = dlg.answers["_last_code"]
                out.replies.append(Reply(say(dlg, "already_submitted", code=code)))
            return out
        return Outcome([Reply(say(dlg, "stale")), *self.screens.prompts(dlg)])

    def _on_menu(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "menu":
            return None
        if value == "report":
            dlg.answers = fresh(dlg)
            return self._goto(dlg, "danger")
        if value == "status":
            return self._goto(dlg, "status", effect=LookupStatus(None))
        if value == "lang":
            return Outcome([language_prompt(dlg)])
        return None

    def _on_faq(self, dlg: Dialogue, value: str) -> Outcome | None:
        found = faq_steps.pressed(value) if dlg.step in ("menu", "faq") else None
        return self._goto(dlg, *found) if found else None

    def _on_resume(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step not in REPORT_STEPS:
            return None
        if value == "stop" and filed(dlg):
            return self._stop_adding(dlg)
        if value == "restart" and filed(dlg):
            return None  # a filed report is not started again
        if value == "resume":
            return self._goto(dlg, dlg.step)
        if value == "restart":
            dlg.answers = fresh(dlg)
            return self._goto(dlg, "danger")
        return None

    def _on_danger(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "danger" or value not in DANGER:
            return None
        dlg.answers["danger"] = value
        if value == "yes" and dlg.answers.get("place"):  # changed at the summary: file now
            dlg.answers.pop("_editing", None)
            out = self._file_urgent(dlg)
            out.replies.insert(0, Reply(say(dlg, "danger.call_now")))
            return out
        out = self._next(dlg, "reporter")
        if value == "yes":  # before anything else: tell them to call now
            out.replies.insert(0, Reply(say(dlg, "danger.call")))
        return out

    def _on_choice(self, dlg: Dialogue, action: IntakeAction, value: str) -> Outcome | None:
        step, answers, following = _CHOICES[action]
        if dlg.step != step or value not in answers:
            return None
        dlg.answers[step] = value
        return self._advance(dlg, (step,), following)

    def _on_city(self, dlg: Dialogue, value: str) -> Outcome | None:
        step = place_steps.city(self.directory, dlg, value)
        return self._goto(dlg, step) if step else None

    def _on_county(self, dlg: Dialogue, value: str) -> Outcome | None:
        found = place_steps.county(self.directory, dlg, value)
        return self._goto(dlg, "place_township") if found else None

    def _on_page(self, dlg: Dialogue, value: str) -> Outcome | None:
        if not place_steps.turn_page(self.directory, dlg, value):
            return None
        out = self._goto(dlg, "place_township")
        for reply in out.replies:
            reply.edit = True  # paging turns the page in place
        return out

    def _on_back(self, dlg: Dialogue, value: str) -> Outcome | None:
        step = previous_step(dlg)
        return self._goto(dlg, step) if step else None

    def _on_unknown_place(self, dlg: Dialogue, value: str) -> Outcome | None:
        code = place_steps.unknown(dlg, value)
        return self._set_place(dlg, code) if code else None

    def _on_pick(self, dlg: Dialogue, value: str) -> Outcome | None:
        code = place_steps.picked(self.directory, dlg, value)
        return self._set_place(dlg, code) if code else None

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
            return Outcome(notice=say(dlg, "concerns.need_one"))
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
                out.replies.insert(0, Reply(say(dlg, "contact.anon_ok"), remove_keyboard=True))
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
            return self._cancel(dlg)
        return None

    def _on_edit(self, dlg: Dialogue, value: str) -> Outcome | None:
        if dlg.step != "edit" or value not in EDITABLE:
            return None
        dlg.answers["_editing"] = True
        return self._goto(dlg, EDITABLE[value])

    # -- messages ------------------------------------------------------------------------

    def _message(self, dlg: Dialogue, event: Event) -> Outcome:
        step = dlg.step
        if isinstance(event, Text):
            text = event.text.strip()
            if step == "place" or step == "place_pick":
                return self._typed_place(dlg, text)
            if step == "story":
                return self._story(dlg, text)
            if step in ("contact", "contact_phone"):
                return self._typed_phone(dlg, text)
            if step == "faq":
                return Outcome(effect=faq_steps.typed(text))
            if step == "status":
                if looks_like_code(text):
                    return Outcome(effect=LookupStatus(text.upper()))
                return Outcome([Reply(say(dlg, "status.prompt"))])
            if step == "menu":
                return Outcome([Reply(say(dlg, "menu.hint")), *self.screens.prompts(dlg)])
            return Outcome([Reply(say(dlg, "use_buttons"))])
        if isinstance(event, Photo | Media):
            if step == "story":
                return self._photo(dlg, event)
            return Outcome(self.screens.unsupported(dlg, getattr(event, "kind", "photo")))
        if isinstance(event, SharedContact):
            if step in ("contact", "contact_phone"):
                if not event.own:
                    return Outcome([Reply(say(dlg, "contact.not_own"))])
                return self._typed_phone(dlg, event.phone)
            return Outcome(self.screens.unsupported(dlg, "contact"))
        assert isinstance(event, Unsupported)
        return Outcome(self.screens.unsupported(dlg, event.kind))

    def _typed_place(self, dlg: Dialogue, text: str) -> Outcome:
        found = place_steps.typed(self.directory, dlg, text)
        if found == "too_long":
            return Outcome([Reply(say(dlg, "place.too_long", max=place_steps.PLACE_TEXT_MAX))])
        if found == "none":
            out = self._goto(dlg, "place")
            out.replies[0].text = say(dlg, "place.not_found", text=text)
            return out
        return self._goto(dlg, "place_pick")

    def _story(self, dlg: Dialogue, text: str) -> Outcome:
        return story_step.story(dlg, text, self._advance)

    def _photo(self, dlg: Dialogue, photo: Photo | Media) -> Outcome:
        return story_step.photo(dlg, photo, self._advance)

    def _typed_phone(self, dlg: Dialogue, text: str) -> Outcome:
        phone = normalise_phone(text)
        if phone is None:
            return Outcome([Reply(say(dlg, "contact.bad_phone")), *self.screens.prompts(dlg)])
        dlg.answers["phone"] = phone
        dlg.answers["anonymous"] = False
        out = self._goto(dlg, "consent")
        saved = say(dlg, "contact.saved", phone=phone)
        out.replies.insert(0, Reply(saved, remove_keyboard=True))
        return out

    # -- moving between steps ------------------------------------------------------------

    def _set_place(self, dlg: Dialogue, code: str) -> Outcome:
        place_steps.settle(dlg, code)
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
        dlg.answers.update(_filed=code, _ticket=ticket_id)
        step = missing(dlg)
        if step is None:
            self.after_submit(dlg, code)
            return []
        dlg.step = step
        return self.screens.prompts(dlg)

    def _advance(self, dlg: Dialogue, fields: tuple[str, ...], step: str) -> Outcome:
        """After an answer: the next question; for a filed report, the answer is added to
        it first and the next question is what is still missing."""
        if not filed(dlg):
            return self._next(dlg, step)
        code, following = str(dlg.answers["_filed"]), missing(dlg)
        added = added_note(dlg, code, fields)
        if following is None:
            done = Reply(f"{added}\n\n{say(dlg, 'urgent.done', code=code)}")
            self.after_submit(dlg, code)
            dlg.version += 1
            return Outcome([done], effect=AddToReport(fields), changed=True)
        out = self._goto(dlg, following)
        out.replies[0].text = f"{added}\n\n{out.replies[0].text}"
        out.effect = AddToReport(fields)
        return out

    def _stop_adding(self, dlg: Dialogue) -> Outcome:
        code = str(dlg.answers["_filed"])
        self.after_submit(dlg, code)
        dlg.version += 1
        text = say(dlg, "urgent.stopped", code=code)
        return Outcome([Reply(text, remove_keyboard=True)], changed=True)

    def _next(self, dlg: Dialogue, step: str) -> Outcome:
        """Go to the step after an answer, or back to the summary when changing one."""
        editing = dlg.answers.pop("_editing", False)
        out = self._goto(dlg, "summary" if editing else step)
        if newly_urgent(dlg.answers):  # before the next question, as for "in danger: yes"
            out.replies.insert(0, Reply(say(dlg, "danger.call_on_submit")))
        return out

    def _goto(self, dlg: Dialogue, step: str, effect: Effect | None = None) -> Outcome:
        dlg.step = step
        dlg.version += 1
        replies = [] if step in ("status", "faq") else self.screens.prompts(dlg)
        return Outcome(replies, effect=effect, changed=True)

    def _cancel(self, dlg: Dialogue, *, remove_keyboard: bool = False) -> Outcome:
        dlg.answers = fresh(dlg)
        out = self._goto(dlg, "menu")
        out.replies.insert(0, Reply(say(dlg, "cancelled"), remove_keyboard=remove_keyboard))
        return out

    def after_submit(self, dlg: Dialogue, code: str) -> None:
        """The report is filed: forget the answers, remember the code, back to the menu."""
        dlg.answers = fresh(dlg, _last_code=code, _last_press=dlg.answers.get("_last_press"))
        dlg.step = "menu"


_PRESS_ACTIONS = {
    IntakeAction.MENU: Intake._on_menu,
    IntakeAction.RESUME: Intake._on_resume,
    IntakeAction.DANGER: Intake._on_danger,
    IntakeAction.CITY: Intake._on_city,
    IntakeAction.COUNTY: Intake._on_county,
    IntakeAction.PAGE: Intake._on_page,
    IntakeAction.BACK: Intake._on_back,
    IntakeAction.PLACE_UNKNOWN: Intake._on_unknown_place,
    IntakeAction.TOWNSHIP: Intake._on_pick,
    IntakeAction.PICK: Intake._on_pick,
    IntakeAction.CONCERN: Intake._on_concern,
    IntakeAction.CONCERNS_DONE: Intake._on_concerns_done,
    IntakeAction.CONTACT: Intake._on_contact,
    IntakeAction.CONSENT: Intake._on_consent,
    IntakeAction.SUMMARY: Intake._on_summary,
    IntakeAction.EDIT: Intake._on_edit,
    IntakeAction.FAQ: Intake._on_faq,
}
