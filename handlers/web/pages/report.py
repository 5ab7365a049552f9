"""``/report`` (the web intake) and ``/status`` (a report's progress by its code): server
rendered, no JavaScript needed, mobile first; zh-CN, with Traditional Chinese and English
by choice (``?lang=zh-Hant``, ``?lang=en``).

The form is filed through ``flows/submission.py`` like the API's reports: the same
vocabularies, the same place matcher (candidates to choose from when the words name places
of several stations), the same limits per client address. A hidden ``submission`` id is the
idempotency key, so a double click or a resent form files one ticket."""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup
from pydantic import ValidationError

from flows.client_limits import admit
from flows.place_steps import PLACE_TEXT_MAX
from flows.submission import (
    PlaceUnresolved,
    public_status,
    resolve_place,
    submit_once,
)
from flows.texts import LANGUAGE_NAMES, LOCALES, t
from flows.triage import AGE_BANDS, CONCERNS, DANGER, REPORTER_ROLES, SEXES
from handlers.web.api.context import API_KEY, client_address
from handlers.web.api.models import ReportIn
from handlers.web.keys import CLOCK_KEY, DB_KEY
from handlers.web.pages import csrf
from handlers.web.pages.words import w
from storage.models import TEXT_MAX

log = logging.getLogger(__name__)

SUBMISSION: Final = re.compile(r"^[0-9a-f]{32}$")
CODE: Final = re.compile(r"^[A-Za-z0-9]{6,16}$")
# Pages of this site only: no scripts, no frames, forms posted here only.
HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# Why a place could not be settled (flows.submission.PlaceUnresolved), as the pages say it.
PLACE_PROBLEMS: Final = {
    "unknown_code": "place.unknown_code",
    "not_found": "place.not_found",
    "ambiguous": "place.pick",
}
VOCAB: Final = {
    "danger": DANGER,
    "reporter": REPORTER_ROLES,
    "age": AGE_BANDS,
    "sex": SEXES,
    "concerns": CONCERNS,
}


# Each locale's tag for HTML's lang attribute.
HTML_LANG: Final = {"zh": "zh-CN", "zh-Hant": "zh-Hant", "en": "en"}


def locale_of(request: web.Request, form: Any = None) -> str:
    lang = (form.get("lang") if form is not None else None) or request.query.get("lang")
    return lang if lang in LOCALES else "zh"


@dataclass(slots=True)
class Form:
    """What the visitor answered, kept to show the form again."""

    submission: str = field(default_factory=lambda: uuid.uuid4().hex)
    danger: str = ""
    reporter: str = ""
    place: str = ""
    age: str = "unknown"
    sex: str = "unknown"
    concerns: list[str] = field(default_factory=list)
    story: str = ""
    phone: str = ""
    callback: bool = False

    @classmethod
    def of(cls, data: Any) -> Form:
        submission = str(data.get("submission", ""))
        return cls(
            submission=submission if SUBMISSION.match(submission) else uuid.uuid4().hex,
            danger=str(data.get("danger", "")),
            reporter=str(data.get("reporter", "")),
            place=str(data.get("place", ""))[: PLACE_TEXT_MAX * 2],
            age=str(data.get("age", "unknown")),
            sex=str(data.get("sex", "unknown")),
            concerns=[str(c) for c in data.getall("concerns", [])][: len(CONCERNS) * 2],
            story=str(data.get("story", ""))[: TEXT_MAX * 2],
            phone=str(data.get("phone", ""))[:64],
            callback=data.get("callback") == "yes",
        )

    def report_in(self, place_code: str | None, channel: str = "web") -> dict[str, Any]:
        """The body ``ReportIn`` validates: the web form's, or a hotline call's (the console)."""
        place: dict[str, str] = {"code": place_code} if place_code else {"text": self.place}
        return {
            "channel": channel,
            "danger": self.danger,
            "reporter": self.reporter,
            "place": place,
            "age": self.age,
            "sex": self.sex,
            "concerns": self.concerns,
            "story": self.story,
            "phone": self.phone.strip() or None,
            "callback": self.callback,
        }


def labeller(locale: str) -> Callable[[str], Markup]:
    """The bot's words for a question or an answer, for a page's template."""

    def label(key: str) -> Markup:
        # The bot's catalogue: trusted text whose values are already escaped; its line
        # breaks become spaces in a label.
        return Markup(t(locale, key).replace("\n", " "))

    return label


def form_errors(exc: ValidationError, form: Form) -> dict[str, str]:
    """Per field of the form, "required" or "invalid" (keys of the page's words); never the
    value sent."""
    errors: dict[str, str] = {}
    for e in exc.errors(include_input=False, include_url=False):
        name = str(e["loc"][0]) if e["loc"] else "form"
        # Left empty (a value too short, or not one of the answers, is "invalid").
        missing = e["type"] == "missing" or getattr(form, name, None) == ""
        errors.setdefault(name, "required" if missing else "invalid")
    return errors


def _render(
    request: web.Request, template: str, locale: str, http_status: int = 200, **context: Any
) -> web.Response:
    token = csrf.token_for(request)
    label = labeller(locale)
    response = aiohttp_jinja2.render_template(
        template,
        request,
        {
            "locale": locale,
            "html_lang": HTML_LANG[locale],
            # The same page in each other language, its query (a code looked up) kept.
            "languages": [
                (
                    LANGUAGE_NAMES[code],
                    str(request.rel_url.update_query(lang=code)),
                    HTML_LANG[code],
                )
                for code in LOCALES
                if code != locale
            ],
            "w": lambda key, **v: w(locale, key, **v),
            "label": label,
            "csrf": token,
            "vocab": VOCAB,
            "place_max": PLACE_TEXT_MAX,
            "story_max": TEXT_MAX,
            **context,
        },
        status=http_status,
    )
    response.headers.update(HEADERS)
    csrf.set_cookie(request, response, token)
    return response


def _form_page(
    request: web.Request,
    locale: str,
    form: Form,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    candidates: list[Any] | None = None,
) -> web.Response:
    return _render(
        request,
        "report.html",
        locale,
        status,
        form=form,
        errors=errors or {},
        message=message,
        candidates=candidates or [],
    )


async def report_page(request: web.Request) -> web.Response:
    return _form_page(request, locale_of(request), Form())


async def report_post(request: web.Request) -> web.Response:
    data = await request.post()
    locale = locale_of(request, data)
    form = Form.of(data)
    if not csrf.valid(request, str(data.get(csrf.FIELD, "")) or None):
        return _form_page(request, locale, form, status=403, message=w(locale, "expired"))
    place_code = str(data.get("place_code", "")) or None
    try:
        report_in = ReportIn.model_validate(form.report_in(place_code))
    except ValidationError as exc:
        errors = {name: w(locale, key) for name, key in form_errors(exc, form).items()}
        return _form_page(
            request, locale, form, status=422, errors=errors, message=w(locale, "fix")
        )
    api = request.app[API_KEY]
    try:
        place = resolve_place(api.directory, code=report_in.place.code, text=report_in.place.text)
    except PlaceUnresolved as exc:
        key = PLACE_PROBLEMS[exc.reason]
        return _form_page(
            request,
            locale,
            form,
            status=422,
            errors={"place": w(locale, key)},
            candidates=exc.candidates,
        )
    now = request.app[CLOCK_KEY]()
    async with request.app[DB_KEY].unit() as session:
        wait = await admit(
            session=session,
            limit=api.report_limit,
            address=client_address(request, api.trusted_proxies),
            now=now,
        )
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        response = _form_page(
            request, locale, form, status=429, message=w(locale, "busy", minutes=minutes)
        )
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    report = report_in.report(place)
    receipt, _ = await submit_once(
        db=request.app[DB_KEY],
        directory=api.directory,
        policy=api.policy,
        report=report,
        idempotency_key=f"form-{form.submission}",
        locale=locale,
        now=now,
    )
    log.info("report filed through the web form: ticket %s", receipt.ticket_id)
    # Post/redirect/get: reloading the page shows the receipt, it does not post again.
    # ``alert``: the story's words raised the alarm, and the receipt says where to call
    # (in the address, not read back by the code: the status of a code says nothing about
    # the child).
    alert = "&alert=1" if receipt.red_flags else ""
    raise web.HTTPSeeOther(f"/report/filed?code={receipt.code}&lang={locale}{alert}")


async def _lookup(request: web.Request, code: str, locale: str) -> tuple[Any, float | None]:
    """(status or None, None), or (None, seconds to wait) when this address looked up too
    many codes: every way to a status counts, so codes cannot be tried one after another."""
    api = request.app[API_KEY]
    async with request.app[DB_KEY].unit() as session:
        wait = await admit(
            session=session,
            limit=api.status_limit,
            address=client_address(request, api.trusted_proxies),
            now=request.app[CLOCK_KEY](),
        )
        if wait is not None:
            return None, wait
        if not CODE.match(code):
            return None, None
        found = await public_status(
            session=session, directory=api.directory, code=code, locale=locale
        )
    return found, None


async def filed_page(request: web.Request) -> web.Response:
    locale = locale_of(request)
    found, _ = await _lookup(request, request.query.get("code", ""), locale)
    if found is None:
        raise web.HTTPSeeOther(f"/status?lang={locale}")
    alert = request.query.get("alert") == "1"
    return _render(request, "filed.html", locale, status=found, alert=alert)


async def status_page(request: web.Request) -> web.Response:
    locale = locale_of(request)
    code = request.query.get("code", "").strip()[:32]
    if not code:
        return _render(request, "status.html", locale, code="", status=None, message=None)
    found, wait = await _lookup(request, code, locale)
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        message = w(locale, "busy", minutes=minutes)
        return _render(request, "status.html", locale, 429, code=code, status=None, message=message)
    if found is None:
        message = w(locale, "status.none")
        return _render(request, "status.html", locale, 404, code=code, status=None, message=message)
    return _render(request, "status.html", locale, code=found.code, status=found, message=None)


def add_pages(app: web.Application) -> None:
    """Needs the API's context (``API_KEY``) on the app."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("handlers.web", "templates"),
        autoescape=True,
    )
    app.router.add_get("/report", report_page)
    app.router.add_post("/report", report_post)
    app.router.add_get("/report/filed", filed_page)
    app.router.add_get("/status", status_page)
