"""Filing a report as a ticket: routing, priority, deadlines, history and the referral."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import alarms, duplicates
from flows.attachments import parse_entry
from flows.places import Directory
from flows.red_flags import from_json
from flows.sla import Frozen, Policy, deadlines, freeze, start_ladder
from flows.states import State
from flows.texts import duration, local_name, phrase, t, voiced
from flows.triage import MANDATORY_REPORTERS, derive_priority
from storage.models import (
    OutboxMessage,
    Station,
    Ticket,
    TicketAttachment,
    TicketContact,
    TicketEvent,
)
from storage.outbox import enqueue

# No 0/O, 1/I/L: codes are read aloud over the phone and typed from paper.
CODE_ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH: Final = 8  # 31**8 ≈ 8.5e11: not guessable by trying
SHANGHAI: Final = ZoneInfo("Asia/Shanghai")


def new_ticket_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True, slots=True)
class Route:
    """Who owns a ticket: a township station, or a county/city triage queue."""

    owner_code: str
    owner_level: str  # township | county | city
    station_code: str | None
    county_code: str | None
    city_code: str


def route(directory: Directory, place_code: str) -> Route:
    """The owner for a place: its township's station, else the county's or city's queue."""
    city = directory.city_of(place_code)
    if city is None:
        raise ValueError(f"unknown place {place_code}")
    county = directory.county_of(place_code)
    township = directory.township_of(place_code)
    county_code = county.code if county else None
    if township is not None:
        return Route(township.code, "township", township.code, county_code, city.code)
    if county is not None:
        return Route(county.code, "county", None, county.code, city.code)
    return Route(city.code, "city", None, None, city.code)


@dataclass(frozen=True, slots=True)
class Receipt:
    code: str
    ticket_id: int
    priority: str
    owner_name: str
    triage: bool
    sign_minutes: float
    first_action_minutes: float
    # Whether this call filed the ticket (False: the intake key had filed it before).
    new: bool = False
    # The categories of the red flags the reporter's words raised (flows.red_flags).
    red_flags: tuple[str, ...] = ()


async def file_report(
    *,
    session: AsyncSession,
    directory: Directory,
    answers: dict[str, Any],
    channel: str,
    chat_id: str,
    intake_key: str,
    locale: str,
    now: datetime,
    policy: Policy,
    actor: str = "citizen",
) -> Receipt:
    """Create, route and dispatch the ticket under ``policy``; idempotent on ``intake_key``.
    ``actor`` is who filed it in the ticket's history (a hotline operator: ``staff:ID``)."""
    existing = (
        await session.exec(select(Ticket).where(col(Ticket.intake_key) == intake_key))
    ).first()
    if existing is not None:
        return await _receipt(session, directory, existing, locale)

    r = route(directory, answers["place"])
    # An urgent report is filed as soon as its place is known: what is not answered yet is
    # "unknown" (or empty) until the reporter adds it.
    concerns = list(answers.get("concerns", []))
    age, sex = answers.get("age", "unknown"), answers.get("sex", "unknown")
    by_answers = derive_priority(in_danger=answers["danger"], concerns=concerns, child_age=age)
    flags = alarms.flags_of(answers)  # the reporter's words may raise it, never lower it
    priority = derive_priority(
        in_danger=answers["danger"], concerns=concerns, child_age=age, flags=flags
    )
    frozen = freeze(policy, priority)
    triage = r.owner_level != "township"
    ticket = Ticket(
        code=await _unused_code(session),
        intake_key=intake_key,
        state=State.TRIAGE if triage else State.DISPATCHED,
        priority=priority,
        in_danger=answers["danger"],
        reporter_role=answers["reporter"],
        mandatory_reporter=answers["reporter"] in MANDATORY_REPORTERS,
        place_code=answers["place"],
        place_text=answers.get("place_text"),
        owner_code=r.owner_code,
        owner_level=r.owner_level,
        station_code=r.station_code,
        county_code=r.county_code,
        city_code=r.city_code,
        child_age=age,
        child_sex=sex,
        concerns=concerns,
        story=answers.get("story", ""),
        locale=locale,
        reporter_channel=channel,
        reporter_chat_id=chat_id,
        anonymous=not answers.get("phone"),
        created_at=now,
        sla=frozen.as_json(),
    )
    due = deadlines(frozen, start=now)
    ticket.first_action_due_at = due.first_action
    ticket.resolve_due_at = due.resolve
    start_ladder(ticket, now=now)
    session.add(ticket)
    await session.flush()
    assert ticket.id is not None
    if answers.get("phone"):
        session.add(
            TicketContact(
                ticket_id=ticket.id,
                phone=answers["phone"],
                callback_consent=bool(answers.get("callback")),
            )
        )
    for value in answers.get("photos", []):
        kind, ref = parse_entry(value)
        session.add(TicketAttachment(ticket_id=ticket.id, kind=kind, file_ref=ref))
    session.add(
        TicketEvent(
            ticket_id=ticket.id, at=now, actor=actor, kind="submitted", to_state=State.SUBMITTED
        )
    )
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            actor="system",
            kind="triage" if triage else "dispatched",
            from_state=State.SUBMITTED,
            to_state=ticket.state,
            note=f"{r.owner_level} {r.owner_code} {priority}",
        )
    )
    alarms.record(session, ticket, flags, before=by_answers, now=now)
    # Two neighbours reporting one child: the station's referral says so (flows.duplicates).
    await duplicates.flag(session, ticket, now=now)
    # The referral itself is delivered by the outbox sender; written here, in the same
    # transaction, so a crash can never leave a ticket that nobody is told about.
    session.add(
        OutboxMessage(
            dedup_key=f"referral:{ticket.id}:{r.owner_code}",
            kind="referral",
            target_kind="station" if not triage else r.owner_level,
            target=r.owner_code,
            ticket_id=ticket.id,
            payload={"code": ticket.code, "priority": priority},
            next_attempt_at=now,
            created_at=now,
        )
    )
    return replace(await _receipt(session, directory, ticket, locale), new=True)


async def owner_name(
    session: AsyncSession, directory: Directory, ticket: Ticket, locale: str
) -> str:
    """The station's name, or the county's/city's minor protection centre for a queue."""
    owner = await owner_phrase(session, directory, ticket)
    name = owner if isinstance(owner, str) else t(locale, owner["t"], **owner["v"])
    return local_name(locale, name)


async def owner_phrase(
    session: AsyncSession, directory: Directory, ticket: Ticket
) -> str | dict[str, Any]:
    """The owner for a notice read in several languages: a station's name (a proper name,
    the same in every language), or a queue's, rendered per reader (``flows.texts.phrase``)."""
    station = await session.get(Station, ticket.station_code) if ticket.station_code else None
    return owner_words(directory, ticket, station.name if station else None)


def owner_words(
    directory: Directory, ticket: Ticket, station_name: str | None
) -> str | dict[str, Any]:
    """``owner_phrase`` when the station's name is already known (None: no station)."""
    if station_name is not None:
        return station_name
    place = directory.get(ticket.owner_code)
    return phrase(f"queue.{ticket.owner_level}", name=place.name if place else ticket.owner_code)


async def _unused_code(session: AsyncSession) -> str:
    while True:
        code = new_ticket_code()
        taken = await session.exec(select(Ticket.id).where(col(Ticket.code) == code))
        if taken.first() is None:
            return code


async def _receipt(
    session: AsyncSession, directory: Directory, ticket: Ticket, locale: str
) -> Receipt:
    frozen = Frozen.from_json(ticket.sla, priority=ticket.priority)
    assert ticket.id is not None
    return Receipt(
        code=ticket.code,
        ticket_id=ticket.id,
        priority=ticket.priority,
        owner_name=await owner_name(session, directory, ticket, locale),
        triage=ticket.owner_level != "township",
        sign_minutes=frozen.sign,
        first_action_minutes=frozen.first_action,
        red_flags=tuple(f.category for f in from_json(ticket.red_flags)),
    )


def to_reporter(ticket: Ticket, key: str) -> str:
    """The key of a message to ``ticket``'s reporter: in the second person when the reporter
    is the child the report is about."""
    return voiced(key, child=ticket.reporter_role == "child")


def receipt_text(locale: str, receipt: Receipt, *, child: bool = False) -> str:
    """What the reporter is told once the report is filed; ``child``: in the second person,
    to the child the report is about."""
    key = "submitted.triage" if receipt.triage else "submitted"
    return t(
        locale,
        voiced(key, child=child),
        code=receipt.code,
        station=receipt.owner_name,
        window=duration(locale, receipt.sign_minutes),
        action_window=duration(locale, receipt.first_action_minutes),
    )


def urgent_receipt_text(locale: str, receipt: Receipt, *, child: bool = False) -> str:
    """The receipt of a report filed at its place because the child is in danger now: what
    was sent, and what was not yet and is asked next."""
    key = "submitted.urgent.triage" if receipt.triage else "submitted.urgent"
    text = t(
        locale,
        voiced(key, child=child),
        code=receipt.code,
        station=receipt.owner_name,
        window=duration(locale, receipt.sign_minutes),
    )
    return text + "\n\n" + t(locale, voiced("submitted.urgent.more", child=child))


async def add_to_report(
    *,
    session: AsyncSession,
    directory: Directory,
    ticket_id: int,
    fields: tuple[str, ...],
    answers: dict[str, Any],
    now: datetime,
    policy: Policy,
) -> None:
    """Answers given after an urgent report was filed go onto its ticket, and whoever owns
    it (the station, or the county's queue) is told what was added. Words added are
    screened for red flags as a new report's are (``flows.alarms.add_flags``)."""
    ticket = await session.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)
    if ticket is None or ticket.id is None:
        return
    for field in fields:
        if field == "age":
            ticket.child_age = answers["age"]
        elif field == "sex":
            ticket.child_sex = answers["sex"]
        elif field == "concerns":
            ticket.concerns = list(answers["concerns"])
        elif field == "story":
            ticket.story = answers["story"]
        elif field == "photos":
            kept = (
                await session.exec(
                    select(TicketAttachment.file_ref).where(
                        col(TicketAttachment.ticket_id) == ticket.id
                    )
                )
            ).all()
            for value in answers.get("photos", []):
                kind, ref = parse_entry(value)
                if ref not in kept:
                    session.add(TicketAttachment(ticket_id=ticket.id, kind=kind, file_ref=ref))
        elif field == "contact" and answers.get("phone"):
            contact = await session.get(TicketContact, ticket.id)
            if contact is None:
                contact = TicketContact(ticket_id=ticket.id, phone=answers["phone"])
            contact.phone = answers["phone"]
            contact.callback_consent = bool(answers.get("callback"))
            session.add(contact)
            ticket.anonymous = False
    session.add(
        TicketEvent(
            ticket_id=ticket.id, at=now, actor="citizen", kind="addition", note=",".join(fields)
        )
    )
    words = [str(answers.get(name) or "") for name in alarms.FREE_TEXT if name in fields]
    await alarms.add_flags(session, ticket, words, policy=policy, now=now)
    session.add(ticket)
    if {"age", "sex", "concerns"} & set(fields):
        # Filed before its concerns were known, an urgent report could match nothing then;
        # the 补充信息 message below shows what is found now.
        await duplicates.flag(session, ticket, now=now)
    owner = (
        ("station", ticket.owner_code)
        if ticket.owner_level == "township"
        else (ticket.owner_level, ticket.owner_code)
    )
    # Rendered per reader when expanded (flows.notices), from the ticket as it is then.
    await enqueue(
        session,
        dedup_key=f"addition:{ticket.id}:{'+'.join(fields)}:{now.isoformat()}",
        kind="addition",
        now=now,
        payload={"fields": list(fields)},
        role_target=owner,
        ticket_id=ticket.id,
    )


def local_time(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


async def status_text(
    *,
    session: AsyncSession,
    directory: Directory,
    channel: str,
    chat_id: str,
    code: str | None,
    locale: str,
) -> str:
    """The status of one report, or a list of this chat's reports.

    Only reports filed from this chat are shown, and an unknown code gets the same answer
    as another chat's code, so codes cannot be probed.
    """
    mine = select(Ticket).where(
        col(Ticket.reporter_channel) == channel, col(Ticket.reporter_chat_id) == chat_id
    )
    if code is None:
        rows = (await session.exec(mine.order_by(col(Ticket.created_at).desc()).limit(10))).all()
        if not rows:
            return t(locale, "status.list_empty")
        lines = [t(locale, "status.list")]
        lines += [
            t(
                locale,
                "status.line",
                code=x.code,
                created=local_time(x.created_at),
                state=t(locale, f"progress.{x.state}"),
            )
            for x in rows
        ]
        return "\n".join(lines)
    ticket = (await session.exec(mine.where(col(Ticket.code) == code.upper()))).first()
    if ticket is None:
        return t(locale, "status.none", code=code)
    receipt = await _receipt(session, directory, ticket, locale)
    text = t(
        locale,
        "status.detail",
        code=ticket.code,
        created=local_time(ticket.created_at),
        station=receipt.owner_name,
        state=t(locale, f"progress.{ticket.state}"),
    )
    if ticket.state == State.MERGED:  # handled together: how the case it joined stands
        case = await duplicates.case_of(session, ticket)
        text += "\n" + t(locale, "status.together", state=t(locale, f"progress.{case.state}"))
    return text


async def locked_ticket(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The ticket re-read with its row locked until the transaction ends.

    A change decided on the ticket's state must not interleave with the sweep's (which
    locks what it claims) or another person's: on PostgreSQL the second waits here and then
    sees the first's result. SQLite has one writer at a time and ignores FOR UPDATE.
    """
    return await session.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)


def supervisors_of(ticket: Ticket) -> tuple[str, str]:
    """The role target that supervises a ticket: its county, or the city where there is no
    county level (东莞, 中山)."""
    if ticket.county_code and ticket.county_code != ticket.city_code:
        return ("county", ticket.county_code)
    return ("city", ticket.city_code)
