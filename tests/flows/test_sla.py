"""The SLA policy: the defaults, a TOML file overriding them, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.sla import (
    DEFAULT_POLICY,
    LEVEL1,
    LEVEL2,
    REMINDER,
    Frozen,
    PolicyError,
    freeze,
    load_policy,
    rung_time,
)


def test_defaults_are_designs_table() -> None:
    p = DEFAULT_POLICY
    assert (p.P0.sign, p.P0.first_action, p.P0.resolve) == (15, 120, 1440)
    assert (p.P1.sign, p.P1.first_action, p.P1.resolve) == (120, 1440, 4320)
    assert (p.P2.sign, p.P2.first_action, p.P2.resolve) == (1440, 4320, 10080)
    assert (p.reminder_fraction, p.repeat_limit) == (0.5, 3)
    assert load_policy(None) is DEFAULT_POLICY


def test_toml_overrides_what_it_names(tmp_path: Path) -> None:
    f = tmp_path / "sla.toml"
    f.write_text("repeat_limit = 1\n[P0]\nsign = 10\nfirst_action = 60\nresolve = 720\n")
    p = load_policy(f)
    assert (p.P0.sign, p.repeat_limit, p.name) == (10, 1, "sla.toml")
    assert p.P1 == DEFAULT_POLICY.P1


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[P0\nsign = 1", "not valid TOML"),
        ("[P0]\nsign = -5\nfirst_action = 60\nresolve = 720", "P0.sign"),
        ("[P0]\nsign = 90\nfirst_action = 60\nresolve = 720", "sign <= first_action"),
        ("reminder_fraction = 1.5", "reminder_fraction"),
        ("typo = 1", "typo"),
    ],
)
def test_bad_files_are_one_clear_line(tmp_path: Path, content: str, fragment: str) -> None:
    f = tmp_path / "sla.toml"
    f.write_text(content)
    with pytest.raises(PolicyError) as info:
        load_policy(f)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")


def test_frozen_policy_round_trips_and_old_tickets_get_defaults() -> None:
    frozen = freeze(DEFAULT_POLICY, "P1")
    assert Frozen.from_json(frozen.as_json(), priority="P1") == frozen
    assert Frozen.from_json({}, priority="P0") == freeze(DEFAULT_POLICY, "P0")


def test_ladder_times() -> None:
    frozen = freeze(DEFAULT_POLICY, "P0")
    start = datetime(2026, 11, 23, tzinfo=UTC)
    base = start + timedelta(minutes=15)
    at = [rung_time(frozen, r, start=start, base=base) for r in range(7)]
    assert at[REMINDER] == start + timedelta(minutes=7.5)
    assert at[LEVEL1] == base and at[LEVEL2] == base + timedelta(minutes=15)
    assert at[3:6] == [base + timedelta(minutes=15 * k) for k in (2, 3, 4)]
    assert at[6] is None


def test_the_example_file_states_the_defaults() -> None:
    example = Path(__file__).resolve().parents[2] / "sla.example.toml"
    policy = load_policy(example)
    assert policy.model_dump(exclude={"name"}) == DEFAULT_POLICY.model_dump(exclude={"name"})
