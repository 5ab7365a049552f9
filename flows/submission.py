"""A report that arrives whole — a hotline call, the web form, the REST API — filed by the
same ``file_report`` as the bot's dialogue: the same priority, routing, deadlines and
escalation whatever door it came in by. Only how the place is found differs: typed words go
through the same matcher, and are taken without asking only when every candidate leads to
the same station (or queue) and was found by its characters, not by how it sounds (a
homophone, pinyin: a guess, which the bot too always asks about); otherwise the caller is
shown the candidates to choose from.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.duplicates import case_of
from flows.places import Directory
from flows.sla import Policy
from flows.states import State
from flows.tickets import Receipt, file_report, owner_name, route
from storage.db import Database
from storage.models import Ticket

# Doors other than a chat. The phone lines: 12349 (civil affairs' hotline) and 12355 (the
# Youth League's line for young people).
PHONE_CHANNELS: Final = ("phone_12349", "phone_12355")
CHANNELS: Final = (*PHONE_CHANNELS, "web", "api")
CANDIDATES: Final = 8  # as many as the bot offers for typed words


@dataclass(frozen=True, slots=True)
class Candidate:
    code: str
    name: str  # from the city down: 广州市从化区街口街道
    level: str


class PlaceUnresolved(Exception):
    """The place cannot be settled without the reporter: no such code, nothing matched the
    words, or they match places of different stations, or only sound like a place."""

    def __init__(
        self,
        reason: Literal["unknown_code", "not_found", "ambiguous"],
        candidates: list[Candidate] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.candidates = candidates or []


@dataclass(frozen=True, slots=True)
class ResolvedPlace:
    code: str
    text: str | None  # the words typed, kept for the station as the bot keeps them


def resolve_place(directory: Directory, *, code: str | None, text: str | None) -> ResolvedPlace:
    """A division code (any level: a village routes to its township), or typed words."""
    if code is not None:
        if directory.get(code) is None:
            raise PlaceUnresolved("unknown_code")
        return ResolvedPlace(code, text)
    found = directory.find(text or "", limit=CANDIDATES)
    if not found.places:
        raise PlaceUnresolved("not_found")
    owners = {route(directory, place.code).owner_code for place in found.places}
    if len(owners) == 1 and not found.by_sound:
        return ResolvedPlace(found.places[0].code, text)
    raise PlaceUnresolved(
        "ambiguous",
        [Candidate(p.code, directory.full_name(p.code), p.level) for p in found.places],
    )


@dataclass(slots=True)
class Report:
    """A whole report, already checked against the vocabularies (``flows/triage.py``)."""

    channel: str
    danger: str
    reporter: str
    place: ResolvedPlace
    story: str = ""
    age: str = "unknown"
    sex: str = "unknown"
    concerns: list[str] = field(default_factory=list)
    phone: str | None = None
    callback: bool = False

    def answers(self) -> dict[str, Any]:
        """In the form the bot's dialogue leaves its answers."""
        answers: dict[str, Any] = {
            "danger": self.danger,
            "reporter": self.reporter,
            "place": self.place.code,
            "age": self.age,
            "sex": self.sex,
            "concerns": list(dict.fromkeys(self.concerns)),
            "story": self.story,
        }
        if self.place.text:
            answers["place_text"] = self.place.text
        if self.phone:
            answers["phone"] = self.phone
            answers["callback"] = self.callback
        return answers


async def submit_report(
    *,
    session: AsyncSession,
    directory: Directory,
    policy: Policy,
    report: Report,
    idempotency_key: str | None,
    locale: str,
    now: datetime,
    operator_id: int | None = None,
) -> tuple[Receipt, bool]:
    """File the report; (receipt, True) when this call filed it, (receipt, False) when the
    same idempotency key filed it before (a retried request files one ticket). A call taken
    by a hotline operator (``operator_id``) is theirs in the ticket's history, and their
    keys are theirs alone."""
    if report.channel not in CHANNELS:
        raise ValueError(f"not a channel for whole reports: {report.channel}")
    if report.channel in PHONE_CHANNELS and operator_id is None:
        raise ValueError("a phone call is entered by an operator")
    key = idempotency_key or uuid.uuid4().hex
    by = f"op{operator_id}:" if operator_id is not None else ""
    intake_key = f"{report.channel}:{by}{key}"
    receipt = await file_report(
        session=session,
        directory=directory,
        answers=report.answers(),
        channel=report.channel,
        chat_id="",  # no chat to write back to: the reporter asks by the ticket's code
        intake_key=intake_key,
        locale=locale,
        now=now,
        policy=policy,
        actor=f"staff:{operator_id}" if operator_id is not None else "citizen",
    )
    return receipt, receipt.new


async def submit_once(
    *,
    db: Database,
    directory: Directory,
    policy: Policy,
    report: Report,
    idempotency_key: str | None,
    locale: str,
    now: datetime,
    operator_id: int | None = None,
) -> tuple[Receipt, bool]:
    """``submit_report`` in a transaction of its own. Two requests with one key at the same
    moment both find no ticket and both file; the database keeps one (``intake_key`` is
    unique) and the other, refused, reads it back: a retried request files one ticket even
    when the retry overtakes the first."""
    for attempt in range(2):
        try:
            async with db.unit() as session:
                return await submit_report(
                    session=session,
                    directory=directory,
                    policy=policy,
                    report=report,
                    idempotency_key=idempotency_key,
                    locale=locale,
                    now=now,
                    operator_id=operator_id,
                )
        except IntegrityError:
            if attempt or idempotency_key is None:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class PublicStatus:
    """What anyone holding a ticket's code may learn: its state and its station, nothing
    about the child or the reporter."""

    code: str
    state: str
    station: str
    # A merged report: the state of the ticket it is handled together with.
    together: str | None = None


async def public_status(
    *, session: AsyncSession, directory: Directory, code: str, locale: str
) -> PublicStatus | None:
    ticket = (
        await session.exec(select(Ticket).where(col(Ticket.code) == code.strip().upper()))
    ).first()
    if ticket is None or ticket.erased_at is not None:
        return None
    station = await owner_name(session, directory, ticket, locale)
    together = None
    if ticket.state == State.MERGED:
        together = str((await case_of(session, ticket)).state)
    return PublicStatus(ticket.code, str(ticket.state), station, together)
