"""How often one client address may use a public door (the report API, the status lookup,
later the web form), shared by every process: the generic cell rate algorithm of
``storage/pace.py`` under keys of their own. The address is kept only as a hash; the row
goes once the address has been quiet (``forget_idle``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import pace


@dataclass(frozen=True, slots=True)
class Limit:
    name: str  # the door: "report", "status"
    per_hour: float
    burst: int


async def admit(
    *, session: AsyncSession, limit: Limit, address: str, now: datetime
) -> float | None:
    """None when the address may go ahead (the use is counted), else seconds to wait."""
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    at = now.timestamp()
    wait_until = await pace.take(
        session,
        key=f"client:{limit.name}:{digest}",
        now=at,
        interval=3600 / limit.per_hour,
        burst=limit.burst,
    )
    return None if wait_until is None else max(wait_until - at, 0.0)


async def forget_idle(*, session: AsyncSession, now: datetime) -> int:
    """Rows of keys with nothing left to remember (their next slot is already free), the
    clients' and the chats' alike: a key that comes back starts afresh, as it would."""
    return await pace.forget(session, before=now.timestamp())
