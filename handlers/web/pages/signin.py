"""``/signin`` and ``/signout`` of the staff pages (``flows.web_sessions``).

``GET /signin?link=…`` only shows a button: the link is spent by the POST it sends, so a
chat app previewing the link does not sign anyone in. An API token may be typed instead.
Attempts are limited per client address like the public doors."""

from __future__ import annotations

import logging
import math
import re
from typing import Final

from aiohttp import web

from flows.api_tokens import authenticate
from flows.client_limits import Limit, admit
from flows.web_sessions import PAGES, open_with_token, redeem_link, sign_out
from handlers.web.api.context import API_KEY, client_address
from handlers.web.keys import CLOCK_KEY, DB_KEY
from handlers.web.pages import csrf
from handlers.web.pages.session import clear_session, cookie_token, see_other, set_session
from handlers.web.pages.staff_render import page_locale, render, word
from handlers.web.pages.staff_words import WORDS

log = logging.getLogger(__name__)

# Guessing a link or a token is out of reach; this keeps a script from trying anyway.
SIGNIN: Final = Limit("signin", per_hour=30, burst=10)
LOCAL_PATH: Final = re.compile(r"^/(?!/)[\x21-\x7e]{0,500}$")


def _next(value: str) -> str | None:
    """A path on this site to return to, never another site's address."""
    return value if LOCAL_PATH.match(value) and "\\" not in value else None


def _page(
    request: web.Request, locale: str, status: int = 200, message: str | None = None
) -> web.Response:
    link = request.query.get("link", "")[:300]
    return render(
        request,
        "signin.html",
        words=WORDS,
        locale=locale,
        status=status,
        link=link,
        next=_next(request.query.get("next", "")) or "",
        message=message,
    )


async def signin_page(request: web.Request) -> web.Response:
    return _page(request, page_locale(request))


async def signin_post(request: web.Request) -> web.Response:
    data = await request.post()
    locale = page_locale(request)
    if not csrf.valid(request, str(data.get(csrf.FIELD, "")) or None):
        return _page(request, locale, 403, word(WORDS, locale, "signin.expired"))
    api = request.app[API_KEY]
    now = request.app[CLOCK_KEY]()
    link, token = str(data.get("link", "")), str(data.get("token", "")).strip()
    async with request.app[DB_KEY].unit() as session:
        address = client_address(request, api.trusted_proxies)
        wait = await admit(session=session, limit=SIGNIN, address=address, now=now)
        if wait is not None:
            minutes = max(1, math.ceil(wait / 60))
            return _page(request, locale, 429, word(WORDS, locale, "signin.busy", minutes=minutes))
        signed = None
        failed = "signin.failed"
        if link:
            signed = await redeem_link(session=session, token=link, now=now)
        elif token:
            failed = "signin.token_failed"
            principal = await authenticate(session=session, token=token, now=now)
            if principal is not None and principal.role not in PAGES:
                failed = "signin.not_yours"
            elif principal is not None:
                signed = await open_with_token(session=session, principal=principal, now=now)
    if signed is None:
        return _page(request, locale, 401, word(WORDS, locale, failed))
    back = _next(str(data.get("next", "")))
    home = back if back is not None and back.startswith(signed.home) else signed.home
    response = see_other(home)
    set_session(response, signed.token)
    return response


async def signout_post(request: web.Request) -> web.Response:
    data = await request.post()
    if not csrf.valid(request, str(data.get(csrf.FIELD, "")) or None):
        locale = page_locale(request)
        return _page(request, locale, 403, word(WORDS, locale, "signin.expired"))
    token = cookie_token(request)
    if token:
        async with request.app[DB_KEY].unit() as session:
            await sign_out(session=session, token=token, now=request.app[CLOCK_KEY]())
    response = see_other("/signin")
    clear_session(response)
    return response


def add_signin(app: web.Application) -> None:
    app.router.add_get("/signin", signin_page)
    app.router.add_post("/signin", signin_post)
    app.router.add_post("/signout", signout_post)
