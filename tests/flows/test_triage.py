"""The priority a report's answers imply (flows.triage), rule by rule."""

from __future__ import annotations

import pytest

from flows import triage


@pytest.mark.parametrize(
    ("danger", "concerns", "age", "priority"),
    [
        ("yes", ["out_of_school"], "15-17", "P0"),  # danger now, whatever else
        ("no", ["sexual"], "12-14", "P0"),
        ("no", ["distress"], "15-17", "P0"),
        ("unsure", ["no_carer"], "0-2", "P0"),  # a very young child alone
        ("no", ["no_carer"], "3-5", "P0"),
        ("no", ["no_carer"], "6-11", "P1"),  # older: urgent, not an emergency
        ("no", ["no_carer"], "unknown", "P1"),
        ("no", ["physical"], "6-11", "P1"),
        ("no", ["illness", "out_of_school"], "6-11", "P1"),
        ("no", ["missing"], "12-14", "P1"),
        ("no", ["labour"], "15-17", "P1"),
        ("unsure", ["bullying"], "12-14", "P1"),  # an unsure reporter: not the lowest
        ("no", ["bullying", "out_of_school"], "12-14", "P2"),
        ("no", ["basic_needs"], "6-11", "P2"),
        ("no", [], "unknown", "P2"),
    ],
)
def test_priority_from_answers(danger: str, concerns: list[str], age: str, priority: str) -> None:
    assert triage.derive_priority(in_danger=danger, concerns=concerns, child_age=age) == priority


def test_every_concern_alone_gives_a_priority_and_the_worst_one_wins() -> None:
    for concern in triage.CONCERNS:
        alone = triage.derive_priority(in_danger="no", concerns=[concern], child_age="12-14")
        assert alone in ("P0", "P1", "P2")
        # Adding a P0 concern to anything makes it P0: the worst concern decides.
        assert (
            triage.derive_priority(in_danger="no", concerns=[concern, "sexual"], child_age="12-14")
            == "P0"
        )


def test_vocabularies_hold_what_intake_offers() -> None:
    assert set(triage.REPORTER_ROLES) >= triage.MANDATORY_REPORTERS
    assert "unknown" in triage.AGE_BANDS and "unknown" in triage.SEXES
    assert len(set(triage.CONCERNS)) == len(triage.CONCERNS)
    assert set(triage.DANGER) == {"yes", "no", "unsure"}
