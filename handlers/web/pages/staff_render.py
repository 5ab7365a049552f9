"""Rendering the staff pages (sign-in, the operators' console, the supervisors' dashboard):
Jinja2 templates, the staff member's language (``?lang=`` overrides), the same security
headers as the public pages, and a CSRF token for every form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import aiohttp_jinja2
from aiohttp import web

from handlers.web.pages import csrf

# Scripts only from this site (the console's place suggestions), never inline; no frames.
HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self';"
    " style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
Words = Mapping[str, Mapping[str, str]]


def page_locale(request: web.Request, preferred: str = "zh") -> str:
    lang = request.query.get("lang")
    if lang in ("zh", "en"):
        return lang
    return "en" if preferred == "en" else "zh"


def word(words: Words, locale: str, key: str, **values: object) -> str:
    text = words.get(locale, words["zh"]).get(key) or words["zh"][key]
    return text.format(**values) if values else text


def render(
    request: web.Request,
    template: str,
    *,
    words: Words,
    locale: str,
    status: int = 200,
    **context: Any,
) -> web.Response:
    token = csrf.token_for(request)
    response = aiohttp_jinja2.render_template(
        template,
        request,
        {
            "locale": locale,
            "w": lambda key, **v: word(words, locale, key, **v),
            "csrf": token,
            # The same page in the other language: its code, filters and page kept.
            "lang_switch": str(request.rel_url.update_query(lang="en" if locale == "zh" else "zh")),
            **context,
        },
        status=status,
    )
    response.headers.update(HEADERS)
    csrf.set_cookie(request, response, token)
    return response
