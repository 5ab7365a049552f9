"""``/console``: hotline operators enter a phone call while they talk.

The form asks the bot's questions in the order an operator asks them — the line, is the
child in danger, where, who is calling, the child, what is happening, the story, the
caller's phone — and files the call through the same code as ``/report`` and the API
(``ReportIn``, ``flows.submission``): the same vocabularies, place matcher, priority,
routing and deadlines. The call is the operator's in the ticket's history (``staff:ID``); a
hidden submission id is the idempotency key, so a double submit files one ticket.

It works without JavaScript (typed places that name several stations become a choice; the
receipt shows the priority). With it, ``/static/console.js`` suggests places as the
operator types (``/console/places``) and shows the priority the moment danger is ticked
(``/console/priority``, derived by ``flows.triage`` like the filing itself).

A call about a place outside the operator's city is filed all the same — a child in danger
is never refused — and the receipt says the place lies outside their area.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from aiohttp import web
from multidict import MultiDict
from pydantic import ValidationError

from flows.console import Call, filed_call, in_scope, recent_calls
from flows.place_steps import PLACE_TEXT_MAX
from flows.red_flags import screen
from flows.submission import PHONE_CHANNELS, PlaceUnresolved, resolve_place, submit_once
from flows.texts import duration, t
from flows.tickets import local_time
from flows.triage import derive_priority
from handlers.web.api.context import API_KEY
from handlers.web.api.models import ReportIn
from handlers.web.keys import CLOCK_KEY, DB_KEY
from handlers.web.pages import csrf
from handlers.web.pages.console_api import add_console_api
from handlers.web.pages.console_words import WORDS
from handlers.web.pages.report import (
    PLACE_PROBLEMS,
    SUBMISSION,
    VOCAB,
    Form,
    form_errors,
    labeller,
)
from handlers.web.pages.session import frame, see_other, signed_in
from handlers.web.pages.staff_render import page_locale, render, word
from storage.models import TEXT_MAX, StaffMember

log = logging.getLogger(__name__)

CODE: Final = re.compile(r"^[A-Za-z0-9]{6,16}$")
PHONE_MAX: Final = 32
# The form's questions in the order it asks them: the first one to correct takes the focus.
ORDER: Final = (
    "channel",
    "danger",
    "place",
    "reporter",
    "age",
    "sex",
    "concerns",
    "story",
    "phone",
    "callback",
)


async def _calls(request: web.Request, member: StaffMember, locale: str) -> list[Call]:
    assert member.id is not None
    async with request.app[DB_KEY].unit() as session:
        return await recent_calls(
            session=session,
            directory=request.app[API_KEY].directory,
            operator_id=member.id,
            locale=locale,
        )


def _priority(form: Form) -> str | None:
    """The priority the answers so far imply, as the filing will derive it; None until the
    danger question is answered."""
    if form.danger not in VOCAB["danger"]:
        return None
    concerns = [c for c in form.concerns if c in VOCAB["concerns"]]
    flags = screen(form.story)  # as file_report will screen it
    return derive_priority(
        in_danger=form.danger, concerns=concerns, child_age=form.age, flags=flags
    )


async def _form_page(
    request: web.Request,
    member: StaffMember,
    locale: str,
    form: Form,
    channel: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    candidates: list[Any] | None = None,
) -> web.Response:
    calls = await _calls(request, member, locale)
    if not channel:  # a new call: the line of the operator's last call
        last = next((c.channel for c in calls if c.channel in PHONE_CHANNELS), None)
        channel = last or PHONE_CHANNELS[0]
    errors = errors or {}
    focus = "candidates" if candidates else next((n for n in ORDER if n in errors), "danger")
    return render(
        request,
        "console.html",
        words=WORDS,
        locale=locale,
        status=status,
        form=form,
        channel=channel,
        channels=PHONE_CHANNELS,
        errors={k: word(WORDS, locale, v) for k, v in errors.items()},
        message=message,
        candidates=candidates or [],
        focus=focus,
        priority=_priority(form),
        calls=calls,
        local_time=local_time,
        label=labeller(locale),
        vocab=VOCAB,
        place_max=PLACE_TEXT_MAX,
        story_max=TEXT_MAX,
        phone_max=PHONE_MAX,
        **frame(request, member),
    )


async def console_page(request: web.Request) -> web.Response:
    member = await signed_in(request, "operator")
    if isinstance(member, web.Response):
        return member
    locale = page_locale(request, member.locale)
    return await _form_page(request, member, locale, Form(), "")


def _errors(form: Form, data: Any, channel: str, place_code: str | None) -> dict[str, str]:
    """What is wrong with the call as sent: the console's own fields, then ``ReportIn``'s
    (the same checks as ``/report`` and the API)."""
    errors: dict[str, str] = {}
    if channel not in PHONE_CHANNELS:
        errors["channel"] = "required" if not channel else "invalid"
    if data.get("callback") not in (None, "", "yes"):
        errors["callback"] = "invalid"
    try:
        ReportIn.model_validate(form.report_in(place_code, channel=PHONE_CHANNELS[0]))
    except ValidationError as exc:
        errors.update(form_errors(exc, form))
    return errors


async def console_post(request: web.Request) -> web.Response:
    member = await signed_in(request, "operator")
    if isinstance(member, web.Response):
        return member
    assert member.id is not None
    sent = await request.post()
    locale = page_locale(request, member.locale)
    # A file where a word is expected is no answer: shown as the empty answer it is.
    damaged = any(not isinstance(v, str) for v in sent.values())
    data = MultiDict((k, v if isinstance(v, str) else "") for k, v in sent.items())
    form = Form.of(data)
    channel = str(data.get("channel", ""))[:32]

    async def again(status: int, message_key: str | None = None, **kw: Any) -> web.Response:
        message = word(WORDS, locale, message_key) if message_key else None
        return await _form_page(
            request, member, locale, form, channel, status=status, message=message, **kw
        )

    if not csrf.valid(request, str(data.get(csrf.FIELD, "")) or None):
        return await again(403, "expired")
    if damaged or not SUBMISSION.match(str(data.get("submission", ""))):
        # A form without its submission id cannot be told from its own double submit; one
        # with a file in it was not sent by this page.
        return await again(422, "damaged")
    codes = [str(c) for c in data.getall("place_code", []) if c]
    place_code = codes[0] if codes else None
    errors = _errors(form, data, channel, place_code)
    if errors:
        return await again(422, "fix", errors=errors)
    report_in = ReportIn.model_validate(form.report_in(place_code, channel=channel))
    api = request.app[API_KEY]
    try:
        place = resolve_place(api.directory, code=report_in.place.code, text=report_in.place.text)
    except PlaceUnresolved as exc:
        key = PLACE_PROBLEMS[exc.reason]
        return await again(422, errors={"place": key}, candidates=exc.candidates)
    receipt, _ = await submit_once(
        db=request.app[DB_KEY],
        directory=api.directory,
        policy=api.policy,
        report=report_in.report(place),
        idempotency_key=f"console-{form.submission}",
        locale=report_in.locale,
        now=request.app[CLOCK_KEY](),
        operator_id=member.id,
    )
    log.info("call filed by staff %s at the console: ticket %s", member.id, receipt.ticket_id)
    # Post/redirect/get: reloading the receipt shows it again, it files nothing.
    return see_other(f"/console/filed?code={receipt.code}&lang={locale}")


def _spaced(code: str) -> list[str]:
    """The code in groups of four, as it is read out: ABCD EFGH."""
    return [code[i : i + 4] for i in range(0, len(code), 4)]


async def filed_page(request: web.Request) -> web.Response:
    member = await signed_in(request, "operator")
    if isinstance(member, web.Response):
        return member
    assert member.id is not None
    locale = page_locale(request, member.locale)
    code = request.query.get("code", "")
    directory = request.app[API_KEY].directory
    call = None
    if CODE.match(code):
        async with request.app[DB_KEY].unit() as session:
            call = await filed_call(
                session=session,
                directory=directory,
                operator_id=member.id,
                code=code,
                locale=locale,
            )
    outside = (
        call is not None
        and call.place_code is not None
        and not in_scope(directory, scope_code=member.scope_code, place_code=call.place_code)
    )
    return render(
        request,
        "console_filed.html",
        words=WORDS,
        locale=locale,
        status=200 if call is not None else 404,
        call=call,
        groups=_spaced(call.code) if call else [],
        outside=outside,
        # The categories the story's words raised, in the bot's words (flows.texts).
        flag_names=t(locale, "redflag.sep").join(
            t(locale, f"redflag.{c}") for c in (call.red_flags if call else ())
        ),
        window=lambda minutes: duration(locale, minutes),
        local_time=local_time,
        label=labeller(locale),
        **frame(request, member),
    )


def add_console(app: web.Application) -> None:
    """Needs the pages' templates (``add_pages``) and the API's context on the app."""
    app.router.add_get("/console", console_page)
    app.router.add_post("/console", console_post)
    app.router.add_get("/console/filed", filed_page)
    add_console_api(app)
