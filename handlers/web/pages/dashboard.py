"""``/dashboard``: the supervisors' overview of their county or city — open tickets by
state, by station and by how overdue (``flows.dashboard``), and sign-for and resolve
compliance per week as charts drawn here (``flows.compliance``, ``charts``).

Every page is for a signed-in supervisor only (``session.signed_in``: nobody → the sign-in
page and back, another role → 403) and shows their scope only. A bad parameter gets the
400 page naming it and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from aiohttp import web
from markupsafe import Markup

from flows import compliance, dashboard
from flows.compliance import WEEKS_DEFAULT, WEEKS_MAX, WEEKS_MIN, Week
from flows.texts import t
from handlers.web.api.context import API_KEY
from handlers.web.keys import CLOCK_KEY, DB_KEY
from handlers.web.pages.charts import Bar, bar_chart
from handlers.web.pages.dashboard_words import WORDS
from handlers.web.pages.session import frame, signed_in
from handlers.web.pages.staff_render import page_locale, render, word
from storage.models import StaffMember

WEEK_CHOICES: Final = (4, 8, 12, 26)
# Parameters of the overview besides the language; anything else is a mistake said back.
OVERVIEW_PARAMS: Final = ("lang", "weeks")


class BadInput(Exception):
    """A request the page cannot answer as asked: ``key`` and ``values`` say why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def bad_request(
    request: web.Request, member: StaffMember, locale: str, message: str
) -> web.Response:
    """The 400 page: what was wrong, and the way back."""
    return render(
        request,
        "dashboard_error.html",
        words=WORDS,
        locale=locale,
        status=400,
        message=message,
        **frame(request, member),
    )


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
    found = await signed_in(request, "supervisor")
    if isinstance(found, web.Response):
        return found
    member = found
    locale = page_locale(request, member.locale)
    try:
        unknown = [k for k in request.query if k not in OVERVIEW_PARAMS]
        if unknown:
            raise BadInput("error.param")
        weeks = _weeks(request)
    except BadInput as bad:
        return bad_request(request, member, locale, word(WORDS, locale, bad.key, **bad.values))
    directory = request.app[API_KEY].directory
    now = request.app[CLOCK_KEY]()
    async with request.app[DB_KEY].unit() as session:
        overview = await dashboard.overview(
            session=session, directory=directory, member=member, locale=locale
        )
        figures = await compliance.weekly(session=session, member=member, now=now, weeks=weeks)

    def w(key: str, **values: object) -> str:
        return word(WORDS, locale, key, **values)

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
        weeks=figures,
        weeks_shown=weeks,
        week_choices=WEEK_CHOICES,
        charts=_charts(figures, w),
        **frame(request, member),
    )


def add_dashboard(app: web.Application) -> None:
    app.router.add_get("/dashboard", overview_page)
