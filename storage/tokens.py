"""The ``api_token`` table: bearer tokens for the REST API, looked up by their hash."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ApiToken, StaffMember


async def insert(
    session: AsyncSession, *, staff_id: int, token_hash: str, label: str | None, now: datetime
) -> ApiToken:
    row = ApiToken(staff_id=staff_id, token_hash=token_hash, label=label, created_at=now)
    session.add(row)
    await session.flush()
    return row


async def usable_by_hash(
    session: AsyncSession, token_hash: str
) -> tuple[ApiToken, StaffMember] | None:
    """The token with this hash and its holder, if it is not revoked and the holder is still
    enrolled; one indexed read."""
    found = (
        await session.exec(
            select(ApiToken, StaffMember)
            .join(StaffMember, col(StaffMember.id) == col(ApiToken.staff_id))
            .where(
                col(ApiToken.token_hash) == token_hash,
                col(ApiToken.revoked_at).is_(None),
                col(StaffMember.active).is_(True),
                col(StaffMember.left_at).is_(None),
            )
        )
    ).first()
    return None if found is None else (found[0], found[1])


async def touch(session: AsyncSession, *, token_id: int, now: datetime, before: datetime) -> bool:
    """Set ``last_used_at`` to ``now`` unless it is already later than ``before``. Conditional,
    so of many requests in the same minute, across processes, one writes."""
    done = await session.exec(
        update(ApiToken)
        .where(
            col(ApiToken.id) == token_id,
            or_(col(ApiToken.last_used_at).is_(None), col(ApiToken.last_used_at) <= before),
        )
        .values(last_used_at=now)
    )
    return bool(done.rowcount)


async def listing(
    session: AsyncSession, *, staff_id: int | None = None
) -> Sequence[tuple[ApiToken, StaffMember]]:
    query = (
        select(ApiToken, StaffMember)
        .join(StaffMember, col(StaffMember.id) == col(ApiToken.staff_id))
        .order_by(col(ApiToken.id))
    )
    if staff_id is not None:
        query = query.where(col(ApiToken.staff_id) == staff_id)
    return [(t, m) for t, m in (await session.exec(query)).all()]


async def revoke(session: AsyncSession, *, token_id: int, now: datetime) -> bool:
    """Revoke one token; False when it was revoked already (or meanwhile)."""
    done = await session.exec(
        update(ApiToken)
        .where(col(ApiToken.id) == token_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return bool(done.rowcount)


async def revoke_all(session: AsyncSession, *, staff_id: int, now: datetime) -> int:
    """Revoke every live token of one staff member (they left or were revoked)."""
    done = await session.exec(
        update(ApiToken)
        .where(col(ApiToken.staff_id) == staff_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(done.rowcount)
