"""The answer vocabularies of intake and the priority they imply."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from flows.red_flags import Flag, raised

DANGER: Final = ("yes", "no", "unsure")
REPORTER_ROLES: Final = (
    "child",
    "guardian",
    "relative",
    "neighbour",
    "teacher",
    "medical",
    "committee",
    "other",
)
# Schools, hospitals and village/community committees must report (强制报告制度).
MANDATORY_REPORTERS: Final = frozenset({"teacher", "medical", "committee"})
AGE_BANDS: Final = ("0-2", "3-5", "6-11", "12-14", "15-17", "unknown")
SEXES: Final = ("f", "m", "unknown")
CONCERNS: Final = (
    "no_carer",
    "physical",
    "sexual",
    "bullying",
    "basic_needs",
    "illness",
    "disability",
    "out_of_school",
    "distress",
    "missing",
    "labour",
    "other",
)

# P0 = danger now, self-harm risk, sexual violence, child alone and at risk.
_P0_CONCERNS: Final = frozenset({"sexual", "distress"})
# A very young child with no carer is "alone and at risk" even if the reporter is unsure.
_YOUNG: Final = frozenset({"0-2", "3-5"})
# P1 = no carer, injury, illness without care; missing children and forced labour
# are at least as urgent as an injury.
_P1_CONCERNS: Final = frozenset({"no_carer", "physical", "illness", "missing", "labour"})


def derive_priority(
    *, in_danger: str, concerns: list[str], child_age: str, flags: Iterable[Flag] = ()
) -> str:
    """P0/P1/P2 from the intake answers, raised (never lowered) by the red flags in what
    the reporter wrote (``flows.red_flags``); triage may change it later."""
    return raised(_by_answers(in_danger, concerns, child_age), flags)


def _by_answers(in_danger: str, concerns: list[str], child_age: str) -> str:
    chosen = set(concerns)
    if in_danger == "yes" or chosen & _P0_CONCERNS:
        return "P0"
    if "no_carer" in chosen and child_age in _YOUNG:
        return "P0"
    if chosen & _P1_CONCERNS or in_danger == "unsure":
        return "P1"
    return "P2"


def newly_urgent(answers: dict[str, Any]) -> bool:
    """The answers make the report P0 (sexual harm, self-harm risk, a small child alone)
    though "in danger now" was not answered yes: the reporter hears to call 110/120, once
    (``_advised`` is remembered in the answers)."""
    if answers.get("danger") == "yes" or answers.get("_advised") or not answers.get("concerns"):
        return False
    priority = derive_priority(
        in_danger=answers.get("danger", ""),
        concerns=answers["concerns"],
        child_age=answers.get("age", ""),
    )
    if priority != "P0":
        return False
    answers["_advised"] = True
    return True
