"""Signing in to the web pages (the supervisors' dashboard, the operators' console).

The bot is the key: an enrolled member asks it (``/dashboard``, ``/console``) and gets a
link that works once, for minutes. Opening the link shows a page with a button; pressing it
exchanges the link for a session cookie. The exchange is a POST on purpose: Telegram and
mail scanners fetch links to preview them, and a GET that signed in would spend the link on
the previewer. A member with an API token may sign in with it instead.

A session lasts hours, ends sooner when idle, and ends at once when its holder leaves or
signs out. Only hashes are stored; nothing here logs a token or a name.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlmodel.ext.asyncio.session import AsyncSession

from flows.api_tokens import Principal
from storage import web_sessions
from storage.models import StaffMember

log = logging.getLogger(__name__)

LINK_TTL: Final = timedelta(minutes=10)
SESSION_TTL: Final = timedelta(hours=12)  # a shift
IDLE_TTL: Final = timedelta(hours=1)
TOUCH_EVERY: Final = timedelta(minutes=1)
# What each role may open on the web; station staff work their tickets in the bot.
PAGES: Final = {"supervisor": "/dashboard", "operator": "/console"}
TOKEN_BYTES: Final = 32
TOKEN_MAX: Final = 200  # longer is not ours: not even hashed


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: the cookie's value (shown once) and the page its holder goes to."""

    token: str
    staff_id: int
    home: str


async def issue_link(*, session: AsyncSession, member: StaffMember, now: datetime) -> str:
    """A one-time sign-in token for an enrolled supervisor or operator."""
    assert member.id is not None and member.role in PAGES
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await web_sessions.insert(
        session,
        kind="link",
        staff_id=member.id,
        token_hash=_hash(token),
        now=now,
        expires_at=now + LINK_TTL,
    )
    log.info("sign-in link issued to staff %s", member.id)
    return token


async def _open(
    session: AsyncSession, *, member: StaffMember, now: datetime, how: str
) -> SignedIn | None:
    if member.id is None or not member.active or member.role not in PAGES:
        return None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = await web_sessions.insert(
        session,
        kind="session",
        staff_id=member.id,
        token_hash=_hash(token),
        now=now,
        expires_at=now + SESSION_TTL,
    )
    row.used_at = now  # the idle limit counts from here
    log.info("web session %s opened for staff %s (%s)", row.id, member.id, how)
    return SignedIn(token, member.id, PAGES[member.role])


async def redeem_link(*, session: AsyncSession, token: str, now: datetime) -> SignedIn | None:
    """Exchange a sign-in link for a session; None when the link is unknown, expired, used,
    or its holder has left or no longer has a web page."""
    if not token or len(token) > TOKEN_MAX:
        return None
    staff_id = await web_sessions.take_link(session, token_hash=_hash(token), now=now)
    if staff_id is None:
        return None
    member = await session.get(StaffMember, staff_id)
    if member is None or member.left_at is not None:
        return None
    return await _open(session, member=member, now=now, how="link")


async def open_with_token(
    *, session: AsyncSession, principal: Principal, now: datetime
) -> SignedIn | None:
    """A session for the holder of an API token (already authenticated)."""
    member = await session.get(StaffMember, principal.staff_id)
    if member is None or member.left_at is not None:
        return None
    return await _open(session, member=member, now=now, how=f"api token {principal.token_id}")


async def current(*, session: AsyncSession, token: str, now: datetime) -> StaffMember | None:
    """The member whose live session this cookie is, or None."""
    if not token or len(token) > TOKEN_MAX:
        return None
    found = await web_sessions.live_session(
        session, token_hash=_hash(token), now=now, idle_since=now - IDLE_TTL
    )
    if found is None:
        return None
    row, member = found
    if member.role not in PAGES:
        return None
    assert row.id is not None
    await web_sessions.touch(session, row_id=row.id, now=now, before=now - TOUCH_EVERY)
    return member


async def sign_out(*, session: AsyncSession, token: str, now: datetime) -> bool:
    if not token or len(token) > TOKEN_MAX:
        return False
    return await web_sessions.end(session, token_hash=_hash(token), now=now)


async def end_all(*, session: AsyncSession, staff_id: int, now: datetime) -> int:
    """Every link and session of a member who left: their pages close with the bot."""
    return await web_sessions.end_all(session, staff_id=staff_id, now=now)


async def forget(*, session: AsyncSession, now: datetime) -> int:
    """Rows of links and sessions over for a day: nothing left to check them against."""
    return await web_sessions.purge(session, before=now - timedelta(days=1))
