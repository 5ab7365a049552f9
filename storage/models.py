"""SQLModel tables. The schema is made only by the Alembic migrations in ``migrations/``.

Times are time-zone aware and stored in UTC (SQLModel's ``UTCDateTime``); they are shown in
Asia/Shanghai only when rendered for people.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Table, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

# A person's free text (a story, a note, a reason, a comment): the one limit told to them.
TEXT_MAX = 2000
# An event's note: such a text plus a short label.
NOTE_MAX = TEXT_MAX + 100
# A channel's file id (Telegram's are well under 100 characters).
FILE_REF_MAX = 256
# A person's display name as the channel gives it (Telegram: first and last name, 64 each).
NAME_MAX = 128
# What the administrator calls an API token ("Guangzhou hotline CRM").
TOKEN_LABEL_MAX = 64
# A station's phone as an operator writes it ("020-8765 4321", "+86 20 8765 4321").
STATION_PHONE_MAX = 32
# A policy answer's id in the operators' file (flows.faq_file): it travels in button data.
FAQ_KEY_MAX = 24


class Division(SQLModel, table=True):
    """One row of the administrative directory: city, county, township or village.

    东莞 and 中山 have no county level: their townships hang directly off the city row.
    """

    __tablename__ = "division"

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=64)
    level: str = Field(max_length=8, index=True)  # city | county | township | village
    parent_code: str | None = Field(default=None, max_length=12, index=True)


class Station(SQLModel, table=True):
    """A township child-protection workstation (未成年人保护工作站), one per township."""

    __tablename__ = "station"

    code: str = Field(primary_key=True, max_length=12)  # the township's code
    name: str = Field(max_length=128)
    county_code: str = Field(max_length=12, index=True)
    city_code: str = Field(max_length=12, index=True)
    active: bool = True
    # Where a worried parent can call the station (`hutong station phone`); none until an
    # operator sets it: the bundled directory has no phone numbers.
    phone: str | None = Field(default=None, max_length=STATION_PHONE_MAX)


class Conversation(SQLModel, table=True):
    """Dialogue state of one chat on one channel; the single source of truth for intake."""

    __tablename__ = "conversation"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_conversation_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    step: str = Field(max_length=32)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    locale: str = Field(default="zh", max_length=8)
    # Bumped on every change; buttons carry it so a stale or doubled press is recognised.
    version: int = 0
    # Counts reports filed from this chat; part of the ticket's idempotency key.
    report_seq: int = 0
    updated_at: datetime
    # Inbound rate limit (flows.flood): a token bucket refilled over time, and until when
    # the chat's messages are recorded but not answered.
    flood_tokens: float | None = None
    flood_at: datetime | None = None
    muted_until: datetime | None = None


class InboxUpdate(SQLModel, table=True):
    """Every update received from a channel, recorded before it is acknowledged upstream."""

    __tablename__ = "inbox_update"
    __table_args__ = (UniqueConstraint("channel", "update_id", name="uq_inbox_update"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    update_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    chat_key: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)  # pending|done|failed
    attempts: int = 0
    error: str | None = Field(default=None, max_length=500)
    received_at: datetime
    processed_at: datetime | None = None
    # The payload was emptied after processing (what a person typed is not kept).
    scrubbed: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class Ticket(SQLModel, table=True):
    """A report, routed to one owner: a township station or a county/city triage queue."""

    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_open_due", "state", "next_due_at"),
        # The deadline sweep's one query: what is due, earliest first.
        Index("ix_ticket_next_due", "next_due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True)
    # channel:chat:report_seq; makes a doubled final confirmation create one ticket.
    intake_key: str = Field(max_length=128, unique=True)
    state: str = Field(max_length=16)
    priority: str = Field(max_length=2)
    in_danger: str = Field(max_length=8)  # yes | no | unsure
    reporter_role: str = Field(max_length=24)
    mandatory_reporter: bool = False
    # Where: the most precise place known, and the owner it resolved to.
    place_code: str | None = Field(default=None, max_length=12)
    place_text: str | None = Field(default=None, max_length=200)
    owner_code: str = Field(max_length=12, index=True)
    owner_level: str = Field(max_length=8)  # township | county | city
    station_code: str | None = Field(default=None, max_length=12, index=True)
    county_code: str | None = Field(default=None, max_length=12, index=True)
    city_code: str = Field(max_length=12, index=True)
    child_age: str = Field(max_length=8)
    child_sex: str = Field(max_length=8)
    concerns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    story: str = Field(max_length=TEXT_MAX)
    # Words in the reporter's text that raised the alarm (flows.red_flags): a list of
    # {"category": …, "words": […]}; the words are erased with the story, the categories kept.
    red_flags: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default=text("'[]'")),
    )
    locale: str = Field(default="zh", max_length=8)
    # The reporting chat, so the reporter can ask for status and be kept informed.
    reporter_channel: str = Field(max_length=16)
    reporter_chat_id: str = Field(max_length=64, index=True)
    anonymous: bool = True
    created_at: datetime
    dispatched_at: datetime | None = None
    sign_due_at: datetime | None = None
    first_action_due_at: datetime | None = None
    resolve_due_at: datetime | None = None
    # The earliest deadline still to act on; the deadline sweep scans this column.
    next_due_at: datetime | None = None
    # The SLA policy in force at dispatch, frozen so later config edits leave it alone.
    sla: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Working the ticket (issue: staff side).
    assignee_id: int | None = Field(default=None, foreign_key="staff_member.id")
    signed_at: datetime | None = None
    first_action_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = Field(default=None, max_length=24)
    resolution_note: str | None = Field(default=None, max_length=TEXT_MAX)
    feedback: str | None = Field(default=None, max_length=16)
    feedback_due_at: datetime | None = None
    # Days of a request for more time awaiting the county's decision; None when none waits.
    pending_extension_days: int | None = None
    # The sign-for ladder (flows.sla): the next rung to fire, the time rung 1 (L1) is due
    # (rungs above follow one sign-for window apart), and how far it has gone.
    ladder_rung: int = 0
    ladder_base: datetime | None = None
    overdue_level: int = 0  # 0 not overdue; 1 county told; 2 city told
    overdue_since: datetime | None = None
    resolve_overdue_at: datetime | None = None  # 催办 sent for the resolve deadline
    # Personal data (story, notes, contact, reporting chat) erased after retention.
    erased_at: datetime | None = None
    # One child, one ticket (flows.duplicates, flows.merging): an older open ticket of the
    # same station this report may be about (set when it is filed, or when an urgent
    # report's concerns arrive), and the ticket it was merged into (state ``merged``).
    # Both point from the newer report to the older one; a ticket's merged reports are
    # found by ``merged_into_id``.
    duplicate_of_id: int | None = Field(default=None, foreign_key="ticket.id")
    merged_into_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)


class TicketContact(SQLModel, table=True):
    """Reporter contact, kept apart from the ticket so it is read only where it is needed."""

    __tablename__ = "ticket_contact"

    ticket_id: int = Field(primary_key=True, foreign_key="ticket.id")
    phone: str = Field(max_length=32)
    callback_consent: bool = False


class TicketAttachment(SQLModel, table=True):
    __tablename__ = "ticket_attachment"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    kind: str = Field(max_length=16)  # photo
    file_ref: str = Field(max_length=FILE_REF_MAX)  # channel file id, never the bytes


class TicketEvent(SQLModel, table=True):
    """Append-only history of a ticket: who, when, from-state, to-state, note."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime
    actor: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str | None = Field(default=None, max_length=16)
    # A person's text (TEXT_MAX) plus the label some notes carry ("3d: …", "police: …").
    note: str | None = Field(default=None, max_length=NOTE_MAX)


class OutboxMessage(SQLModel, table=True):
    """Something the system must say, written in the transaction of the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=128, unique=True)
    kind: str = Field(max_length=32)  # referral | reminder | escalation | reporter_update | ...
    # Either a concrete chat, or a role target resolved to chats when sent (e.g. a station),
    # or the scope of one of the bot's command lists (flows.commands).
    target_kind: str = Field(max_length=16)  # chat | station | county | city | scope
    target: str = Field(max_length=64)
    channel: str = Field(default="telegram", max_length=16)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    attempts: int = 0
    # A role target (station, county…) is expanded into one row per chat; this is the parent.
    parent_id: int | None = Field(default=None, foreign_key="outbox.id", index=True)
    # For per-chat rows: the message Telegram gave back, so it can be edited later.
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None = None
    error: str | None = Field(default=None, max_length=500)
    # Delivery is retried by age (from creation, or from an operator's retry) until it is
    # too old; when it was given up, and whether its payload was erased after retention.
    requeued_at: datetime | None = None
    failed_at: datetime | None = None
    scrubbed: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class Invite(SQLModel, table=True):
    """A one-time enrolment code issued from the CLI. Only the code's hash is stored."""

    __tablename__ = "invite"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=8)  # member | group
    role: str = Field(max_length=16)  # station | supervisor | operator
    scope_level: str = Field(max_length=8)  # township | county | city | province
    scope_code: str = Field(max_length=12)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by: str | None = Field(default=None, max_length=64)
    cancelled_at: datetime | None = None


class StaffMember(SQLModel, table=True):
    """A Telegram account bound to a role and scope by an invitation; never self-registered."""

    __tablename__ = "staff_member"
    __table_args__ = (Index("ix_staff_scope", "scope_code", "active"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default="telegram", max_length=16)
    user_id: str = Field(max_length=64, index=True)
    chat_id: str = Field(max_length=64)  # private chat with the bot: where we write to them
    display_name: str = Field(max_length=NAME_MAX)
    role: str = Field(max_length=16)  # station | supervisor | operator
    scope_level: str = Field(max_length=8)  # township | county | city | province
    scope_code: str = Field(max_length=12)
    locale: str = Field(default="zh", max_length=8)
    active: bool = True
    invite_id: int | None = Field(default=None, foreign_key="invite.id")
    joined_at: datetime
    left_at: datetime | None = None


class ApiToken(SQLModel, table=True):
    """A bearer token for the REST API, issued to one staff member from the CLI. Only the
    token's SHA-256 is stored: a database dump lets nobody call the API."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff_member.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256, hex
    label: str | None = Field(default=None, max_length=TOKEN_LABEL_MAX)
    created_at: datetime
    # Written at most once a minute (flows.api_tokens), not on every request.
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class WebSession(SQLModel, table=True):
    """A door to the web pages for one staff member: a one-time sign-in ``link`` the bot sent
    (minutes), or the ``session`` it was exchanged for (hours). Only SHA-256 hashes are
    stored, as for API tokens."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256, hex
    kind: str = Field(max_length=8)  # link | session
    staff_id: int = Field(foreign_key="staff_member.id", index=True)
    created_at: datetime
    expires_at: datetime
    # A link: when it was exchanged (once). A session: its last request, written at most
    # once a minute; the idle limit counts from it.
    used_at: datetime | None = None
    ended_at: datetime | None = None  # signed out, or the member left


class StationGroup(SQLModel, table=True):
    """A Telegram group bound to a station: referrals go there too."""

    __tablename__ = "station_group"

    id: int | None = Field(default=None, primary_key=True)
    station_code: str = Field(max_length=12, index=True)
    chat_id: str = Field(max_length=64, index=True)
    active: bool = True
    invite_id: int | None = Field(default=None, foreign_key="invite.id")
    bound_at: datetime
    unbound_at: datetime | None = None


class SendPace(SQLModel, table=True):
    """Telegram's sending limits kept across several sending processes: per key (a chat, or
    ``*`` for the bot as a whole) the generic cell rate algorithm's theoretical arrival time,
    in seconds since the epoch (plain numbers: the arithmetic is done in SQL on both
    databases)."""

    __tablename__ = "send_pace"

    key: str = Field(primary_key=True, max_length=64)
    tat: float


class FaqEntry(SQLModel, table=True):
    """One policy question and its answer (政策咨询), as last imported from the operators'
    TOML file (`hutong faq import`, flows.faq_file); an import replaces them all at once."""

    __tablename__ = "faq_entry"

    key: str = Field(primary_key=True, max_length=FAQ_KEY_MAX)  # the file's ``id``
    position: int  # the entry's place in the file: topics are listed in that order
    # Per locale ("zh" always, "en" when written): question, answer, keywords. Other
    # scripts (zh-Hant) are derived from "zh" when shown, never stored.
    texts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    source_title: str = Field(max_length=200)  # 《title》（document number）
    source_date: date
    source_url: str | None = Field(default=None, max_length=500)
    imported_at: datetime


def table(model: type[SQLModel]) -> Table:
    """A model's Core table, for hot-path statements built once and run without the ORM."""
    return SQLModel.metadata.tables[str(model.__tablename__)]
