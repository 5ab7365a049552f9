"""Who is signed in to the staff pages: the session cookie, read and written here only.

The cookie holds a random token whose hash ``flows.web_sessions`` keeps. It is Secure (the
pages are served behind TLS; browsers also keep it on http://localhost for development),
HttpOnly (no script reads it) and SameSite=Strict (another site's page cannot make the
browser use it)."""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from aiohttp import web

from flows.staff import scope_name
from flows.web_sessions import PAGES, SESSION_TTL, current
from handlers.web.api.context import API_KEY
from handlers.web.keys import CLOCK_KEY, DB_KEY
from handlers.web.pages.staff_render import page_locale, render
from handlers.web.pages.staff_words import WORDS
from storage.models import StaffMember

COOKIE: Final = "hutong_session"


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def set_session(response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        secure=True,
        samesite="Strict",
        path="/",
        max_age=int(SESSION_TTL.total_seconds()),
    )


def clear_session(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")


def cookie_token(request: web.Request) -> str:
    return request.cookies.get(COOKIE, "")


async def signed_in(request: web.Request, role: str) -> StaffMember | web.Response:
    """The member signed in with ``role``; else the answer to give: to the sign-in page
    (and back here afterwards) when nobody is, 403 when someone of another role is."""
    token = cookie_token(request)
    member = None
    if token:
        async with request.app[DB_KEY].unit() as session:
            member = await current(session=session, token=token, now=request.app[CLOCK_KEY]())
    if member is None:
        return see_other(f"/signin?next={quote(request.path_qs, safe='')}")
    if member.role != role:
        locale = page_locale(request, member.locale)
        home = PAGES.get(member.role, "/signin")
        return render(
            request,
            "wrong_role.html",
            words=WORDS,
            locale=locale,
            status=403,
            home=home,
            **frame(request, member),
        )
    return member


def frame(request: web.Request, member: StaffMember) -> dict[str, object]:
    """What ``staff_base.html`` shows of the member signed in: role and scope, no name."""
    directory = request.app[API_KEY].directory
    return {"member": member, "scope_name": scope_name(directory, member.scope_code)}
