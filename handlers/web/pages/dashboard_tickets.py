"""``/dashboard/tickets`` (the list, with the REST API's filters as a form and pages by
cursor) and ``/dashboard/tickets/{code}`` (one ticket with its history).

The list and the ticket come from the same flows as the API's (``flows.ticket_queries``,
``flows.ticket_detail``): the same filters, the same scope, the same rule for the reporter's
phone, and every view of a ticket recorded on it (``viewed``, noted ``web``). A code that
names no ticket and another area's ticket get the same 404 page; the latter leaves a
``refused`` event on the ticket, as in the bot."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from aiohttp import web

from flows.places import Directory
from flows.sla import PRIORITIES
from flows.states import UNSIGNED
from flows.texts import CATALOGUES, t
from flows.ticket_detail import view_ticket
from flows.ticket_queries import (
    LISTED_STATES,
    FilterError,
    Listing,
    TicketRow,
    list_tickets,
    parse_listing,
)
from flows.tickets import local_time
from handlers.web.api.context import API_KEY
from handlers.web.keys import CLOCK_KEY, DB_KEY
from handlers.web.pages.dashboard_frame import (
    Supervisor,
    bad_request,
    counties,
    filter_message,
    filter_pairs,
    not_found,
    supervisor,
    townships,
)
from handlers.web.pages.dashboard_words import WORDS
from handlers.web.pages.session import frame
from handlers.web.pages.staff_render import render

log = logging.getLogger(__name__)

LIMITS: Final = (25, 50, 100, 200)
DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def when(at: datetime | None) -> str:
    """A moment as people in Guangdong read it; "" for none."""
    return local_time(at) if at is not None else ""


def overdue_key(row: TicketRow) -> str | None:
    """The words for how a listed ticket is overdue (None: it is not)."""
    if not row.overdue:
        return None
    if row.state in UNSIGNED:
        return "overdue.l2" if row.overdue_level >= 2 else "overdue.l1"
    return "overdue.resolve"


def labels(locale: str) -> dict[str, Callable[[str], str]]:
    """The bot's words for a ticket's coded fields, for the templates."""
    catalogue = CATALOGUES[locale]

    def of(prefix: str) -> Callable[[str], str]:
        return lambda value: catalogue.get(f"{prefix}.{value}", value)

    return {
        "state_name": of("state"),
        "priority_name": of("priority"),
        "event_name": of("event"),
        "concern_name": of("concern"),
        "age_name": of("age"),
        "sex_name": of("sex"),
        # A child reporting about themselves reads as 本人求助 to staff, as in the bot.
        "role_name": lambda value: (
            catalogue["role.child.staff.plain"] if value == "child" else of("role")(value)
        ),
        "danger_name": of("btn.danger"),
        "outcome_name": of("outcome"),
        "flag_name": of("redflag"),
    }


def _place_name(directory: Directory, code: str | None) -> str:
    place = directory.get(code) if code else None
    return place.name if place is not None else ""


def _link(path: str, pairs: list[tuple[str, str]], locale: str) -> str:
    return f"{path}?{urlencode([*pairs, ('lang', locale)])}"


async def list_page(request: web.Request) -> web.Response:
    who = await supervisor(request)
    if isinstance(who, web.Response):
        return who
    pairs = filter_pairs(request)
    try:
        listing = parse_listing(pairs)
    except FilterError as exc:
        return bad_request(request, who, filter_message(exc, who), "/dashboard/tickets")
    api = request.app[API_KEY]
    async with request.app[DB_KEY].unit() as session:
        try:
            page = await list_tickets(
                session=session,
                directory=api.directory,
                member=who.member,
                filter=listing.filter,
                cursor=listing.cursor,
                limit=listing.limit,
                locale=who.locale,
            )
        except FilterError as exc:  # a cursor of another filter, or none of ours
            return bad_request(request, who, filter_message(exc, who), "/dashboard/tickets")
    kept = [(k, v) for k, v in pairs if k != "cursor"]
    filters = [(k, v) for k, v in kept if k != "limit"]
    return render(
        request,
        "dashboard_tickets.html",
        words=WORDS,
        locale=who.locale,
        status=200,
        rows=page.items,
        form=_form(who, listing, request),
        next_link=_link("/dashboard/tickets", [*kept, ("cursor", page.next_cursor)], who.locale)
        if page.next_cursor
        else None,
        first_link=_link("/dashboard/tickets", kept, who.locale) if listing.cursor else None,
        csv_link=_link("/dashboard/tickets.csv", filters, who.locale),
        overdue_key=overdue_key,
        when=when,
        city_wide=who.member.scope_level == "city",
        county_names={p.code: p.name for p in counties(api.directory, who.member)},
        **labels(who.locale),
        **frame(request, who.member),
    )


def _form(who: Supervisor, listing: Listing, request: web.Request) -> dict[str, Any]:
    """The filter form, filled with what is in force."""
    directory = request.app[API_KEY].directory
    f = listing.filter
    raw = request.query
    return {
        "states": [(s, t(who.locale, f"state.{s}"), s in f.states) for s in LISTED_STATES],
        "priorities": [(p, t(who.locale, f"priority.{p}"), p in f.priorities) for p in PRIORITIES],
        "overdue": "" if f.overdue is None else "true" if f.overdue else "false",
        "station": f.station or "",
        "stations": townships(directory, who.member),
        "county": f.county or "",
        "counties": counties(directory, who.member),
        # Shown when it is a plain date: the date box cannot hold a time (a time typed into
        # the address is in force on this page, and dropped by the next use of the form).
        "created_from": _plain_date(raw.get("created_from", "")),
        "created_to": _plain_date(raw.get("created_to", "")),
        "limit": listing.limit,
        "limits": sorted({*LIMITS, listing.limit}),  # a size typed into the address too
        "city": f.city or "",
    }


def _plain_date(value: str) -> str:
    return value if DATE.fullmatch(value) else ""


async def detail_page(request: web.Request) -> web.Response:
    who = await supervisor(request)
    if isinstance(who, web.Response):
        return who
    unknown = [k for k in request.query if k != "lang"]
    if unknown:
        return bad_request(request, who, who.w("error.param"), "/dashboard/tickets")
    api = request.app[API_KEY]
    async with request.app[DB_KEY].unit() as session:
        # Committed whatever the answer: the view, or the refusal, stays on the ticket.
        detail = await view_ticket(
            session=session,
            directory=api.directory,
            member=who.member,
            code=request.match_info["code"],
            now=request.app[CLOCK_KEY](),
            via="web",
            locale=who.locale,
        )
    if detail is None:
        return not_found(request, who)
    log.info("dashboard ticket viewed by staff %s", who.member.id)
    return render(
        request,
        "dashboard_ticket.html",
        words=WORDS,
        locale=who.locale,
        status=200,
        d=detail,
        row=detail.state.row,
        overdue_key=overdue_key,
        when=when,
        county_name=_place_name(api.directory, detail.state.row.county),
        city_name=_place_name(api.directory, detail.state.row.city),
        **labels(who.locale),
        **frame(request, who.member),
    )
