"""What every dashboard page shares: the signed-in supervisor and their language, the
answers to a bad request (400) and to a ticket not to be shown (404), and the ticket list's
filters read from a query string the way the REST API reads them
(``flows.ticket_queries``), with their errors said in the supervisor's language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from flows.places import Directory, Place
from flows.ticket_queries import FIELDS, CursorError, FilterError
from handlers.web.pages.dashboard_words import WORDS
from handlers.web.pages.session import frame, signed_in
from handlers.web.pages.staff_render import page_locale, render, word
from storage.models import StaffMember

# The page's own parameter, not a filter: the language shown.
PAGE_PARAMS: Final = ("lang",)
# Parameters whose errors have their own words: the filters, and the list's paging.
KNOWN: Final = (*FIELDS, "limit", "cursor")


class BadInput(Exception):
    """A request the page cannot answer as asked: ``key`` and ``values`` say why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True, slots=True)
class Supervisor:
    member: StaffMember
    locale: str

    def w(self, key: str, **values: object) -> str:
        return word(WORDS, self.locale, key, **values)


async def supervisor(request: web.Request) -> Supervisor | web.Response:
    """The supervisor signed in, in their language (``?lang=`` overrides); else the
    answer to give (the sign-in page, or 403 for another role)."""
    found = await signed_in(request, "supervisor")
    if isinstance(found, web.Response):
        return found
    return Supervisor(found, page_locale(request, found.locale))


def bad_request(request: web.Request, who: Supervisor, message: str, back: str) -> web.Response:
    """The 400 page: what was wrong, and the way back (``back``: a path of the dashboard)."""
    return render(
        request,
        "dashboard_error.html",
        words=WORDS,
        locale=who.locale,
        status=400,
        title=who.w("error.title"),
        message=message,
        back=back,
        back_words=who.w("error.back" if back == "/dashboard" else "detail.back"),
        **frame(request, who.member),
    )


def not_found(request: web.Request, who: Supervisor) -> web.Response:
    """One answer for a code that names no ticket and for another area's ticket, so codes
    cannot be probed from here."""
    return render(
        request,
        "dashboard_error.html",
        words=WORDS,
        locale=who.locale,
        status=404,
        title=who.w("missing.title"),
        message=who.w("missing"),
        back="/dashboard/tickets",
        back_words=who.w("detail.back"),
        **frame(request, who.member),
    )


def filter_pairs(request: web.Request) -> list[tuple[str, str]]:
    """The query's parameters for ``flows.ticket_queries``: without the page's own, and
    without the blank fields a form sends for "any" (a blank field filters nothing)."""
    return [(k, v) for k, v in request.query.items() if k not in PAGE_PARAMS and v != ""]


def filter_message(exc: FilterError, who: Supervisor, known: Sequence[str] = KNOWN) -> str:
    """What was wrong with a filter, in the supervisor's words: which field and what it
    takes; never the value sent. A parameter not in ``known`` is one the page does not take."""
    if exc.field not in known:
        return who.w("error.param")
    if isinstance(exc, CursorError):
        return who.w("error.cursor")
    if exc.field in KNOWN:
        return who.w(
            "error.filter", field=who.w(f"filter.{exc.field}"), hint=who.w(f"hint.{exc.field}")
        )
    return who.w("error.param")


def townships(directory: Directory, member: StaffMember) -> list[tuple[str, list[Place]]]:
    """The townships (stations) of the supervisor's area, by county: [(county name,
    townships)]; one group without a name where the city has no county level (东莞, 中山)."""
    if member.scope_level == "county":
        return [("", _towns(directory.children(member.scope_code)))]
    groups = []
    direct = _towns(directory.children(member.scope_code))
    if direct:
        groups.append(("", direct))
    for county in counties(directory, member):
        groups.append((county.name, _towns(directory.children(county.code))))
    return groups


def counties(directory: Directory, member: StaffMember) -> list[Place]:
    """The counties of a city supervisor's city (none for a county supervisor)."""
    if member.scope_level != "city":
        return []
    return [p for p in directory.children(member.scope_code) if p.level == "county"]


def _towns(places: Sequence[Place]) -> list[Place]:
    return [p for p in places if p.level == "township"]
