"""The ``web_session`` table: sign-in links and sessions of the web pages, by their hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import StaffMember, WebSession


async def insert(
    session: AsyncSession,
    *,
    kind: str,
    staff_id: int,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
) -> WebSession:
    row = WebSession(
        kind=kind, staff_id=staff_id, token_hash=token_hash, created_at=now, expires_at=expires_at
    )
    session.add(row)
    await session.flush()
    return row


async def take_link(session: AsyncSession, *, token_hash: str, now: datetime) -> int | None:
    """Mark the live link with this hash used and give its holder's id; None when there is
    no such link, or it has expired, or it was used (by another request, even at the same
    moment: the conditional update lets one win)."""
    staff_id = (
        await session.exec(
            select(WebSession.staff_id).where(
                col(WebSession.token_hash) == token_hash,
                col(WebSession.kind) == "link",
            )
        )
    ).first()
    if staff_id is None:
        return None
    done = await session.exec(
        update(WebSession)
        .where(
            col(WebSession.token_hash) == token_hash,
            col(WebSession.used_at).is_(None),
            col(WebSession.ended_at).is_(None),
            col(WebSession.expires_at) > now,
        )
        .values(used_at=now)
    )
    return staff_id if done.rowcount else None


async def live_session(
    session: AsyncSession, *, token_hash: str, now: datetime, idle_since: datetime
) -> tuple[WebSession, StaffMember] | None:
    """The session with this hash and its holder, if neither it has ended nor expired nor
    been idle since ``idle_since``, and the holder is still enrolled."""
    found = (
        await session.exec(
            select(WebSession, StaffMember)
            .join(StaffMember, col(StaffMember.id) == col(WebSession.staff_id))
            .where(
                col(WebSession.token_hash) == token_hash,
                col(WebSession.kind) == "session",
                col(WebSession.ended_at).is_(None),
                col(WebSession.expires_at) > now,
                or_(col(WebSession.used_at).is_(None), col(WebSession.used_at) > idle_since),
                col(StaffMember.active).is_(True),
                col(StaffMember.left_at).is_(None),
            )
        )
    ).first()
    return None if found is None else (found[0], found[1])


async def touch(session: AsyncSession, *, row_id: int, now: datetime, before: datetime) -> None:
    """Note a session's use unless noted after ``before``: one write a minute, not one a
    request."""
    await session.exec(
        update(WebSession)
        .where(
            col(WebSession.id) == row_id,
            or_(col(WebSession.used_at).is_(None), col(WebSession.used_at) <= before),
        )
        .values(used_at=now)
    )


async def end(session: AsyncSession, *, token_hash: str, now: datetime) -> bool:
    done = await session.exec(
        update(WebSession)
        .where(col(WebSession.token_hash) == token_hash, col(WebSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    return bool(done.rowcount)


async def end_all(session: AsyncSession, *, staff_id: int, now: datetime) -> int:
    done = await session.exec(
        update(WebSession)
        .where(col(WebSession.staff_id) == staff_id, col(WebSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    return int(done.rowcount)


async def purge(session: AsyncSession, *, before: datetime) -> int:
    """Forget links and sessions that expired or ended before ``before``."""
    done = await session.exec(
        delete(WebSession).where(
            or_(col(WebSession.expires_at) < before, col(WebSession.ended_at) < before)
        )
    )
    return int(done.rowcount)
