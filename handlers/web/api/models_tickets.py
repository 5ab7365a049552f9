"""The REST API's ticket bodies, for station staff and supervisors: a list's page, a ticket
in full, and the actions (a union told apart by ``action``). Like ``models.py`` they
validate what comes in and are the source of the OpenAPI document.

The vocabularies are the bot's (``flows/states.py``); the limits on words are the bot's too
(``flows.ticket_actions``: stripped, 2 to ``TEXT_MAX`` characters). Types are strict: a
number sent as a string, a boolean as a number, is refused, not guessed at.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from flows import ticket_actions as acts
from flows.sla import PRIORITIES
from flows.states import EXTENSION_DAYS, OUTCOMES, RETURN_REASONS
from flows.ticket_detail import ContactView, TicketDetail
from flows.ticket_queries import LISTED_STATES, TicketPage, TicketRow
from handlers.web.api.models import one_of, storable
from storage.models import TEXT_MAX

ACTION_NAMES = tuple(a.NAME for a in acts.ACTIONS)


def _days(value: int) -> int:
    if value not in EXTENSION_DAYS:
        raise ValueError(f"must be one of: {', '.join(map(str, EXTENSION_DAYS))}")
    return value


# A person's words on a ticket: stripped first, then counted, as the bot counts them.
Words = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=acts.TEXT_MIN, max_length=TEXT_MAX),
    AfterValidator(storable),
]
Days = Annotated[
    int,
    AfterValidator(_days),
    WithJsonSchema({"type": "integer", "enum": list(EXTENSION_DAYS)}),
]
if TYPE_CHECKING:
    State: TypeAlias = str
    Priority: TypeAlias = str
    Outcome: TypeAlias = str
    ReturnReason: TypeAlias = str
    ActionName: TypeAlias = str
else:
    State = one_of(LISTED_STATES, "The ticket's state.")
    Priority = one_of(PRIORITIES, "P0 (most urgent), P1 or P2.")
    Outcome = one_of(OUTCOMES, "How the case was resolved.")
    ReturnReason = one_of(RETURN_REASONS, "Why the station gives the ticket back.")
    ActionName = one_of(ACTION_NAMES, "An action the caller may take now.")


class TicketItemOut(BaseModel):
    """A ticket in a list: where it stands, nothing about the child or the reporter."""

    code: str
    state: State
    priority: Priority
    station: str | None = Field(description="The township's code; null in a county's queue.")
    owner: str = Field(description="The station's name, or the county's or city's queue.")
    county: str | None
    city: str
    channel: str = Field(description="How the report came in: telegram, web, api, a phone line.")
    created_at: datetime
    next_due_at: datetime | None = Field(description="The next deadline that runs.")
    overdue_level: int = Field(description="0; 1: the county was told; 2: the city was.")
    overdue: bool = Field(description="Past a deadline, as the bot's /overdue counts it.")
    signed_at: datetime | None
    resolved_at: datetime | None


class TicketPageOut(BaseModel):
    items: list[TicketItemOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: last.")


class TicketStateOut(TicketItemOut):
    """A ticket's state and deadlines, and what the caller may do to it now."""

    sign_due_at: datetime | None
    first_action_due_at: datetime | None
    resolve_due_at: datetime | None
    pending_extension_days: int | None = Field(description="Days asked for, awaiting decision.")
    actions: list[ActionName]


class HistoryEntryOut(BaseModel):
    at: datetime
    actor: Literal["staff", "reporter", "system", "administrator", "other"]
    by_you: bool
    kind: str = Field(description="What happened: signed, note, viewed, contact_viewed, …")
    from_state: str | None
    to_state: str | None
    note: str | None


class ContactOut(BaseModel):
    status: Literal["shown", "hidden", "anonymous", "erased"] = Field(
        description="shown to the ticket's supervisors and, once signed for, its station;"
        " every time it is shown is recorded on the ticket."
    )
    phone: str | None = None
    callback_consent: bool | None = None


class RedFlagOut(BaseModel):
    category: str = Field(
        description="self_harm, sexual_abuse, severe_injury, young_alone, confined,"
        " trafficking, violence or abandonment."
    )
    words: list[str] = Field(description="The reporter's words that raised it; empty once erased.")


class MergedReportOut(BaseModel):
    """A report merged into this ticket (about the same child): its facts, and its
    reporter's contact under this ticket's rule."""

    code: str
    created_at: datetime
    reporter_role: str
    child_age: str
    child_sex: str
    concerns: list[str]
    story: str | None = Field(description="null once erased after the retention period.")
    files: int = Field(description="How many files its reporter attached.")
    contact: ContactOut


class TicketDetailOut(TicketStateOut):
    """A ticket in full, as the bot's details show it, with its history."""

    in_danger: str
    reporter_role: str
    mandatory_reporter: bool
    place_code: str | None
    place: str | None
    place_text: str | None
    child_age: str
    child_sex: str
    concerns: list[str]
    story: str | None = Field(description="null once erased after the retention period.")
    red_flags: list[RedFlagOut] = Field(
        description="Words in what the reporter wrote that raised the alarm (and the priority)."
    )
    first_action_at: datetime | None
    outcome: str | None
    resolution_note: str | None
    erased_at: datetime | None
    contact: ContactOut
    history: list[HistoryEntryOut]
    duplicate_of: str | None = Field(
        description="An older open ticket of the same station this report may duplicate"
        " (the same child): the action merge joins it."
    )
    merged_into: str | None = Field(description="The ticket this report was merged into.")
    merged_reports: list[MergedReportOut]


def _contact_out(contact: ContactView) -> ContactOut:
    return ContactOut(
        status=contact.status, phone=contact.phone, callback_consent=contact.callback_consent
    )


def _fields(row: TicketRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in TicketItemOut.model_fields}


def _state_fields(state: acts.TicketState) -> dict[str, Any]:
    return {
        **_fields(state.row),
        "sign_due_at": state.sign_due_at,
        "first_action_due_at": state.first_action_due_at,
        "resolve_due_at": state.resolve_due_at,
        "pending_extension_days": state.pending_extension_days,
        "actions": list(state.actions),
    }


def page_out(page: TicketPage) -> TicketPageOut:
    return TicketPageOut(
        items=[TicketItemOut(**_fields(r)) for r in page.items], next_cursor=page.next_cursor
    )


def state_out(state: acts.TicketState) -> TicketStateOut:
    return TicketStateOut(**_state_fields(state))


def detail_out(detail: TicketDetail) -> TicketDetailOut:
    built = ("contact", "history", "merged_reports", "red_flags")
    facts = {
        name: getattr(detail, name)
        for name in TicketDetailOut.model_fields
        if name not in TicketStateOut.model_fields and name not in built
    }
    return TicketDetailOut(
        **_state_fields(detail.state),
        **facts,
        contact=_contact_out(detail.contact),
        merged_reports=[
            MergedReportOut(
                code=r.code,
                created_at=r.created_at,
                reporter_role=r.reporter_role,
                child_age=r.child_age,
                child_sex=r.child_sex,
                concerns=list(r.concerns),
                story=r.story,
                files=r.files,
                contact=_contact_out(r.contact),
            )
            for r in detail.merged_reports
        ],
        red_flags=[RedFlagOut(category=f.category, words=list(f.words)) for f in detail.red_flags],
        history=[
            HistoryEntryOut(
                at=e.at,
                actor=e.actor,
                by_you=e.by_you,
                kind=e.kind,
                from_state=e.from_state,
                to_state=e.to_state,
                note=e.note,
            )
            for e in detail.history
        ],
    )


# ---- actions --------------------------------------------------------------------------


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SignIn(_Action):
    """签收: the station takes the case on (station staff)."""

    action: Literal["sign"]

    def flow(self) -> acts.Action:
        return acts.Sign()


class NoteIn(_Action):
    """A note on the case's progress (station staff)."""

    action: Literal["note"]
    text: Words

    def flow(self) -> acts.Action:
        return acts.AddNote(self.text)


class FirstActionIn(_Action):
    """The first call or visit was made (station staff)."""

    action: Literal["first_action"]
    how: Literal["call", "visit"]

    def flow(self) -> acts.Action:
        return acts.FirstAction(self.how)


class RequestExtensionIn(_Action):
    """More days to resolve, for a supervisor to decide (station staff)."""

    action: Literal["request_extension"]
    days: Days
    reason: Words

    def flow(self) -> acts.Action:
        return acts.RequestExtension(self.days, self.reason)


class DecideExtensionIn(_Action):
    """Approve or deny the waiting request for more time (supervisors)."""

    action: Literal["decide_extension"]
    approve: bool

    def flow(self) -> acts.Action:
        return acts.DecideExtension(self.approve)


class ResolveIn(_Action):
    """办结, with the outcome and what was done (station staff)."""

    action: Literal["resolve"]
    outcome: Outcome
    note: Words

    def flow(self) -> acts.Action:
        return acts.Resolve(self.outcome, self.note)


class ReturnIn(_Action):
    """退单 (station staff): ``text`` is required with the reason ``other``, and only then."""

    action: Literal["return"]
    reason: ReturnReason
    text: Annotated[
        Words | None,
        WithJsonSchema({"type": "string", "minLength": acts.TEXT_MIN, "maxLength": TEXT_MAX}),
    ] = None

    @model_validator(mode="after")
    def _text_with_other(self) -> ReturnIn:
        if (self.reason == "other") != (self.text is not None):
            raise ValueError("text is required with the reason other, and only with it")
        return self

    def flow(self) -> acts.Action:
        return acts.Return(self.reason, self.text)


class RejectReturnIn(_Action):
    """The station keeps the ticket it returned (supervisors)."""

    action: Literal["reject_return"]

    def flow(self) -> acts.Action:
        return acts.RejectReturn()


class ReassignIn(_Action):
    """Route the ticket to a township's station in the supervisor's area (supervisors)."""

    action: Literal["reassign"]
    station: str = Field(pattern=r"^[0-9]{12}$", description="The township's code.")

    def flow(self) -> acts.Action:
        return acts.Reassign(self.station)


class MergeIn(_Action):
    """合并: this report into the older ticket it may duplicate (``duplicate_of``), whose
    deadlines then carry the case (station staff, supervisors). ``into``, when given, must
    name that ticket."""

    action: Literal["merge"]
    into: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,16}$")

    def flow(self) -> acts.Action:
        return acts.Merge(self.into)


class UnmergeIn(_Action):
    """撤销合并: the merged report is worked on its own again (supervisors)."""

    action: Literal["unmerge"]

    def flow(self) -> acts.Action:
        return acts.Unmerge()


class ActionIn(
    RootModel[
        Annotated[
            SignIn
            | NoteIn
            | FirstActionIn
            | RequestExtensionIn
            | DecideExtensionIn
            | ResolveIn
            | ReturnIn
            | RejectReturnIn
            | ReassignIn
            | MergeIn
            | UnmergeIn,
            Field(discriminator="action"),
        ]
    ]
):
    """One action on a ticket, named by ``action``."""

    def flow(self) -> acts.Action:
        return self.root.flow()
