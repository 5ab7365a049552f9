"""The REST API's request and response bodies. They validate what comes in and are the
source of ``/api/v1/openapi.json``: the document cannot drift from what is enforced.

The answer vocabularies are ``flows/triage.py``'s, the same the bot's buttons offer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from flows.dialogue import normalise_phone
from flows.place_steps import PLACE_TEXT_MAX
from flows.submission import CHANNELS, Report, ResolvedPlace
from flows.texts import LOCALES
from flows.triage import AGE_BANDS, CONCERNS, DANGER, REPORTER_ROLES, SEXES
from storage.models import TEXT_MAX

CODE_MAX = 12  # a division's NBS code


def one_of(values: Sequence[str], description: str) -> Any:
    """A string from a fixed vocabulary, shown in the schema as an enum."""
    allowed = tuple(values)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of: {', '.join(allowed)}")
        return value

    return Annotated[
        str,
        AfterValidator(check),
        WithJsonSchema({"type": "string", "enum": list(allowed), "description": description}),
    ]


def storable(value: str) -> str:
    """A NUL or a lone surrogate: PostgreSQL cannot store it, and no person typed it."""
    if any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("contains characters that are not text (NUL or a lone surrogate)")
    return value


def _phone(value: str) -> str:
    phone = normalise_phone(value)
    if phone is None:
        raise ValueError("not a phone number: 7 to 15 digits, an optional leading +")
    return phone


if TYPE_CHECKING:  # for the type checker, each is a str; at run time a checked one
    Channel: TypeAlias = str
    Danger: TypeAlias = str
    ReporterRole: TypeAlias = str
    AgeBand: TypeAlias = str
    Sex: TypeAlias = str
    Concern: TypeAlias = str
    Locale: TypeAlias = str
else:
    Channel = one_of(CHANNELS, "How the report came in: a hotline, the web form, the API.")
    Danger = one_of(DANGER, "Is the child in danger right now?")
    ReporterRole = one_of(REPORTER_ROLES, "Who is reporting (child: the child themself).")
    AgeBand = one_of(AGE_BANDS, "The child's age, in years.")
    Sex = one_of(SEXES, "The child's sex.")
    Concern = one_of(CONCERNS, "What is happening to the child.")
    Locale = one_of(LOCALES, "Language of the answer's texts.")

Phone = Annotated[str, Field(max_length=32), AfterValidator(_phone)]
Text = Annotated[str, AfterValidator(storable)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlaceIn(_Strict):
    """Where the child is: a division code (city, county, township or village), or the
    words the caller used, resolved by the same matcher as the bot's. One of the two."""

    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["code"]}, {"required": ["text"]}]}
    )

    # Optional, but not null: the schema says a string when present.
    code: Annotated[str | None, WithJsonSchema({"type": "string", "pattern": "^[0-9]{12}$"})] = (
        Field(default=None, pattern=r"^[0-9]{12}$", max_length=CODE_MAX)
    )
    text: Annotated[
        Text | None,
        WithJsonSchema({"type": "string", "minLength": 2, "maxLength": PLACE_TEXT_MAX}),
    ] = Field(default=None, min_length=2, max_length=PLACE_TEXT_MAX)

    @model_validator(mode="after")
    def _code_or_text(self) -> PlaceIn:
        if self.code is None and self.text is None:
            raise ValueError("give the place's code or its name as text")
        return self


class ReportIn(_Strict):
    """A whole report. Only ``danger``, ``reporter`` and ``place`` are required: an urgent
    call is filed with what is known."""

    channel: Channel = "api"
    danger: Danger
    reporter: ReporterRole
    place: PlaceIn
    age: AgeBand = "unknown"
    sex: Sex = "unknown"
    concerns: list[Concern] = Field(default_factory=list, max_length=len(CONCERNS))
    story: Text = Field(default="", max_length=TEXT_MAX, description="What is happening.")
    phone: Phone | None = Field(
        default=None,
        description="The reporter's number, for the station only; omit to stay anonymous.",
    )
    callback: bool = Field(default=False, description="The reporter agrees to be called back.")
    locale: Locale = "zh"

    def report(self, place: ResolvedPlace) -> Report:
        """The report to file, once its place is resolved (the web form and the API alike)."""
        return Report(
            channel=self.channel,
            danger=self.danger,
            reporter=self.reporter,
            place=place,
            story=self.story,
            age=self.age,
            sex=self.sex,
            concerns=list(self.concerns),
            phone=self.phone,
            callback=self.callback,
        )


class ReceiptOut(BaseModel):
    code: str = Field(description="The ticket's code: give it to the reporter.")
    priority: str = Field(description="P0 (most urgent), P1 or P2.")
    owner: str = Field(description="The station, or the county's or city's queue.")
    triage: bool = Field(description="True when a county or city must first route it.")
    sign_minutes: float = Field(description="Minutes the station has to sign for it.")
    first_action_minutes: float
    status_url: str
    red_flags: list[str] = Field(
        default_factory=list,
        description="Categories of words in the story that raised the alarm (and the"
        " priority): self_harm, sexual_abuse, severe_injury, young_alone, confined,"
        " trafficking, violence, abandonment. When any, tell the reporter at once to call"
        " 110 (police), 120 (ambulance) or 12355 (youth helpline).",
    )


class StatusOut(BaseModel):
    code: str
    state: str = Field(description="The ticket's state (dispatched, acknowledged, …).")
    station: str


class CandidateOut(BaseModel):
    code: str
    name: str
    level: str


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the message in Chinese and English."""

    type: str
    title: str
    status: int
    detail: str | None = None
    message: dict[str, str] = Field(description="The message by language: zh, en.")
    errors: list[FieldError] | None = None
    candidates: list[CandidateOut] | None = None
    retry_after: int | None = None
    state: str | None = Field(
        default=None, description="The ticket's current state, when it forbids the action."
    )
