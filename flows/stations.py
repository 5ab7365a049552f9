"""What an operator may set on a station: its phone, shown to people the bot points there
(a policy answer, flows.faq). The bundled directory has names and codes but no numbers."""

from __future__ import annotations

import re
from typing import Final

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import STATION_PHONE_MAX, Station

# As people write a phone: digits with spaces, dashes, brackets and a leading +.
_PHONE: Final = re.compile(r"\+?[0-9()\- ]+")
# From a five-digit service number (12345) to an international mobile number.
DIGITS_MIN, DIGITS_MAX = 5, 15


class StationError(Exception):
    """One line for the operator: no such station, or not a phone number."""


def clean_phone(text: str) -> str:
    """The phone as it will be shown (spaces collapsed), or StationError."""
    phone = " ".join(text.split())
    digits = sum(ch.isdigit() for ch in phone)
    if (
        not _PHONE.fullmatch(phone)
        or not DIGITS_MIN <= digits <= DIGITS_MAX
        or len(phone) > STATION_PHONE_MAX
    ):
        raise StationError(
            f"not a phone number: {DIGITS_MIN}–{DIGITS_MAX} digits, with spaces, dashes,"
            " brackets or a leading + (e.g. 020-8765 4321)"
        )
    return phone


async def set_phone(*, session: AsyncSession, code: str, phone: str | None) -> Station:
    """Set (or with None, remove) the station's phone; the station as it now is."""
    station = await session.get(Station, code, with_for_update=True)
    if station is None:
        raise StationError(f"no station {code}: a station's code is its township's 12 digits")
    station.phone = None if phone is None else clean_phone(phone)
    session.add(station)
    return station


async def get(*, session: AsyncSession, code: str) -> Station:
    station = await session.get(Station, code)
    if station is None:
        raise StationError(f"no station {code}: a station's code is its township's 12 digits")
    return station
