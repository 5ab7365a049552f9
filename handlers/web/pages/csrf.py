"""CSRF protection for the web forms: the double-submit cookie. A form carries a random
token that must equal the one in a cookie only this site can set; a page of another site
can post the form but cannot read or set the cookie (SameSite=Strict keeps the browser from
even sending it along)."""

from __future__ import annotations

import hmac
import secrets
from typing import Final

from aiohttp import web

COOKIE: Final = "hutong_csrf"
FIELD: Final = "csrf"


def token_for(request: web.Request) -> str:
    """The visitor's token: the cookie's if it looks like one of ours, else a new one."""
    current = request.cookies.get(COOKIE, "")
    return current if len(current) == 43 else secrets.token_urlsafe(32)


def set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
        path="/",
        max_age=12 * 3600,
    )


def valid(request: web.Request, sent: str | None) -> bool:
    cookie = request.cookies.get(COOKIE)
    if not cookie or not sent:
        return False
    return hmac.compare_digest(cookie.encode(), sent.encode())
