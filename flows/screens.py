"""What the citizen sees at each step of the intake dialogue: the question, its buttons (of
the dialogue's current version, so an old message's buttons are recognised as old) and the
summary before sending. Pure: no I/O; flows.intake decides what an answer means."""

from __future__ import annotations

import html

from flows.callbacks import IntakeAction, IntakeData, LanguageData
from flows.dialogue import ADDING_CODE, EDITABLE, REPORT_STEPS, Dialogue, by_the_child, filed
from flows.messages import Button, Reply
from flows.pager import grid, nav_row, page_of
from flows.places import Directory
from flows.texts import CATALOGUES, LANGUAGE_NAMES, local_name, t, voiced
from flows.triage import AGE_BANDS, CONCERNS, DANGER, REPORTER_ROLES, SEXES
from storage.models import TEXT_MAX


def say(dlg: Dialogue, key: str, **values: object) -> str:
    """The text for ``key`` in the dialogue's language, and in its voice: to a child reporting
    about themselves, in the second person (``texts.voiced``)."""
    return t(dlg.locale, voiced(key, child=by_the_child(dlg)), **values)


def btn(dlg: Dialogue, key: str, action: IntakeAction, value: str) -> Button:
    return raw_btn(dlg, say(dlg, key), action, value)


def raw_btn(dlg: Dialogue, label: str, action: IntakeAction, value: str) -> Button:
    return Button(label, IntakeData(dlg.version, action, value).encode())


def language_prompt(dlg: Dialogue) -> Reply:
    buttons = [
        Button(name, LanguageData(dlg.version, loc).encode())
        for loc, name in LANGUAGE_NAMES.items()
    ]
    return Reply(say(dlg, "language.prompt"), [buttons])


def adding_prompt(dlg: Dialogue) -> Reply:
    """The step that adds to a filed report (flows.additions): what may be sent, and 完成."""
    code = str(dlg.answers.get(ADDING_CODE, ""))
    return Reply(say(dlg, "addinfo.prompt", code=code), adding_done(dlg))


def adding_done(dlg: Dialogue) -> list[list[Button]]:
    data = IntakeData(dlg.version, IntakeAction.ADD_DONE, "").encode()
    return [[Button(say(dlg, "btn.addinfo.done"), data)]]


def resume_prompt(dlg: Dialogue) -> Reply:
    """/start in the middle of a report: go on where it was, or start again."""
    buttons = [
        btn(dlg, "btn.resume", IntakeAction.RESUME, "resume"),
        btn(dlg, "btn.restart", IntakeAction.RESUME, "restart"),
    ]
    return Reply(say(dlg, "resume.prompt"), [buttons])


def additions_resume(dlg: Dialogue) -> Reply:
    """/start after an urgent filing: go on adding to it, or stop."""
    return Reply(
        say(dlg, "urgent.resume", code=str(dlg.answers["_filed"])),
        [
            [
                btn(dlg, "btn.add_more", IntakeAction.RESUME, "resume"),
                btn(dlg, "btn.stop_adding", IntakeAction.RESUME, "stop"),
            ]
        ],
    )


def added_note(dlg: Dialogue, code: str, fields: tuple[str, ...]) -> str:
    """What an answer given after an urgent filing added to the ticket."""
    what = "、".join(say(dlg, f"summary.{f}") for f in fields)
    return say(dlg, "urgent.added", code=code, what=what)


class Screens:
    """The screens of one directory's dialogue (the places offered are the directory's)."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def unsupported(self, dlg: Dialogue, kind: str) -> list[Reply]:
        """A kind of message this step cannot take: say so, and ask the question again."""
        key = f"kind.{kind}" if f"kind.{kind}" in CATALOGUES["zh"] else "kind.other"
        text = say(dlg, "unsupported", kind=say(dlg, key))
        return [Reply(text), *self.prompts(dlg)]

    def prompts(self, dlg: Dialogue) -> list[Reply]:
        """What asks the current step's question: its prompt, and where that carries a
        channel keyboard (share my number) the way out as buttons in a second message."""
        replies = [self.prompt(dlg)]
        if dlg.step == "contact_phone":
            anon = btn(dlg, "btn.contact.anon", IntakeAction.CONTACT, "anon")
            replies.append(Reply(say(dlg, "contact.or_anon"), [[anon]]))
        if filed(dlg) and dlg.step in REPORT_STEPS:
            # Every question after an urgent filing may be left unanswered.
            stop = btn(dlg, "btn.stop_adding", IntakeAction.RESUME, "stop")
            replies[-1].buttons = [*replies[-1].buttons, [stop]]
        return replies

    def prompt(self, dlg: Dialogue) -> Reply:
        """The question of the current step, with buttons of the current version."""
        loc, a, step = dlg.locale, dlg.answers, dlg.step
        b = btn
        if step == "adding":
            return adding_prompt(dlg)
        if step == "menu" or step == "status":
            if step == "status":
                return Reply(say(dlg, "status.prompt"))
            return Reply(
                say(dlg, "menu"),
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
                say(dlg, "danger.prompt"),
                [[b(dlg, f"btn.danger.{v}", IntakeAction.DANGER, v) for v in DANGER]],
            )
        if step == "reporter":
            roles = [b(dlg, f"role.{r}", IntakeAction.REPORTER, r) for r in REPORTER_ROLES]
            return Reply(say(dlg, "reporter.prompt"), grid(roles, 2))
        if step == "place":
            cities = [
                raw_btn(dlg, local_name(loc, c.name), IntakeAction.CITY, c.code)
                for c in self.directory.cities()
            ]
            return Reply(say(dlg, "place.prompt"), grid(cities, 3))
        if step == "place_county":
            city = self.directory.get(a.get("_city", ""))
            assert city is not None
            counties = [
                raw_btn(dlg, local_name(loc, c.name), IntakeAction.COUNTY, c.code)
                for c in self.directory.children(city.code)
            ]
            rows = grid(counties, 3)
            rows.append([b(dlg, "place.unknown_county", IntakeAction.PLACE_UNKNOWN, "city")])
            rows.append([b(dlg, "btn.back", IntakeAction.BACK, "")])
            return Reply(say(dlg, "place.county", city=local_name(loc, city.name)), rows)
        if step == "place_township":
            county_code = a.get("_county", "")
            county = self.directory.get(county_code)
            assert county is not None
            shown = page_of(self.directory.children(county_code), int(a.get("_page", 0)))
            rows = grid(
                [
                    raw_btn(dlg, local_name(loc, x.name), IntakeAction.TOWNSHIP, x.code)
                    for x in shown.items
                ],
                3,
            )

            def turn(label: str, number: int) -> Button:
                return raw_btn(dlg, label, IntakeAction.PAGE, str(number))

            nav = nav_row(shown, turn, prev=say(dlg, "btn.prev"), next=say(dlg, "btn.next"))
            if nav:
                rows.append(nav)
            unknown = "county" if county.level == "county" else "city"
            rows.append([b(dlg, "place.unknown_township", IntakeAction.PLACE_UNKNOWN, unknown)])
            rows.append([b(dlg, "btn.back", IntakeAction.BACK, "")])
            text = t(
                loc,
                "place.township",
                county=local_name(loc, county.name),
                page=shown.number + 1,
                pages=shown.count,
            )
            return Reply(text, rows)
        if step == "place_pick":
            codes: list[str] = a.get("_candidates", [])
            names = [local_name(loc, self.directory.full_name(c)) for c in codes]
            if len(codes) == 1:
                return Reply(
                    say(dlg, "place.confirm_one", place=names[0]),
                    [
                        [b(dlg, "place.yes", IntakeAction.PICK, codes[0])],
                        [b(dlg, "place.none_of_these", IntakeAction.BACK, "")],
                    ],
                )
            rows = [
                [raw_btn(dlg, n, IntakeAction.PICK, c)] for c, n in zip(codes, names, strict=True)
            ]
            rows.append([b(dlg, "place.none_of_these", IntakeAction.BACK, "")])
            return Reply(say(dlg, "place.confirm_many"), rows)
        if step == "age":
            return Reply(
                say(dlg, "age.prompt"),
                grid([b(dlg, f"age.{v}", IntakeAction.AGE, v) for v in AGE_BANDS], 3),
            )
        if step == "sex":
            return Reply(
                say(dlg, "sex.prompt"), [[b(dlg, f"sex.{v}", IntakeAction.SEX, v) for v in SEXES]]
            )
        if step == "concerns":
            chosen = set(a.get("concerns", []))
            buttons = [
                raw_btn(
                    dlg,
                    ("✅ " if c in chosen else "") + say(dlg, f"concern.{c}"),
                    IntakeAction.CONCERN,
                    c,
                )
                for c in CONCERNS
            ]
            rows = grid(buttons, 2)
            rows.append([b(dlg, "concerns.done", IntakeAction.CONCERNS_DONE, "")])
            return Reply(say(dlg, "concerns.prompt"), rows)
        if step == "story":
            return Reply(say(dlg, "story.prompt", max=TEXT_MAX))
        if step == "contact":
            return Reply(
                say(dlg, "contact.prompt"),
                [
                    [
                        b(dlg, "btn.contact.phone", IntakeAction.CONTACT, "phone"),
                        b(dlg, "btn.contact.anon", IntakeAction.CONTACT, "anon"),
                    ]
                ],
            )
        if step == "contact_phone":
            return Reply(say(dlg, "contact.phone_prompt"), ask_contact=True)
        if step == "consent":
            return Reply(
                say(dlg, "consent.prompt"),
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
            rows = grid(buttons, 2)
            rows.append([b(dlg, "btn.back", IntakeAction.BACK, "")])
            return Reply(say(dlg, "edit.prompt"), rows)
        raise ValueError(f"no prompt for step {step!r}")

    def summary(self, dlg: Dialogue) -> str:
        loc, a = dlg.locale, dlg.answers
        place = local_name(loc, self.directory.full_name(a["place"])) if a.get("place") else "—"
        if a.get("anonymous", True) or not a.get("phone"):
            contact = say(dlg, "summary.anonymous")
        else:
            consent = "summary.callback_yes" if a.get("callback") else "summary.callback_no"
            contact = html.escape(a["phone"]) + say(dlg, consent)
        concerns = "、".join(say(dlg, f"concern.{c}") for c in a.get("concerns", []))
        lines = [
            say(dlg, "summary.title"),
            f"{say(dlg, 'summary.danger')}：{say(dlg, 'btn.danger.' + a.get('danger', 'unsure'))}",
            f"{say(dlg, 'summary.reporter')}：{say(dlg, 'role.' + a.get('reporter', 'other'))}",
            f"{say(dlg, 'summary.place')}：{_esc(place)}",
            f"{say(dlg, 'summary.age')}：{say(dlg, 'age.' + a.get('age', 'unknown'))}",
            f"{say(dlg, 'summary.sex')}：{say(dlg, 'sex.' + a.get('sex', 'unknown'))}",
            f"{say(dlg, 'summary.concerns')}：{concerns}",
            f"{say(dlg, 'summary.story')}：{_esc(_excerpt(a.get('story', ''), 600))}",
        ]
        if a.get("photos"):
            lines.append(f"{say(dlg, 'summary.photos')}：{len(a['photos'])}")
        lines.append(f"{say(dlg, 'summary.contact')}：{contact}")
        if loc == "en":
            lines = [line.replace("：", ": ", 1) for line in lines]
        return "\n".join(lines)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _excerpt(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
