"""``hutong staff invites|invite --cancel|groups|unbind-group`` on the test database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from bot_api import FakeBotAPI
from cli_runner import Run, hutong
from factories import invite
from harness import FakeClock
from sqlmodel import col, select

from flows import commands
from flows.clock import system_clock
from flows.events import Command
from flows.staff import EnrolmentError, Scope, _hash, bind_group, join
from storage.db import Database
from storage.models import Invite, StationGroup

JIEKOU, JIANGPU, CONGHUA = "440117001000", "440117002000", "440117000000"


Hutong = Callable[..., Awaitable[Run]]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, db: Database) -> Hutong:
    """``hutong ARGS`` on the test database (after ``db`` emptied it)."""

    async def _run(*args: str) -> Run:
        return await hutong(monkeypatch, tmp_path, database_url, *args)

    return _run


async def _issue(db: Database, scope: Scope, *, kind: str = "member", hours: float = 72) -> str:
    return await invite(db, scope=scope, kind=kind, now=system_clock(), ttl=timedelta(hours=hours))


async def _join(db: Database, code: str, user: str) -> None:
    async with db.unit() as session:
        await join(
            session=session,
            code=code,
            channel="telegram",
            user_id=user,
            chat_id=user,
            display_name="社工",
            locale="zh",
            now=system_clock(),
        )


async def test_invites_lists_pending_codes_without_the_codes(db: Database, run: Hutong) -> None:
    station = await _issue(db, Scope("station", "township", JIEKOU))
    group = await _issue(db, Scope("station", "township", JIANGPU), kind="group")
    county = await _issue(db, Scope("supervisor", "county", CONGHUA))
    used = await _issue(db, Scope("station", "township", JIEKOU))
    expired = await _issue(db, Scope("station", "township", JIEKOU), hours=-1)
    cancelled = await _issue(db, Scope("station", "township", JIEKOU))
    await _join(db, used, "9101")
    assert (await run("staff", "invite", "--cancel", cancelled)).code == 0

    result = await run("staff", "invites")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("3 pending invitation(s)")
    assert lines[1].split() == ["id", "kind", "role", "scope", "created", "expires"]
    body = "\n".join(lines[2:])
    assert len(lines) == 5
    assert "member  station" in body and "group   station" in body
    assert "member  supervisor" in body
    for name, code in ((JIEKOU, "街口街道"), (JIANGPU, "江埔街道"), (CONGHUA, "从化区")):
        assert name in body and code in body
    for code in (station, group, county, used, expired, cancelled):  # never a code
        for shown in (code, code.replace("-", "")):
            assert shown not in result.out
    async with db.unit() as session:
        hashes = (await session.exec(select(Invite.code_hash))).all()
    assert not any(h in result.out for h in hashes)

    for code in (station, group, county):
        assert (await run("staff", "invite", "--cancel", code)).code == 0
    assert (await run("staff", "invites")).out.strip() == "no pending invitations"


async def test_a_cancelled_code_is_refused_by_join_and_errors_are_one_line(
    db: Database,
    run: Hutong,
) -> None:
    code = await _issue(db, Scope("station", "township", JIEKOU))
    group = await _issue(db, Scope("station", "township", JIEKOU), kind="group")
    result = await run("staff", "invite", "--cancel", code.lower().replace("-", " "))
    assert result.code == 0, result.err
    assert "cancelled invitation" in result.out and "街口街道" in result.out
    assert code not in result.out
    assert (await run("staff", "invite", "--cancel", group)).code == 0
    async with db.unit() as session:
        invite = (
            await session.exec(select(Invite).where(col(Invite.code_hash) == _hash(code)))
        ).one()
    assert invite.cancelled_at is not None and invite.used_at is None

    with pytest.raises(EnrolmentError) as refused:
        await _join(db, code, "9201")
    assert refused.value.key == "join.cancelled"
    with pytest.raises(EnrolmentError) as refused:
        async with db.unit() as session:
            await bind_group(
                session=session,
                code=group,
                channel="telegram",
                chat_id="-9200",
                user_id="9201",
                now=system_clock(),
            )
    assert refused.value.key == "join.cancelled"

    used = await _issue(db, Scope("station", "township", JIEKOU))
    await _join(db, used, "9202")
    expired = await _issue(db, Scope("station", "township", JIEKOU), hours=-1)
    for args, fragment in (
        (("--cancel", code), "already cancelled"),
        (("--cancel", used), "already used"),
        (("--cancel", expired), "already expired"),
        (("--cancel", "NOPE-NOPE-NOPE"), "no invitation has that code"),
        (("--cancel", used, "--group"), "--cancel takes no other option"),
        (("--cancel", used, "--hours", "3"), "--cancel takes no other option"),
    ):
        result = await run("staff", "invite", *args)
        assert result.code == 2, args
        assert result.err.startswith("hutong: ") and fragment in result.err, result.err
        assert len(result.err.strip().splitlines()) == 1 and result.out == ""
    # A new code still works as before (the 72 h default).
    result = await run("staff", "invite", "--station", JIEKOU)
    assert result.code == 0 and "valid once" in result.out


async def test_groups_lists_and_unbind_group_unbinds(
    db: Database,
    clock: FakeClock,
    run: Hutong,
) -> None:
    async with db.unit() as session:
        session.add(StationGroup(station_code=JIEKOU, chat_id="-1001234567890", bound_at=clock()))
        session.add(StationGroup(station_code=JIANGPU, chat_id="-555", bound_at=clock()))
        session.add(
            StationGroup(
                station_code=JIANGPU,
                chat_id="-556",
                bound_at=clock(),
                active=False,
                unbound_at=clock(),
            )
        )
    result = await run("staff", "groups")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("2 bound group(s)")
    assert lines[1].split() == ["id", "chat", "id", "station", "bound", "since"]
    assert "-1001234567890" in lines[2] and JIEKOU in lines[2] and "街口街道" in lines[2]
    assert "-555" in lines[3] and "江埔街道" in lines[3]
    assert "2026-11-23 10:00" in lines[2]  # bound since, in Asia/Shanghai
    assert "-556" not in result.out

    result = await run("staff", "unbind-group", "-1001234567890")  # a negative id parses
    assert result.code == 0, result.err
    assert "unbound group -1001234567890" in result.out and "街口街道" in result.out
    async with db.unit() as session:
        group = (
            await session.exec(
                select(StationGroup).where(col(StationGroup.chat_id) == "-1001234567890")
            )
        ).one()
    assert group.active is False and group.unbound_at is not None

    for chat in ("-1001234567890", "-556", "12345"):  # unbound already; never bound
        result = await run("staff", "unbind-group", chat)
        assert result.code == 2
        assert (
            result.err
            == f"hutong: no group with chat id {chat} is bound (see `hutong staff groups`)\n"
        )
    result = await run("staff", "groups")
    assert result.out.splitlines()[0].startswith("1 bound group(s)")
    await run("staff", "unbind-group", "-555")
    assert (await run("staff", "groups")).out.strip() == "no groups are bound to a station"


async def test_messages_still_waiting_for_an_unbound_group_are_not_sent_there(
    db: Database, clock: FakeClock, run: Hutong
) -> None:
    from flows.outbox import payload_of
    from storage.models import OutboxMessage
    from storage.outbox import enqueue

    async with db.unit() as session:
        session.add(StationGroup(station_code=JIEKOU, chat_id="-777", bound_at=clock()))
        parent = await enqueue(  # a notice for the station, copied to its group and member
            session,
            dedup_key="notice",
            kind="return_rejected",
            now=clock(),
            payload=payload_of("a notice about a case"),
            role_target=("station", JIEKOU),
        )
        for chat in ("-777", "778"):
            await enqueue(
                session,
                dedup_key=f"notice>{chat}",
                kind="return_rejected",
                now=clock(),
                payload=payload_of("a notice about a case"),
                chat_id=chat,
                parent_id=parent,
            )
    result = await run("staff", "unbind-group", "-777")
    assert result.code == 0, result.err
    async with db.unit() as session:
        chat_rows = select(OutboxMessage).where(col(OutboxMessage.target_kind) == "chat")
        rows = {r.target: r for r in (await session.exec(chat_rows)).all()}
    assert (rows["-777"].status, rows["-777"].error) == ("failed", "withdrawn: group unbound")
    assert rows["778"].status == "pending"  # a member's own copy still goes


def _link_of(out: str) -> tuple[str, str]:
    """The code and the last line (the link, or why there is none) of `staff invite`."""
    lines = out.splitlines()
    assert len(lines) == 3, out
    return lines[0], lines[2]


async def test_invite_prints_a_start_link_when_the_bot_s_username_is_set(
    run: Hutong, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("HUTONG_TELEGRAM_USERNAME=@Hutong_Help_Bot\n")
    result = await run("staff", "invite", "--station", JIEKOU)
    assert result.code == 0, result.err
    code, link = _link_of(result.out)
    assert link == f"link (opens the bot and joins): https://t.me/Hutong_Help_Bot?start=join-{code}"
    # What the link makes Telegram send is /join with the code, to the bot.
    parameter = link.rsplit("?start=", 1)[1]
    assert commands.START_PARAMETER.fullmatch(parameter)
    assert commands.deep_link(Command("start", parameter)) == Command("join", code)

    group = await run("staff", "invite", "--station", JIEKOU, "--group")
    code, link = _link_of(group.out)
    assert link.endswith(f"https://t.me/Hutong_Help_Bot?startgroup=join-{code}")
    assert "send /join " + code + " in the group" in group.out


async def test_invite_asks_the_bot_api_for_the_username_or_says_why_there_is_no_link(
    run: Hutong, tmp_path: Path, bot_api: FakeBotAPI
) -> None:
    env = tmp_path / ".env"
    env.write_text(
        f"HUTONG_TELEGRAM_TOKEN={bot_api.token}\nHUTONG_TELEGRAM_API_URL={bot_api.base_url}\n"
    )
    code, link = _link_of((await run("staff", "invite", "--station", JIEKOU)).out)
    assert link.endswith(f"https://t.me/{bot_api.bot_username}?start=join-{code}")
    assert [c.method for c in bot_api.calls] == ["getMe"]

    bot_api.fail_next("getMe", status=502)  # Telegram (or the way to it) down
    result = await run("staff", "invite", "--station", JIEKOU)
    assert result.code == 0, result.err  # the code is issued all the same
    code, link = _link_of(result.out)
    assert link.startswith("no link: the Bot API did not say the bot's username (")
    assert link.endswith("set HUTONG_TELEGRAM_USERNAME to print one")
    assert bot_api.token not in result.out + result.err

    env.write_text("")
    code, link = _link_of((await run("staff", "invite", "--station", JIEKOU)).out)
    assert link == (
        "no link: HUTONG_TELEGRAM_USERNAME (or HUTONG_TELEGRAM_TOKEN) is not set;"
        " set HUTONG_TELEGRAM_USERNAME to print one"
    )

    env.write_text("HUTONG_TELEGRAM_USERNAME=not a bot\n")
    refused = await run("staff", "invite", "--station", JIEKOU)
    assert refused.code == 2 and "HUTONG_TELEGRAM_USERNAME" in refused.err
