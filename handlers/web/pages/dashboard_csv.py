"""``/dashboard/tickets.csv``: the filtered ticket list as a spreadsheet file.

The rows are the list's (``flows.ticket_queries``, the same filters and scope), every page
of it up to ``CAP`` rows — the file says so on its last line when there were more. UTF-8
with a byte-order mark, so Excel opens the Chinese correctly; column names in the
supervisor's language; nothing about the child or the reporter beyond what the list shows
(no story, no phone). A cell that a spreadsheet would take for a formula (``= + - @``, or a
tab or carriage return first) is prefixed with ``'`` so that it stays text."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable
from typing import Final

from aiohttp import web

from flows.texts import t
from flows.ticket_queries import (
    FIELDS,
    LIMIT_MAX,
    FilterError,
    TicketRow,
    list_tickets,
    parse_filter,
)
from flows.tickets import SHANGHAI
from handlers.web.api.context import API_KEY
from handlers.web.keys import CLOCK_KEY, DB_KEY
from handlers.web.pages.dashboard_frame import (
    PAGE_PARAMS,
    bad_request,
    filter_message,
    filter_pairs,
    supervisor,
)
from handlers.web.pages.dashboard_tickets import overdue_key, when

log = logging.getLogger(__name__)

CAP: Final = 10_000
BOM: Final = "\ufeff"
COLUMNS: Final = (
    "code",
    "priority",
    "state",
    "owner",
    "county",
    "city",
    "channel",
    "created",
    "next_due",
    "overdue",
    "signed",
    "resolved",
)
# What a spreadsheet reads as the start of a formula (OWASP's list).
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def safe(cell: str) -> str:
    """A cell a spreadsheet shows as the text it is, never runs as a formula."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def csv_text(
    rows: Iterable[TicketRow],
    *,
    w: Callable[..., str],
    locale: str,
    place_name: Callable[[str | None], str],
    capped: bool,
) -> str:
    """The file's text: the byte-order mark, the header and a line per ticket."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe(w(f"th.{c}")) for c in COLUMNS])
    for r in rows:
        late = overdue_key(r)
        cells = [
            r.code,
            t(locale, f"priority.{r.priority}"),
            t(locale, f"state.{r.state}"),
            r.owner,
            place_name(r.county),
            place_name(r.city),
            r.channel,
            when(r.created_at),
            when(r.next_due_at),
            w(late) if late else "",
            when(r.signed_at),
            when(r.resolved_at),
        ]
        writer.writerow([safe(c) for c in cells])
    if capped:
        writer.writerow([safe(w("csv.capped", n=CAP))])
    return out.getvalue()


async def csv_export(request: web.Request) -> web.Response:
    who = await supervisor(request)
    if isinstance(who, web.Response):
        return who
    try:
        # The filters only: the file holds every page, so there is no page size or cursor.
        wanted = parse_filter(filter_pairs(request), extra=PAGE_PARAMS)
    except FilterError as exc:
        message = filter_message(exc, who, known=FIELDS)
        return bad_request(request, who, message, "/dashboard/tickets")
    api = request.app[API_KEY]
    rows: list[TicketRow] = []
    cursor: str | None = None
    async with request.app[DB_KEY].unit() as session:
        while len(rows) < CAP:
            page = await list_tickets(
                session=session,
                directory=api.directory,
                member=who.member,
                filter=wanted,
                cursor=cursor,
                limit=min(LIMIT_MAX, CAP - len(rows)),
                locale=who.locale,
            )
            rows.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    # A page that ends at the cap with a cursor for the next: there were more tickets.
    capped = cursor is not None

    def place_name(code: str | None) -> str:
        place = api.directory.get(code) if code else None
        return place.name if place is not None else ""

    body = csv_text(rows, w=who.w, locale=who.locale, place_name=place_name, capped=capped)
    day = request.app[CLOCK_KEY]().astimezone(SHANGHAI).strftime("%Y-%m-%d")
    log.info("dashboard CSV exported by staff %s: %d tickets", who.member.id, len(rows))
    return web.Response(
        body=body.encode("utf-8"),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="hutong-tickets-{day}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
