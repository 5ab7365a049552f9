"""Button data: what each kind of button carries, built and read back in this one place.

A button's data comes back from the client when it is pressed, and a client can send
anything, so every reader here is strict: known actions only, numbers as
``flows.messages.number_in`` reads them (1–9 ASCII digits), arguments of the shape their
action takes, nothing more; anything else reads as None.

Each kind opens with a marker that names the kind and the version of its format:

- intake: ``<dialogue version>:<action>:<value>`` — the digits are the marker (format 1).
  A language button is intake data whose version does not matter (``LanguageData``).
- staff: ``w:<action>:<ticket id>[:<argument>]`` (format 1).
- feedback: ``f:<ticket id>:<rating>`` (format 1).

A message keeps its buttons as long as it exists, and referrals already written to the
outbox carry their data too: a changed format gets a new marker (``w2:``, ``f2:``, ``i2:``)
and the reader of the old one stays while its buttons may still be pressed.
Telegram takes at most 64 bytes of data, so nothing longer reads; building data that would
not read back as what built it (too long, a field of the wrong shape) is a programming error
and raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from flows.messages import Button, number_in

DATA_MAX_BYTES: Final = 64  # Telegram's callback_data limit
STAFF: Final = "w"  # marker of staff data, format 1
FEEDBACK: Final = "f"  # marker of feedback data, format 1
_LANGUAGE: Final = "lg"  # the intake action of a language button

# An intake value: a division code, a page, or a word of the dialogue's vocabularies.
_VALUE: Final = re.compile(r"[A-Za-z0-9_-]{0,32}")
_WORD: Final = re.compile(r"[a-z_]{1,24}")
_CODE: Final = re.compile(r"[0-9]{1,12}")  # a division code
_NUMBER: Final = re.compile(r"[0-9]{1,9}")  # as flows.messages.number_in reads it


class IntakeAction(StrEnum):
    """What an intake button answers; its value says with what."""

    MENU = "mn"  # report | status | faq | lang
    RESUME = "rs"  # resume | restart | stop
    DANGER = "dg"
    REPORTER = "rp"
    CITY = "pc"
    COUNTY = "pn"
    PAGE = "pg"  # of the township list
    BACK = "pb"
    PLACE_UNKNOWN = "pu"  # city | county: the reporter knows no more than that
    TOWNSHIP = "pt"
    PICK = "pk"  # one of the places a typed name matched
    AGE = "ag"
    SEX = "sx"
    CONCERN = "cn"  # ticks or unticks one
    CONCERNS_DONE = "cd"
    CONTACT = "ct"  # phone | anon
    CONSENT = "cs"  # yes | no: may the station call back
    SUMMARY = "sm"  # ok | edit | cancel
    EDIT = "ed"  # the answer to change
    ADD = "ad"  # a filed report's code: add to it (flows.additions)
    ADD_DONE = "add"  # nothing more to add
    FAQ = "fq"  # policy questions: t | p<page> | e<entry id> | m (flows.faq_steps)


class StaffAction(StrEnum):
    """What a staff button does to its ticket."""

    SIGN = "sign"
    DETAILS = "det"
    NOTE = "note"
    FIRST = "first"  # asks how the first action was made
    FIRST_HOW = "fa"  # argument: call | visit
    EXTEND = "ext"  # asks for how many days
    EXTEND_DAYS = "exd"  # argument: days
    RESOLVE = "done"  # asks for the outcome
    OUTCOME = "out"  # argument: the outcome
    RETURN = "ret"  # asks why
    RETURN_REASON = "rr"  # argument: the reason
    APPROVE = "exa"  # the extension asked for
    DENY = "exn"
    REDISPATCH = "rd"  # argument: the page of the township picker
    REDISPATCH_TO = "rdt"  # argument: the township's code
    REJECT_RETURN = "rj"
    FILES = "files"  # what the reporter attached, sent to the presser's private chat
    MERGE = "mg"  # argument: the id of the older ticket the report is merged into
    UNMERGE = "um"  # on the merged report


_INTAKE_ACTIONS: Final = frozenset(IntakeAction)
_STAFF_ACTIONS: Final = frozenset(StaffAction)
# The shape of each staff action's argument; the others take none.
_STAFF_ARGUMENTS: Final = {
    StaffAction.FIRST_HOW: _WORD,
    StaffAction.EXTEND_DAYS: _NUMBER,
    StaffAction.OUTCOME: _WORD,
    StaffAction.RETURN_REASON: _WORD,
    StaffAction.REDISPATCH: _NUMBER,
    StaffAction.REDISPATCH_TO: _CODE,
    StaffAction.MERGE: _NUMBER,
}


@dataclass(frozen=True, slots=True)
class IntakeData:
    """An intake button, valid only at the dialogue version it was shown at."""

    version: int
    action: IntakeAction
    value: str = ""

    def encode(self) -> str:
        return _checked(self, f"{self.version}:{self.action}:{self.value}")


@dataclass(frozen=True, slots=True)
class LanguageData:
    """A language button: it works from any message, old or new."""

    version: int
    locale: str

    def encode(self) -> str:
        return _checked(self, f"{self.version}:{_LANGUAGE}:{self.locale}")


@dataclass(frozen=True, slots=True)
class StaffData:
    """A staff button on one ticket; who may press it is checked by ``flows.work``."""

    action: StaffAction
    ticket_id: int
    argument: str = ""

    def encode(self) -> str:
        tail = f":{self.argument}" if self.action in _STAFF_ARGUMENTS else ""
        return _checked(self, f"{STAFF}:{self.action}:{self.ticket_id}{tail}")


@dataclass(frozen=True, slots=True)
class FeedbackData:
    """The reporter's rating of a resolved ticket."""

    ticket_id: int
    rating: str

    def encode(self) -> str:
        return _checked(self, f"{FEEDBACK}:{self.ticket_id}:{self.rating}")


CallbackData = IntakeData | LanguageData | StaffData | FeedbackData


def parse(data: str) -> CallbackData | None:
    """What a button's data says, or None when it is not data this version builds."""
    if len(data.encode("utf-8", "surrogatepass")) > DATA_MAX_BYTES:
        return None  # never from Telegram: forged
    marker, sep, rest = data.partition(":")
    if not sep:
        return None
    if marker == STAFF:
        return _staff(rest)
    if marker == FEEDBACK:
        return _feedback(rest)
    version = number_in(marker)
    return _intake(version, rest) if version is not None else None


def is_staff(data: str) -> bool:
    """Staff data, well formed or not: the staff side answers it (a forged one: refused)."""
    return data.startswith(STAFF + ":")


def is_feedback(data: str) -> bool:
    """Feedback data, well formed or not: the feedback side answers it."""
    return data.startswith(FEEDBACK + ":")


def parse_intake(data: str) -> IntakeData | LanguageData | None:
    found = parse(data)
    return found if isinstance(found, IntakeData | LanguageData) else None


def parse_staff(data: str) -> StaffData | None:
    found = parse(data)
    return found if isinstance(found, StaffData) else None


def parse_feedback(data: str) -> FeedbackData | None:
    found = parse(data)
    return found if isinstance(found, FeedbackData) else None


def _intake(version: int, rest: str) -> IntakeData | LanguageData | None:
    action, sep, value = rest.partition(":")
    if not sep or not _VALUE.fullmatch(value):
        return None
    if action == _LANGUAGE:
        return LanguageData(version, value)
    if action not in _INTAKE_ACTIONS:
        return None
    return IntakeData(version, IntakeAction(action), value)


def _staff(rest: str) -> StaffData | None:
    parts = rest.split(":")
    if not 2 <= len(parts) <= 3 or parts[0] not in _STAFF_ACTIONS:
        return None
    action = StaffAction(parts[0])
    ticket_id = number_in(parts[1])
    if ticket_id is None:
        return None
    shape = _STAFF_ARGUMENTS.get(action)
    if shape is None:
        return StaffData(action, ticket_id) if len(parts) == 2 else None
    if len(parts) != 3 or not shape.fullmatch(parts[2]):
        return None
    return StaffData(action, ticket_id, parts[2])


def _feedback(rest: str) -> FeedbackData | None:
    parts = rest.split(":")
    if len(parts) != 2 or not _WORD.fullmatch(parts[1]):
        return None
    ticket_id = number_in(parts[0])
    return FeedbackData(ticket_id, parts[1]) if ticket_id is not None else None


def _checked(built: CallbackData, data: str) -> str:
    if parse(data) != built:
        raise ValueError(f"button data that would not read back: {type(built).__name__}")
    return data


def staff_button(label: str, action: StaffAction, ticket_id: int, argument: str = "") -> Button:
    return Button(label, StaffData(action, ticket_id, argument).encode())
