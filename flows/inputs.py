"""What a channel hands us, made safe to keep: no control characters, no lone surrogates.

PostgreSQL cannot store U+0000 in a text column at all, and a lone surrogate (U+D800–U+DFFF,
which a JSON ``\\ud800`` escape produces) cannot be encoded as UTF-8 for either database: a
story containing one would fail its report on every retry. Neither is anything a person
meant to type, so both are removed at the channel edge, before anything is kept or echoed.
"""

from __future__ import annotations

import re
from typing import Final

# C0 controls except tab (U+0009) and newline (U+000A), DEL, and every surrogate code point
# (a str decoded from JSON holds a surrogate only when it is unpaired).
_UNSAFE: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` without control characters (newline and tab stay) or lone surrogates.

    A carriage return becomes a newline rather than vanishing, so lines sent as CR or CRLF
    do not run together.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub("", text)


def clean_optional(text: str | None) -> str | None:
    return None if text is None else clean_text(text)
