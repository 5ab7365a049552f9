"""What the console's script asks while the operator types: place suggestions
(``/console/places``) and the priority the answers imply (``/console/priority``), both for
a signed-in operator only, as JSON; and the script itself (``/static/console.js``), served
from this site because the staff pages' policy runs no inline script.

The page works without any of this: these only make the same answers arrive sooner."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any, Final

from aiohttp import web

from flows.console import suggest_places
from flows.place_steps import PLACE_TEXT_MAX
from flows.texts import t
from flows.triage import AGE_BANDS, CONCERNS, DANGER, derive_priority
from handlers.web.api.context import API_KEY
from handlers.web.pages.console_words import WORDS
from handlers.web.pages.session import signed_in
from handlers.web.pages.staff_render import HEADERS, page_locale, word
from storage.models import StaffMember

JSON_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": HEADERS["Content-Security-Policy"],
}


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        headers=JSON_HEADERS,
    )


def _error(request: web.Request, status: int, slug: str, key: str) -> web.Response:
    locale = page_locale(request)
    return _json({"error": slug, "message": word(WORDS, locale, key)}, status)


async def _operator(request: web.Request) -> StaffMember | web.Response:
    """The operator signed in; else 401 (nobody) or 403 (another role), as JSON: a script
    cannot follow the sign-in page's redirect."""
    found = await signed_in(request, "operator")
    if not isinstance(found, web.Response):
        return found
    if found.status == 403:
        return _error(request, 403, "operator-only", "json.not_operator")
    return _error(request, 401, "not-signed-in", "json.not_signed_in")


async def places(request: web.Request) -> web.Response:
    member = await _operator(request)
    if isinstance(member, web.Response):
        return member
    q = request.query.get("q", "").strip()
    if len(q) > PLACE_TEXT_MAX:
        return _error(request, 400, "too-long", "json.too_long")
    found = suggest_places(request.app[API_KEY].directory, text=q, scope_code=member.scope_code)
    return _json(
        {
            "candidates": [
                {"code": s.code, "name": s.name, "level": s.level, "outside": s.outside}
                for s in found
            ]
        }
    )


async def priority(request: web.Request) -> web.Response:
    member = await _operator(request)
    if isinstance(member, web.Response):
        return member
    danger = request.query.get("danger", "")
    age = request.query.get("age", "unknown")
    concerns = request.query.getall("concerns", [])
    if (
        (danger and danger not in DANGER)
        or age not in AGE_BANDS
        or len(concerns) > len(CONCERNS)
        or any(c not in CONCERNS for c in concerns)
    ):
        return _error(request, 400, "bad-answer", "json.bad_answer")
    if not danger:
        return _json({"priority": None, "label": None})
    # From the buttons only: the story is never put in a URL (query strings reach logs).
    # Its red flags can only raise this, and the receipt shows the priority filed.
    found = derive_priority(in_danger=danger, concerns=list(concerns), child_age=age)
    locale = page_locale(request, member.locale)
    return _json({"priority": found, "label": t(locale, f"priority.{found}")})


@cache
def _script() -> bytes:
    return files("handlers.web").joinpath("static/console.js").read_bytes()


async def script(request: web.Request) -> web.Response:
    return web.Response(
        body=_script(),
        content_type="text/javascript",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


def add_console_api(app: web.Application) -> None:
    app.router.add_get("/console/places", places)
    app.router.add_get("/console/priority", priority)
    app.router.add_get("/static/console.js", script)
