"""Bar charts drawn on the server as SVG: no script, no library, nothing fetched from
elsewhere (the pages' CSP allows neither). Every text in a chart is escaped here; the chart
names itself (``<title>``), says what it shows (``<desc>``) and writes each bar's figure
beside it, so a screen reader, a printout and a colour-blind reader all get the numbers.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

HEIGHT: Final = 220
TOP: Final = 24  # room for the figures above the bars
BOTTOM: Final = 40  # room for the bars' labels
LEFT: Final = 56  # room for the axis' name and labels
RIGHT: Final = 12
SLOT: Final = 46  # one bar and the gap after it
BAR: Final = 28
FILL: Final = "#0958d9"
MISSING: Final = "#bfbfbf"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # under the bar (a week: "W49")
    value: float | None  # None: nothing to measure (drawn as a dash, no bar)
    figure: str  # over the bar ("83%", "—")
    detail: str = ""  # the bar's tooltip and accessible name ("5 / 6 on time")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _said(bar: Bar) -> str:
    return f"{bar.label}: {bar.figure}" + (f" ({bar.detail})" if bar.detail else "")


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def scale_top(values: Sequence[float | None], *, percent: bool) -> float:
    """The axis' top: 100 for percentages; else a round number at or above the largest."""
    if percent:
        return 100.0
    largest = max((v for v in values if v is not None), default=0.0)
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if largest <= step * 4:
            return float(step * 4)
    return float(largest)


def bar_chart(
    *, key: str, title: str, description: str, bars: Sequence[Bar], percent: bool, axis: str
) -> Markup:
    """An SVG bar chart of ``bars``, left to right, with a y axis named ``axis``; ``key``
    tells the page's charts apart (their title's and description's ids). A screen reader
    reads the title, then the description followed by every bar's figure."""
    top = scale_top([b.value for b in bars], percent=percent)
    width = LEFT + SLOT * max(len(bars), 1) + RIGHT
    plot = HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + plot * (1 - min(max(value / top, 0.0), 1.0))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}"'
        f' height="{HEIGHT}" viewBox="0 0 {width} {HEIGHT}" aria-labelledby="{_e(key)}-t"'
        f' aria-describedby="{_e(key)}-d">',
        f'<title id="{_e(key)}-t">{_e(title)}</title>',
        f'<desc id="{_e(key)}-d">{_e(description)} {_e("; ".join(_said(b) for b in bars))}</desc>',
    ]
    for i in range(5):  # the grid: 0, ¼, ½, ¾ and the top
        value = top * i / 4
        line = _number(y(value))
        label = f"{_number(value)}{'%' if percent else ''}"
        parts.append(
            f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{line}" y2="{line}" stroke="#e5e5e5"/>'
            f'<text x="{LEFT - 6}" y="{line}" dy="4" text-anchor="end" font-size="11"'
            f' fill="#595959">{_e(label)}</text>'
        )
    parts.append(
        f'<text x="14" y="{TOP + plot / 2:.0f}" font-size="11" fill="#595959"'
        f' text-anchor="middle" transform="rotate(-90 14 {TOP + plot / 2:.0f})">{_e(axis)}</text>'
    )
    for i, bar in enumerate(bars):
        left = LEFT + SLOT * i + (SLOT - BAR) / 2
        middle = _number(left + BAR / 2)
        parts.append(f"<g><title>{_e(_said(bar))}</title>")
        if bar.value is None:
            at = float(TOP + plot)
        else:
            at = y(bar.value)
            height = _number(TOP + plot - at)
            parts.append(
                f'<rect x="{_number(left)}" y="{_number(at)}" width="{BAR}" height="{height}"'
                f' fill="{FILL}"/>'
            )
        colour = "#1a1a1a" if bar.value is not None else MISSING
        parts.append(
            f'<text x="{middle}" y="{_number(at - 6)}" text-anchor="middle" font-size="12"'
            f' fill="{colour}">{_e(bar.figure)}</text>'
            f'<text x="{middle}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle"'
            f' font-size="11" fill="#595959">{_e(bar.label)}</text></g>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{TOP + plot}" y2="{TOP + plot}"'
        ' stroke="#8c8c8c"/></svg>'
    )
    return Markup("".join(parts))
