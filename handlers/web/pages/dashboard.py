"""``/dashboard``: the supervisors' overview of their county or city — open tickets by
state, by station and by how overdue (``flows.dashboard``), and sign-for and resolve
compliance per week as charts drawn here (``flows.compliance``, ``charts``).

Every page is for a signed-in supervisor only (``session.signed_in``: nobody → the sign-in
page and back, another role → 403) and shows their scope only. A bad parameter gets the
400 page naming it and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from flows import compliance, dashboard
from flows.compliance import WEEKS_DEFAULT, WEEKS_MAX, WEEKS_MIN, Week
from flows.states import OPEN
from flows.texts import t
from handlers.web.api.context import API_KEY
from handlers.web.keys import CLOCK_KEY, DB_KEY
from handlers.web.pages.charts import Bar, bar_chart
from handlers.web.pages.dashboard_csv import csv_export
from handlers.web.pages.dashboard_frame import BadInput, bad_request, supervisor
from handlers.web.pages.dashboard_tickets import detail_page, list_page
from handlers.web.pages.dashboard_words import WORDS
from handlers.web.pages.session import frame
from handlers.web.pages.staff_render import render

WEEK_CHOICES: Final = (4, 8, 12, 26)
# Parameters of the overview besides the language; anything else is a mistake said back.
OVERVIEW_PARAMS: Final = ("lang", "weeks")


def _weeks(request: web.Request) -> int:
    given = request.query.getall("weeks", [])
    if not given:
        return WEEKS_DEFAULT
    text = given[0]
    if len(given) > 1 or not text.isascii() or not text.isdigit() or len(text) > 3:
        raise BadInput("error.weeks", low=WEEKS_MIN, high=WEEKS_MAX)
    if not WEEKS_MIN <= int(text) <= WEEKS_MAX:
        raise BadInput("error.weeks", low=WEEKS_MIN, high=WEEKS_MAX)
    return int(text)


def _charts(weeks: tuple[Week, ...], w: Callable[..., str]) -> list[tuple[str, Markup]]:
    """The three weekly charts, each with its caption."""
    none = w("none")

    def bars(kind: str) -> list[Bar]:
        out = []
        for week in weeks:
            label = f"W{week.start.isocalendar()[1]:02d}"
            if kind == "received":
                out.append(Bar(label, float(week.received), str(week.received)))
                continue
            on_time, of, pct = (
                (week.signed_on_time, week.signed, week.sign_percent)
                if kind == "sign"
                else (week.resolved_on_time, week.resolved, week.resolve_percent)
            )
            out.append(
                Bar(
                    label,
                    None if pct is None else float(pct),
                    none if pct is None else f"{pct}%",
                    w("chart.on_time", on_time=on_time, of=of),
                )
            )
        return out

    return [
        (
            w(f"chart.{kind}"),
            bar_chart(
                key=f"chart-{kind}",
                title=w(f"chart.{kind}"),
                description=w(f"chart.{kind}.desc"),
                bars=bars(kind),
                percent=kind != "received",
                axis=w("chart.axis.count" if kind == "received" else "chart.axis.share"),
            ),
        )
        for kind in ("sign", "resolve", "received")
    ]


async def overview_page(request: web.Request) -> web.Response:
    who = await supervisor(request)
    if isinstance(who, web.Response):
        return who
    member, locale = who.member, who.locale
    try:
        unknown = [k for k in request.query if k not in OVERVIEW_PARAMS]
        if unknown:
            raise BadInput("error.param")
        weeks = _weeks(request)
    except BadInput as bad:
        return bad_request(request, who, who.w(bad.key, **bad.values), "/dashboard")
    directory = request.app[API_KEY].directory
    now = request.app[CLOCK_KEY]()
    async with request.app[DB_KEY].unit() as session:
        overview = await dashboard.overview(
            session=session, directory=directory, member=member, locale=locale
        )
        figures = await compliance.weekly(session=session, member=member, now=now, weeks=weeks)

    return render(
        request,
        "dashboard.html",
        words=WORDS,
        locale=locale,
        status=200,
        overview=overview,
        columns=dashboard.COLUMNS,
        city_wide=member.scope_level == "city",
        state_name=lambda state: t(locale, f"state.{state}"),
        open_query=urlencode([("state", s.value) for s in OPEN]),
        weeks=figures,
        weeks_shown=weeks,
        week_choices=WEEK_CHOICES,
        charts=_charts(figures, who.w),
        **frame(request, member),
    )


def add_dashboard(app: web.Application) -> None:
    app.router.add_get("/dashboard", overview_page)
    app.router.add_get("/dashboard/tickets", list_page)
    # Before the ticket's route, so "tickets.csv" is never read as a ticket's code.
    app.router.add_get("/dashboard/tickets.csv", csv_export)
    # No HEAD: it would record a view of the ticket that showed nobody anything.
    app.router.add_get("/dashboard/tickets/{code}", detail_page, allow_head=False)
