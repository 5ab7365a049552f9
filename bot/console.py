"""Plain-text tables for console commands."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from flows.tickets import local_time

# Control characters (a terminal escape in an error from upstream) and line breaks: a cell
# stays one line and cannot drive the operator's terminal.
_UNPRINTABLE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
CELL_MAX: Final = 120


def cell(value: object) -> str:
    """One table cell: '—' for nothing, times in Asia/Shanghai, text on one short line."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return local_time(value)
    text = _UNPRINTABLE.sub(" ", str(value)).strip()
    return text if len(text) <= CELL_MAX else text[: CELL_MAX - 1] + "…"


def _width(text: str) -> int:
    """Terminal columns: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell, so they line up in a terminal."""
    cells = [list(header), *([cell(v) for v in row] for row in rows)]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(header))]
    lines = [
        "  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths, strict=True)) for r in cells
    ]
    return "\n".join(line.rstrip() for line in lines)
