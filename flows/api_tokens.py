"""Bearer tokens for the REST API: issued to one staff member from the CLI, shown once,
stored only as their SHA-256, checked on every request, revoked one by one or all at once
when their holder leaves.

Nothing here writes a token or a name to the log: a use is logged by the token's id.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import tokens
from storage.models import TOKEN_LABEL_MAX, ApiToken, StaffMember

log = logging.getLogger(__name__)

PREFIX: Final = "hutong_"
# 32 random bytes: guessing one is out of reach, so a plain hash (no salt, no stretching)
# is enough at rest, and it can be looked up by an index.
TOKEN_BYTES: Final = 32
# A token longer than this is not ours; it is not even hashed.
TOKEN_MAX: Final = 200
# last_used_at is written at most this often: a busy client does not write on every request.
TOUCH_EVERY: Final = timedelta(minutes=1)


class TokenError(Exception):
    """Why a token could not be issued or revoked; ``key`` names the message to show."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an API request acts for: the token's holder, their role and scope as enrolled."""

    token_id: int
    staff_id: int
    role: str  # station | supervisor | operator
    scope_level: str  # township | county | city | province
    scope_code: str
    locale: str


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One token as listed: never its hash."""

    id: int
    staff_id: int
    role: str
    scope_level: str
    scope_code: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    *, session: AsyncSession, staff_id: int, label: str | None, now: datetime
) -> tuple[ApiToken, str]:
    """A new token for an enrolled staff member: the row, and the token itself, which is
    shown this once and never stored."""
    label = (label or "").strip() or None
    if label is not None and len(label) > TOKEN_LABEL_MAX:
        raise TokenError("token.label_too_long", max=str(TOKEN_LABEL_MAX))
    if label is not None and not label.isprintable():
        raise TokenError("token.label_unprintable")  # one line in a listing, no escapes
    member = await session.get(StaffMember, staff_id)
    if member is None:
        raise TokenError("token.unknown_staff", staff_id=str(staff_id))
    if not member.active or member.left_at is not None:
        raise TokenError("token.inactive_staff", staff_id=str(staff_id))
    plaintext = PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    row = await tokens.insert(
        session, staff_id=staff_id, token_hash=token_hash(plaintext), label=label, now=now
    )
    log.info("api token %s created", row.id)
    return row, plaintext


async def authenticate(*, session: AsyncSession, token: str, now: datetime) -> Principal | None:
    """The principal a bearer token stands for; None when it is unknown, revoked, or its
    holder has left.

    Constant-time by construction: the database compares the token's SHA-256, never the
    token, so how long a lookup takes says nothing about how close a guess was."""
    if not token or len(token) > TOKEN_MAX:
        return None
    found = await tokens.usable_by_hash(session, token_hash(token))
    if found is None:
        return None
    row, member = found
    assert row.id is not None and member.id is not None
    if row.last_used_at is None or row.last_used_at <= now - TOUCH_EVERY:
        await tokens.touch(session, token_id=row.id, now=now, before=now - TOUCH_EVERY)
    log.info("api token %s used", row.id)
    return Principal(
        token_id=row.id,
        staff_id=member.id,
        role=member.role,
        scope_level=member.scope_level,
        scope_code=member.scope_code,
        locale=member.locale,
    )


async def list_tokens(*, session: AsyncSession, staff_id: int | None = None) -> list[TokenInfo]:
    """Every token (of one staff member, or of all), revoked ones too, oldest first."""
    rows: Sequence[tuple[ApiToken, StaffMember]] = await tokens.listing(session, staff_id=staff_id)
    return [
        TokenInfo(
            id=row.id or 0,
            staff_id=row.staff_id,
            role=member.role,
            scope_level=member.scope_level,
            scope_code=member.scope_code,
            label=row.label,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )
        for row, member in rows
    ]


async def revoke_token(*, session: AsyncSession, token_id: int, now: datetime) -> ApiToken:
    """Revoke one token: the next request with it is refused."""
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise TokenError("revoke.unknown", token_id=str(token_id))
    if row.revoked_at is not None or not await tokens.revoke(session, token_id=token_id, now=now):
        raise TokenError("revoke.already", token_id=str(token_id))
    await session.refresh(row)
    log.info("api token %s revoked", token_id)
    return row


async def revoke_all(*, session: AsyncSession, staff_id: int, now: datetime) -> int:
    """Revoke every live token of a staff member who leaves."""
    return await tokens.revoke_all(session, staff_id=staff_id, now=now)
