"""flows.commands: each role's commands (the menu Telegram shows and /help say the same),
the languages a list is published for, deep links, and the command lists queued in the
outbox on joining, leaving and at start."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from factories import county_supervisor, hotline_operator, invite, station_member
from harness import FakeClock
from sqlmodel import col, select

from flows import commands, staff, web_signin, work
from flows.commands import CITIZEN, GROUP, ROLE_COMMANDS, for_role, help_text
from flows.dialogue import Dialogue
from flows.events import Command, Text
from flows.intake import Intake
from flows.staff import ROLES, Scope, format_code
from flows.texts import LOCALES, t
from flows.tickets import CODE_ALPHABET
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, StationGroup

JIEKOU = "440117001000"


def _names(text: str) -> list[str]:
    return re.findall(r"^/([a-z0-9_]+)", text, flags=re.MULTILINE)


def _every_list() -> list[tuple[str, tuple[commands.Cmd, ...]]]:
    return [("citizen", CITIZEN), ("group", GROUP), *ROLE_COMMANDS.items()]


def test_every_listed_command_is_one_the_bot_answers(intake: Intake) -> None:
    staff_side = set(work.STAFF_COMMANDS) | set(web_signin.COMMANDS)
    for role, listed in _every_list():
        for cmd in listed:
            if cmd.name in staff_side:
                continue
            out = intake.handle(Dialogue(step="menu", answers={}, locale="zh"), Command(cmd.name))
            unknown = t("zh", "unknown_command", command=f"/{cmd.name}")
            assert [r.text for r in out.replies] != [unknown], (role, cmd.name)
    # …and every staff command but /join (typed from the invitation) is in some list.
    listed_names = {cmd.name for _, listed in _every_list() for cmd in listed}
    assert staff_side - listed_names == {"join"}
    assert set(ROLE_COMMANDS) == set(ROLES)


@pytest.mark.parametrize("locale", LOCALES)
def test_menu_texts_fit_telegrams_rules_in_every_language(locale: str) -> None:
    for _, listed in _every_list():
        menu = commands.menu(listed, locale)
        assert len(menu) <= 100
        for name, about in menu:
            assert commands.NAME_RULE.fullmatch(name) and name == name.lower()
            # Plain text in the menu: no HTML, and 1-256 characters.
            assert 1 <= len(about.strip()) <= commands.DESCRIPTION_MAX, (name, about)
            assert not set(about) & set("<>&"), (name, about)


def test_languages_telegram_can_tell_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    assert commands.telegram_languages("zh") == (None,)  # the list for everyone else
    assert commands.telegram_languages("en") == ("en",)
    # Telegram's language_code is ISO 639-1: Traditional Chinese is "zh" like the default.
    assert commands.telegram_languages("zh-Hant") == ()
    monkeypatch.setattr(commands, "LOCALES", ("zh", "en", "zh-Hant", "pt-BR", "pt-PT", "en-GB"))
    assert commands.telegram_languages("pt-BR") == ("pt",)  # the first of its language
    assert commands.telegram_languages("pt-PT") == ()
    assert commands.telegram_languages("en-GB") == ()  # "en" has it
    assert commands.telegram_languages("x1") == ()


def test_every_catalogue_is_published_once_per_code() -> None:
    codes = [code for locale in LOCALES for code in commands.telegram_languages(locale)]
    assert None in codes and len(codes) == len(set(codes))
    assert all(code is None or re.fullmatch(r"[a-z]{2}", code) for code in codes)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("role", [None, *ROLES])
def test_help_shows_exactly_the_persons_commands(role: str | None, locale: str) -> None:
    text = help_text(locale, role)
    assert _names(text) == [c.name for c in for_role(role)]
    assert "110" in text and "120" in text
    for cmd in for_role(role):  # each with the menu's words, and its argument if any
        line = next(x for x in text.splitlines() if x.startswith(f"/{cmd.name} "))
        assert line.endswith(t(locale, f"cmd.{cmd.name}"))
        if cmd.arg:
            assert t(locale, cmd.arg) in line


def test_help_in_a_group_shows_what_works_there() -> None:
    text = help_text("zh", "station", in_group=True)
    assert _names(text) == ["mytickets", "ticket", "help"]
    assert "110" in text


def test_a_citizens_help_lists_no_staff_command(intake: Intake) -> None:
    out = intake.handle(Dialogue(step="menu", answers={}, locale="en"), Command("help"))
    assert [r.text for r in out.replies] == [help_text("en", None)]
    assert not {"join", "mytickets", "overdue", "console"} & set(_names(out.replies[0].text))


def test_a_start_link_with_an_invitation_is_join() -> None:
    assert commands.deep_link(Command("start", "join-ABCD-EFGH-JKMN")) == Command(
        "join", "ABCD-EFGH-JKMN"
    )
    assert commands.deep_link(Command("start", "JOIN-abcd")) == Command("join", "abcd")
    assert commands.deep_link(Command("start", "join-")) == Command("join", "")
    for other in (Command("start"), Command("start", "report"), Command("join", "X"), Text("x")):
        assert commands.deep_link(other) == other


def test_an_invitation_code_fits_a_start_parameter() -> None:
    """Telegram's start parameter takes 1-64 of A-Z, a-z, 0-9, _ and -."""
    assert set(CODE_ALPHABET) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    longest = format_code(CODE_ALPHABET[0] * staff.INVITE_LENGTH)
    for code in (longest, format_code(CODE_ALPHABET[-staff.INVITE_LENGTH :])):
        assert commands.START_PARAMETER.fullmatch(f"{commands.JOIN_PREFIX}{code}")
    link = commands.join_link("hutong_bot", longest)
    assert link == f"https://t.me/hutong_bot?start=join-{longest}"
    group = commands.join_link("hutong_bot", longest, group=True)
    assert group == f"https://t.me/hutong_bot?startgroup=join-{longest}"
    with pytest.raises(ValueError):
        commands.join_link("hutong_bot", "no spaces")


# ---- the lists in the outbox ------------------------------------------------------------


async def _lists(db: Database) -> list[OutboxMessage]:
    async with db.unit() as session:
        query = select(OutboxMessage).where(col(OutboxMessage.kind) == commands.KIND)
        return list((await session.exec(query.order_by(col(OutboxMessage.id)))).all())


def _menu_names(row: OutboxMessage) -> list[str]:
    return [name for name, _ in row.payload["commands"]]


async def test_joining_queues_the_members_list_in_their_language(
    db: Database, clock: FakeClock
) -> None:
    member = await station_member(db, now=clock())
    supervisor = await county_supervisor(db, now=clock(), locale="en")
    operator = await hotline_operator(db, now=clock())
    rows = await _lists(db)
    assert [(r.target_kind, r.target) for r in rows] == [
        (outbox.SCOPE, member.chat_id),
        (outbox.SCOPE, supervisor.chat_id),
        (outbox.SCOPE, operator.chat_id),
    ]
    station_row, supervisor_row, operator_row = rows
    assert station_row.payload["method"] == commands.SET
    assert station_row.payload["scope"] == commands.CHAT
    assert station_row.payload["language_code"] is None  # the chat's own: any app language
    assert _menu_names(station_row) == [c.name for c in for_role("station")]
    assert _menu_names(supervisor_row) == [c.name for c in for_role("supervisor")]
    assert _menu_names(operator_row) == [c.name for c in for_role("operator")]
    assert dict(supervisor_row.payload["commands"])["overdue"] == t("en", "cmd.overdue")
    assert dict(station_row.payload["commands"])["mytickets"] == t("zh", "cmd.mytickets")
    assert all(r.status == "pending" and r.ticket_id is None for r in rows)


async def test_leaving_or_being_revoked_queues_the_lists_removal(
    db: Database, clock: FakeClock
) -> None:
    leaver = await station_member(db, now=clock())
    revoked = await station_member(db, now=clock(), user="7002")
    async with db.unit() as session:
        member = await session.get(type(leaver), leaver.id)
        assert member is not None and revoked.id is not None
        await staff.leave(session=session, member=member, now=clock())
        assert await staff.revoke(session=session, member_id=revoked.id, now=clock())
    removals = [r for r in await _lists(db) if r.payload["method"] == commands.DELETE]
    assert [(r.target, r.payload["scope"], r.status) for r in removals] == [
        (leaver.chat_id, commands.CHAT, "pending"),
        (revoked.chat_id, commands.CHAT, "pending"),
    ]


async def test_an_unbound_groups_list_goes_unless_the_bot_was_removed(
    db: Database, clock: FakeClock
) -> None:
    async with db.unit() as session:
        for chat in ("-61", "-62"):
            session.add(StationGroup(station_code=JIEKOU, chat_id=chat, bound_at=clock()))
    async with db.unit() as session:
        assert await staff.unbind_group(session=session, chat_id="-61", now=clock()) == 1
        assert (
            await staff.unbind_group(session=session, chat_id="-62", now=clock(), bot_present=False)
            == 1
        )
    assert [(r.target, r.payload["method"]) for r in await _lists(db)] == [("-61", commands.DELETE)]


async def test_a_group_that_becomes_a_supergroup_gets_its_list_under_the_new_id(
    db: Database, clock: FakeClock
) -> None:
    code = await invite(db, scope=Scope("station", "township", JIEKOU), now=clock(), kind="group")
    async with db.unit() as session:
        group = await staff.bind_group(
            session=session, code=code, channel="telegram", chat_id="-71", user_id="1", now=clock()
        )
        await commands.group_bound(session=session, group=group, locale="en", now=clock())
    await _sent(db, clock)
    async with db.unit() as session:
        moved = await staff.chat_migrated(
            session=session, old_chat_id="-71", new_chat_id="-1071", now=clock()
        )
    assert moved == 1
    last = (await _lists(db))[-1]
    assert (last.target, last.status, last.payload["locale"]) == ("-1071", "pending", "en")
    assert _menu_names(last) == [c.name for c in GROUP]


async def _sent(db: Database, clock: FakeClock) -> None:
    """Every queued list delivered, as the sender would mark it."""
    rows = [r for r in await _lists(db) if r.status == "pending"]
    async with db.unit() as session:
        await outbox.mark_sent(session, delivered=[(r.id or 0, None) for r in rows], now=clock())


async def test_reconcile_queues_what_differs_from_what_was_last_sent(
    db: Database, clock: FakeClock
) -> None:
    member = await station_member(db, now=clock())
    left = await station_member(db, now=clock(), user="7002")
    async with db.unit() as session:
        session.add(StationGroup(station_code=JIEKOU, chat_id="-81", bound_at=clock()))
        left_row = await session.get(type(left), left.id)
        assert left_row is not None
        left_row.active = False  # left without its removal queued (before this existed)
        session.add(left_row)
    await _sent(db, clock)

    clock.advance(minutes=1)
    async with db.unit() as session:
        queued = await commands.reconcile(session=session, now=clock())
    fresh = [r for r in await _lists(db) if r.status == "pending"]
    by_target = {r.target: r.payload for r in fresh}
    assert queued == len(fresh)
    # Citizens: all private chats, once per language Telegram can tell apart; the default
    # scope (what groups would show) cleared.
    for locale in LOCALES:
        for language in commands.telegram_languages(locale):
            suffix = "" if language is None else f":{language}"
            private = by_target[f"{commands.PRIVATE}{suffix}"]
            assert (private["method"], private["language_code"]) == (commands.SET, language)
            assert [name for name, _ in private["commands"]] == [c.name for c in CITIZEN]
            assert private["commands"][0][1] == t(locale, "cmd.start")
            assert by_target[f"{commands.DEFAULT}{suffix}"]["method"] == commands.DELETE
    assert by_target["-81"]["method"] == commands.SET  # the bound group, never set before
    assert by_target[left.chat_id]["method"] == commands.DELETE  # set, and no longer wanted
    assert member.chat_id not in by_target  # its list was sent and is what it should be

    await _sent(db, clock)
    async with db.unit() as session:
        assert await commands.reconcile(session=session, now=clock()) == 0  # nothing new

    # A list given up (Telegram down for a day) or of an older release is queued again.
    rows = {r.target: r for r in await _lists(db)}
    async with db.unit() as session:
        failed = await session.get(OutboxMessage, rows["-81"].id)
        older = await session.get(OutboxMessage, rows[member.chat_id].id)
        assert failed is not None and older is not None
        failed.status = "failed"
        older.payload = {**older.payload, "commands": [["start", "old words"]]}
        session.add_all([failed, older])
    clock.advance(minutes=1)  # the next start
    async with db.unit() as session:
        assert await commands.reconcile(session=session, now=clock()) == 2
    targets = [r.target for r in await _lists(db) if r.status == "pending"]
    assert sorted(targets) == sorted(["-81", member.chat_id])


async def test_delivered_lists_are_kept_when_messages_are_erased(
    db: Database, clock: FakeClock
) -> None:
    """Retention empties sent messages; a list is kept, as reconcile compares against it."""
    await station_member(db, now=clock())
    await _sent(db, clock)
    async with db.unit() as session:
        erased = await outbox.erase_delivered(
            session, before=clock() + timedelta(days=30), batch=100
        )
    assert erased == 0
    (row,) = await _lists(db)
    assert row.payload["commands"] and not row.scrubbed
