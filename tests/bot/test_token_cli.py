"""``hutong api-token create|list|revoke`` and ``hutong staff invite`` for hotline operators,
on the test database."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from cli_runner import Run, hutong
from factories import GUANGZHOU, JIEKOU, enrol
from sqlalchemy import text
from sqlmodel import select

from flows.api_tokens import PREFIX, authenticate, token_hash
from flows.clock import system_clock
from flows.staff import PROVINCE_CODE, Scope, _hash, join, leave
from storage.db import Database
from storage.models import ApiToken, Invite, StaffMember

Hutong = Callable[..., Awaitable[Run]]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, db: Database) -> Hutong:
    async def _run(*args: str) -> Run:
        return await hutong(monkeypatch, tmp_path, database_url, *args)

    return _run


def _refused(result: Run, fragment: str) -> None:
    assert result.code == 2, (result.out, result.err)
    assert result.err.startswith("hutong: ") and fragment in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1 and result.out == ""


async def _member(db: Database, *, user: str, scope: Scope) -> StaffMember:
    return await enrol(db, scope=scope, user=user, now=system_clock())


async def test_create_prints_the_token_once_and_stores_its_hash(db: Database, run: Hutong) -> None:
    member = await _member(db, user="9301", scope=Scope("operator", "city", GUANGZHOU))
    result = await run("api-token", "create", "--staff", str(member.id), "--label", "CRM 广州")
    assert result.code == 0, result.err
    token, note = result.out.splitlines()
    assert re.fullmatch(re.escape(PREFIX) + r"[A-Za-z0-9_-]{43}", token)
    assert "cannot be shown again" in note and f"staff member {member.id}" in note
    async with db.unit() as session:
        row = (await session.exec(select(ApiToken))).one()
        principal = await authenticate(session=session, token=token, now=system_clock())
    assert row.token_hash == token_hash(token) and row.label == "CRM 广州"
    assert principal is not None and principal.staff_id == member.id
    assert principal.role == "operator" and principal.scope_code == GUANGZHOU

    listing = await run("api-token", "list")
    assert listing.code == 0 and token not in listing.out and row.token_hash not in listing.out


async def test_list_shows_each_token_without_secrets(db: Database, run: Hutong) -> None:
    station = await _member(db, user="9311", scope=Scope("station", "township", JIEKOU))
    operator = await _member(db, user="9312", scope=Scope("operator", "province", PROVINCE_CODE))
    assert (await run("api-token", "list")).out.strip() == "no API tokens"
    made = []
    for member, label in ((station, "desk"), (operator, None), (operator, "night shift")):
        args = ["api-token", "create", "--staff", str(member.id)]
        result = await run(*args, *(["--label", label] if label else []))
        assert result.code == 0, result.err
        made.append(result.out.splitlines()[0])
    async with db.unit() as session:
        ids = [r.id for r in (await session.exec(select(ApiToken).order_by(ApiToken.id))).all()]
    assert (await run("api-token", "revoke", str(ids[1]))).code == 0

    result = await run("api-token", "list")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "3 API token(s), times Asia/Shanghai"
    assert lines[1].split() == [
        "id",
        "staff",
        "role",
        "scope",
        "label",
        "created",
        "last",
        "used",
        "revoked",
    ]
    assert len(lines) == 5
    first, second, third = lines[2:]
    assert first.split()[:3] == [str(ids[0]), str(station.id), "station"]
    assert "广州市从化区街口街道 (440117001000)" in first and "desk" in first
    assert second.split()[:3] == [str(ids[1]), str(operator.id), "operator"]
    assert "广东省 (440000000000)" in second
    assert second.count("—") == 2  # no label, never used
    assert third.count("—") == 2 and "night shift" in third  # last used, revoked
    for token in made:
        assert token not in result.out and token_hash(token) not in result.out

    mine = await run("api-token", "list", "--staff", str(operator.id))
    assert mine.out.splitlines()[0] == "2 API token(s), times Asia/Shanghai"
    assert str(station.id) not in [line.split()[1] for line in mine.out.splitlines()[2:]]
    assert (await run("api-token", "list", "--staff", "424242")).out.strip() == (
        "no API tokens for staff member 424242"
    )


async def test_revoke_refuses_the_token_and_errors_are_one_line(db: Database, run: Hutong) -> None:
    member = await _member(db, user="9321", scope=Scope("supervisor", "city", GUANGZHOU))
    token = (await run("api-token", "create", "--staff", str(member.id))).out.splitlines()[0]
    async with db.unit() as session:
        token_id = (await session.exec(select(ApiToken.id))).one()
    result = await run("api-token", "revoke", str(token_id))
    assert result.code == 0, result.err
    assert result.out.strip() == (
        f"revoked API token {token_id} (staff member {member.id});"
        " requests with it are refused from now on"
    )
    async with db.unit() as session:
        assert await authenticate(session=session, token=token, now=system_clock()) is None

    left = await _member(db, user="9322", scope=Scope("station", "township", JIEKOU))
    async with db.unit() as session:
        gone = await session.get(StaffMember, left.id)
        assert gone is not None
        await leave(session=session, member=gone, now=system_clock())
    for args, fragment in (
        (("revoke", str(token_id)), f"API token {token_id} is already revoked"),
        (("revoke", "987654"), "no API token has id 987654"),
        (("create", "--staff", "424242"), "no staff member has id 424242"),
        (("create", "--staff", str(left.id)), f"staff member {left.id} has left"),
        (("create", "--staff", str(member.id), "--label", "x" * 65), "at most 64 characters"),
        (("create", "--staff", str(member.id), "--label", "a\x1b[2Jb"), "printable text"),
    ):
        _refused(await run("api-token", *args), fragment)
    async with db.unit() as session:
        assert len((await session.exec(select(ApiToken))).all()) == 1
    # argparse's own refusals: no staff id, a word for an id.
    assert (await run("api-token", "create")).code == 2
    assert (await run("api-token", "revoke", "abc")).code == 2


async def test_the_plaintext_is_nowhere_in_the_database(db: Database, run: Hutong) -> None:
    member = await _member(db, user="9331", scope=Scope("station", "township", JIEKOU))
    token = (await run("api-token", "create", "--staff", str(member.id))).out.splitlines()[0]
    secret = token.removeprefix(PREFIX)
    async with db.unit() as session:
        for table in ("api_token", "staff_member", "invite", "outbox", "ticket_event"):
            rows = (await session.exec(text(f"SELECT * FROM {table}"))).all()  # type: ignore[call-overload]
            assert not any(secret in str(v) for r in rows for v in r), table


async def test_staff_invite_for_hotline_operators(db: Database, run: Hutong) -> None:
    result = await run("staff", "invite", "--province")
    assert result.code == 0, result.err
    code, note, link = result.out.splitlines()
    assert note.startswith("hotline operator for 广东省 (440000000000); send /join ")
    assert link.startswith("no link: ")  # no bot configured here
    city = await run("staff", "invite", "--role", "operator", "--city", GUANGZHOU)
    assert city.code == 0, city.err
    assert "hotline operator for 广州市 (440100000000)" in city.out
    supervisor = await run("staff", "invite", "--city", GUANGZHOU)  # still a supervisor
    assert "supervisor for 广州市 (440100000000)" in supervisor.out
    async with db.unit() as session:
        invites = {
            (i.role, i.scope_level, i.scope_code)
            for i in (await session.exec(select(Invite))).all()
        }
        province = (await session.exec(select(Invite).where(Invite.code_hash == _hash(code)))).one()
    assert invites == {
        ("operator", "province", PROVINCE_CODE),
        ("operator", "city", GUANGZHOU),
        ("supervisor", "city", GUANGZHOU),
    }
    assert province.role == "operator"
    pending = await run("staff", "invites")
    assert "operator" in pending.out and "广东省 (440000000000)" in pending.out

    async with db.unit() as session:
        member = await join(
            session=session,
            code=code,
            channel="telegram",
            user_id="9341",
            chat_id="9341",
            display_name="接线员",
            locale="zh",
            now=system_clock(),
        )
    listed = await run("staff", "list", "--scope", PROVINCE_CODE)
    assert f"{member.id:>5}  operator" in listed.out

    for args, fragment in (
        (("--role", "operator", "--station", JIEKOU), "a hotline operator needs --city or"),
        (("--role", "operator", "--county", "440117000000"), "--city or --province"),
        (("--role", "operator", "--city", "440117000000"), "is not a city code"),
        (("--role", "supervisor", "--province"), "--province is for a hotline operator"),
        (("--province", "--group"), "a group can only be bound to a station"),
    ):
        _refused(await run("staff", "invite", *args), fragment)
    assert (await run("staff", "invite", "--province", "--city", GUANGZHOU)).code == 2  # argparse
