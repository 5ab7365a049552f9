"""flows.merging through the bot's buttons and commands (flows.work): 合并 by the station or
a supervisor over it, refused to anyone else, pressed twice or from an old message; what the
kept ticket's details show; 撤销合并 by a supervisor only, which brings the report back with
its clock started again and tells its reporter; the reporters' ratings of the one case."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from factories import (
    JIANGPU,
    county_supervisor,
    events_of,
    file_ticket,
    outbox_rows,
    person_of,
    station_member,
    ticket_by_code,
    ticket_details,
)
from harness import FakeClock

from flows import feedback, lifecycle, retention, tickets, work
from flows.escalation import sweep_deadlines
from flows.events import Command, Event, Press
from flows.messages import Outcome
from flows.notices import expand
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.states import State
from flows.texts import t
from storage.db import Database
from storage.models import StaffMember, Ticket

STATION = "从化区街口街道未成年人保护工作站"
ZENGCHENG = "440118000000"  # 增城区: another county of 广州


async def _do(
    db: Database, directory: Directory, member: StaffMember, event: Event, now: datetime
) -> Outcome:
    async with db.unit() as session:
        return await work.handle(
            session=session, directory=directory, person=person_of(member), event=event, now=now
        )


async def _ticket(db: Database, ticket: Ticket) -> Ticket:
    async with db.unit() as session:
        found = await session.get(Ticket, ticket.id)
    assert found is not None
    return found


async def _two(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    first: dict[str, Any] | None = None,
    **second: Any,
) -> tuple[Ticket, Ticket]:
    """A report at 街口街道 from chat 801 (``first``'s answers), and an hour later the same
    child's from 802 (``second``'s)."""
    one = await file_ticket(db, directory, now=clock(), chat="801", **(first or {}))
    clock.advance(hours=1)
    two = await file_ticket(db, directory, now=clock(), chat="802", **second)
    assert two.duplicate_of_id == one.id
    return one, two


def _texts(out: Outcome) -> list[str]:
    return [r.text for r in out.replies]


async def test_the_station_merges_once_and_an_old_or_doubled_press_changes_nothing(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    one, two = await _two(db, directory, clock)
    clock.advance(minutes=5)
    out = await _do(db, directory, worker, Press(f"w:mg:{two.id}:{one.id}"), clock())
    assert _texts(out) == [
        f"已合并：<code>{two.code}</code> 并入 <code>{one.code}</code>，按 <code>{one.code}</code> "
        f"的时限处理；报告人都会收到 <code>{one.code}</code> 的后续进展。"
    ]
    merged = await _ticket(db, two)
    assert (merged.state, merged.merged_into_id, merged.next_due_at) == (
        State.MERGED,
        one.id,
        None,
    )
    # Pressed again: said so, nothing written twice.
    again = await _do(db, directory, worker, Press(f"w:mg:{two.id}:{one.id}"), clock())
    assert _texts(again) == [f"这份报告已经合并到 <code>{one.code}</code>。"]
    assert [e.kind for e in await events_of(db, two.id)].count("merged") == 1
    assert [e.kind for e in await events_of(db, one.id)].count("merged_in") == 1
    # The reporter of the merged report is told once, in plain words.
    [told] = await outbox_rows(db, kind="reporter_update", ticket_id=two.id)
    assert told.target == "802" and "和另一份报告说的是同一个孩子" in told.payload["text"]


async def test_a_button_naming_another_ticket_or_a_report_with_no_match_merges_nothing(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    one, two = await _two(db, directory, clock)
    for data in (f"w:mg:{two.id}:{(one.id or 0) + 999}", f"w:mg:{one.id}:{two.id}"):
        out = await _do(db, directory, worker, Press(data), clock())
        assert _texts(out) == ["这份报告没有可以合并的工单（按钮已过时）。"], data
    assert (await _ticket(db, two)).state == State.DISPATCHED
    assert (await _ticket(db, one)).state == State.DISPATCHED


async def test_someone_without_rights_is_refused_and_the_attempt_kept(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    elsewhere = await station_member(db, now=clock(), station=JIANGPU, user="7002")
    other_county = await county_supervisor(db, now=clock(), county=ZENGCHENG, user="7202")
    one, two = await _two(db, directory, clock)
    for member in (elsewhere, other_county):
        out = await _do(db, directory, member, Press(f"w:mg:{two.id}:{one.id}"), clock())
        assert out.notice == "您无权处理这个工单。" and out.replies == []
    assert (await _ticket(db, two)).state == State.DISPATCHED
    refused = [(e.actor, e.kind) for e in await events_of(db, two.id) if e.kind == "refused"]
    assert refused == [
        (f"staff:{elsewhere.id}", "refused"),
        (f"staff:{other_county.id}", "refused"),
    ]


async def test_a_supervisor_over_the_station_may_merge(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    supervisor = await county_supervisor(db, now=clock())
    one, two = await _two(db, directory, clock)
    out = await _do(db, directory, supervisor, Press(f"w:mg:{two.id}:{one.id}"), clock())
    assert out.changed and (await _ticket(db, two)).merged_into_id == one.id
    [merged] = [e for e in await events_of(db, two.id) if e.kind == "merged"]
    assert (merged.actor, merged.from_state, merged.to_state, merged.note) == (
        f"staff:{supervisor.id}",
        "dispatched",
        "merged",
        one.code,
    )


async def test_no_merge_into_a_ticket_resolved_since_nor_of_a_more_urgent_report(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    one, two = await _two(db, directory, clock)
    for step in ("sign", "first", "resolve"):
        async with db.unit() as session:
            kept = await tickets.locked_ticket(session, one.id or 0)
            assert kept is not None
            if step == "sign":
                await lifecycle.sign(
                    session=session, directory=directory, member=worker, ticket=kept, now=clock()
                )
            elif step == "first":
                await lifecycle.first_action(
                    session=session,
                    directory=directory,
                    ticket=kept,
                    member=worker,
                    how="call",
                    now=clock(),
                )
            else:
                await lifecycle.resolve(
                    session=session,
                    directory=directory,
                    ticket=kept,
                    member=worker,
                    outcome="other",
                    note="已处理",
                    now=clock(),
                )
    out = await _do(db, directory, worker, Press(f"w:mg:{two.id}:{one.id}"), clock())
    assert _texts(out) == [f"<code>{one.code}</code> 当前为“已办结”，不能合并到它。"]

    # Another child (another concern): a P1 report, then a P0 one of the same child.
    ill = {"concerns": ["illness"]}
    urgent_one, urgent = await _two(db, directory, clock, ill, danger="yes", **ill)
    assert (urgent_one.priority, urgent.priority) == ("P1", "P0")
    out = await _do(db, directory, worker, Press(f"w:mg:{urgent.id}:{urgent_one.id}"), clock())
    assert _texts(out) == [
        f"这份报告比 <code>{urgent_one.code}</code> 更紧急，不能并入：请按这份报告自己的时限处理。"
    ]
    assert (await _ticket(db, urgent)).state == State.DISPATCHED


async def test_the_kept_tickets_details_list_the_merged_report_and_its_reporter(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    supervisor = await county_supervisor(db, now=clock())
    one, two = await _two(
        db, directory, clock, story="楼下小女孩一个人", phone="13800138000", callback=True
    )
    await _do(db, directory, worker, Press(f"w:mg:{two.id}:{one.id}"), clock())
    merged_part = (
        f"<b>合并进来的报告</b>\n<code>{two.code}</code> · 提交于 2026-11-23 11:00\n"
        "报告人：邻居或朋友\n情况：无人照料 / 独自在家\n儿童：6–11 岁，女孩\n"
        "经过：楼下小女孩一个人\n附件：0 个\n"
    )
    shown = await ticket_details(db, directory, member=supervisor, ticket_id=one.id, now=clock())
    assert merged_part + "报告人电话：13800138000（同意回访）\n" in shown
    assert "contact_viewed" in [e.kind for e in await events_of(db, two.id)]
    # The station, not yet signed for the case, does not see the phone.
    shown = await ticket_details(db, directory, member=worker, ticket_id=one.id, now=clock())
    assert merged_part + "报告人联系方式：签收后可见\n" in shown
    # The merged report's own details say where it went.
    shown = await ticket_details(db, directory, member=worker, ticket_id=two.id, now=clock())
    assert f"🔗 已合并到 <code>{one.code}</code>（提交于 2026-11-23 10:00）" in shown
    # 撤销合并 is offered to the supervisor, on the kept ticket and on the merged report.
    for ticket_id, member in ((one.id, supervisor), (two.id, supervisor), (one.id, worker)):
        out = await _do(db, directory, member, Press(f"w:det:{ticket_id}"), clock())
        offered = [b.data for r in out.replies for row in r.buttons for b in row]
        undo = f"w:um:{two.id}"
        assert (undo in offered) == (member is supervisor), (ticket_id, member.role)


async def test_a_supervisor_unmerges_the_report_comes_back_and_its_reporter_is_told(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    supervisor = await county_supervisor(db, now=clock())
    one, two = await _two(db, directory, clock)
    await _do(db, directory, worker, Press(f"w:mg:{two.id}:{one.id}"), clock())
    before = await _ticket(db, two)

    # A station member may not undo it, by button or command.
    out = await _do(db, directory, worker, Press(f"w:um:{two.id}"), clock())
    assert out.notice == "您无权处理这个工单。"
    out = await _do(db, directory, worker, Command("unmerge", two.code), clock())
    assert _texts(out) == ["此功能仅限督导使用。"]
    assert (await _ticket(db, two)).state == State.MERGED

    # An hour later the supervisor does: back to 待签收 with a fresh sign-for window and
    # ladder from now; its first-action and resolve deadlines are still ahead, so kept.
    clock.advance(hours=1)
    out = await _do(db, directory, supervisor, Command("unmerge", two.code.lower()), clock())
    assert _texts(out) == [
        f"已撤销合并：<code>{two.code}</code> 重新单独处理，当前为“已转交工作站，等待签收”，"
        "下一时限：2026-11-23 13:00。"
    ]
    back = await _ticket(db, two)
    assert (back.state, back.merged_into_id, back.duplicate_of_id) == (State.DISPATCHED, None, None)
    assert back.sign_due_at == clock() + timedelta(hours=2)
    assert back.next_due_at == clock() + timedelta(hours=1)  # the reminder, half-way
    assert back.first_action_due_at == before.first_action_due_at
    assert back.resolve_due_at == before.resolve_due_at
    assert [(e.kind, e.from_state, e.to_state, e.note) for e in await events_of(db, two.id)][
        -1
    ] == ("unmerged", "merged", "dispatched", one.code)
    assert [(e.actor, e.kind, e.note) for e in await events_of(db, one.id)][-1] == (
        f"staff:{supervisor.id}",
        "unmerged_out",
        two.code,
    )
    rows = await outbox_rows(db, kind="reporter_update", ticket_id=two.id)
    assert [r.payload["text"] for r in rows][-1] == (
        f"您提交的报告 <code>{two.code}</code> 经核实和另一份报告说的不是同一个孩子，现在由 "
        f"{STATION} 单独处理。进度：已转给工作站，等待受理。可以用 /status {two.code} 查看。"
    )
    async with db.unit() as session:
        await expand(session, directory=directory, now=clock())
    [notice] = await outbox_rows(db, kind="unmerged", target_kind="chat")
    assert notice.target == worker.chat_id
    assert notice.payload["text"] == (
        f"↩️ <b>撤销合并 <code>{two.code}</code></b>\n"
        f"督导撤销了它与 <code>{one.code}</code> 的合并，请单独处理。\n"
        "当前：已转交工作站，等待签收\n下一时限：2026-11-23 13:00"
    )
    assert [d for row in notice.payload["buttons"] for _, d in row] == [
        f"w:sign:{two.id}",
        f"w:ret:{two.id}",
        f"w:det:{two.id}",
    ]
    # Twice: said so.
    out = await _do(db, directory, supervisor, Press(f"w:um:{two.id}"), clock())
    assert _texts(out) == [f"工单 <code>{two.code}</code> 没有被合并。"]
    # The referral's old 合并 button no longer merges it: judged another child.
    out = await _do(db, directory, worker, Press(f"w:mg:{two.id}:{one.id}"), clock())
    assert _texts(out) == ["这份报告没有可以合并的工单（按钮已过时）。"]
    assert (await _ticket(db, two)).state == State.DISPATCHED


async def test_unmerged_after_its_deadlines_passed_a_signed_report_gets_fresh_ones(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """Signed for before the merge; un-merged three days later, past its first-action and
    resolve deadlines: each starts again from now with its full window."""
    worker = await station_member(db, now=clock())
    supervisor = await county_supervisor(db, now=clock())
    one, two = await _two(db, directory, clock)
    async with db.unit() as session:
        locked = await tickets.locked_ticket(session, two.id or 0)
        assert locked is not None
        await lifecycle.sign(
            session=session, directory=directory, member=worker, ticket=locked, now=clock()
        )
    await _do(db, directory, worker, Press(f"w:mg:{two.id}:{one.id}"), clock())
    clock.advance(days=4)
    await sweep_deadlines(db=db, directory=directory, policy=DEFAULT_POLICY, clock=clock)
    assert (await _ticket(db, two)).state == State.MERGED  # nothing reverted it meanwhile
    await _do(db, directory, supervisor, Press(f"w:um:{two.id}"), clock())
    back = await _ticket(db, two)
    assert back.state == State.ACKNOWLEDGED and back.assignee_id == worker.id
    assert back.first_action_due_at == clock() + timedelta(days=1)
    assert back.resolve_due_at == clock() + timedelta(days=3)
    assert back.next_due_at == back.first_action_due_at


async def test_another_areas_supervisor_cannot_unmerge_and_the_code_seems_unknown(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    other = await county_supervisor(db, now=clock(), county=ZENGCHENG, user="7202")
    one, two = await _two(db, directory, clock)
    await _do(db, directory, worker, Press(f"w:mg:{two.id}:{one.id}"), clock())
    out = await _do(db, directory, other, Command("unmerge", two.code), clock())
    assert _texts(out) == [f"没有找到编号为 {two.code} 的工单，或您无权查看。"]
    assert (await _ticket(db, two)).state == State.MERGED
    assert "refused" in [e.kind for e in await events_of(db, two.id)]
    out = await _do(db, directory, other, Command("unmerge", ""), clock())
    assert _texts(out) == ["用法：/unmerge 编号（被合并的报告的编号）"]


async def _resolved_together(
    db: Database, directory: Directory, clock: FakeClock
) -> tuple[Ticket, Ticket]:
    worker = await station_member(db, now=clock())
    one, two = await _two(db, directory, clock)
    await _do(db, directory, worker, Press(f"w:mg:{two.id}:{one.id}"), clock())
    async with db.unit() as session:
        kept = await tickets.locked_ticket(session, one.id or 0)
        assert kept is not None
        await lifecycle.sign(
            session=session, directory=directory, member=worker, ticket=kept, now=clock()
        )
        await session.refresh(kept)
        await lifecycle.first_action(
            session=session,
            directory=directory,
            ticket=kept,
            member=worker,
            how="call",
            now=clock(),
        )
        await lifecycle.resolve(
            session=session,
            directory=directory,
            ticket=kept,
            member=worker,
            outcome="other",
            note="已处理",
            now=clock(),
        )
    return one, two


async def _rate(db: Database, ticket: Ticket, chat: str, rating: str, now: datetime) -> Outcome:
    async with db.unit() as session:
        return await feedback.on_press(
            session=session,
            channel="telegram",
            chat_id=chat,
            data=f"f:{ticket.id}:{rating}",
            locale="zh",
            now=now,
        )


async def test_the_merged_reporters_dissatisfaction_reopens_the_case(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    one, two = await _resolved_together(db, directory, clock)
    out = await _rate(db, two, "802", "unsat", clock())
    assert "我们已重新受理这个报告" in _texts(out)[0]
    assert (await _ticket(db, one)).state == State.REOPENED
    # The kept ticket's own reporter, asked too, is heard and recorded; nothing more.
    out = await _rate(db, one, "801", "sat", clock())
    assert _texts(out) == ["谢谢您的反馈。"]
    kept = await _ticket(db, one)
    assert kept.state == State.REOPENED and kept.feedback == "sat"
    notes = [(e.kind, e.note) for e in await events_of(db, one.id) if e.actor == "reporter"]
    assert notes == [
        ("feedback", f"unsat ({two.code})"),
        ("reopened", None),
        ("feedback", "sat"),
    ]
    # Each answers once; another chat cannot answer for a report it did not file.
    assert (await _rate(db, two, "802", "sat", clock())).notice == "您已经反馈过了，谢谢。"
    assert (await _rate(db, two, "801", "sat", clock())).notice == t("zh", "stale")


async def test_without_the_merged_reporters_answer_the_window_closes_the_case(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    one, _ = await _resolved_together(db, directory, clock)
    await _rate(db, one, "801", "ok", clock())
    assert (await _ticket(db, one)).state == State.RESOLVED  # the other reporter was asked
    clock.advance(days=3, minutes=1)
    await sweep_deadlines(db=db, directory=directory, policy=DEFAULT_POLICY, clock=clock)
    assert (await _ticket(db, one)).state == State.CLOSED
    assert (await ticket_by_code(db, one.code)).feedback == "ok"


async def test_a_merged_report_is_erased_with_its_case_after_the_retention_period(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """A merged report is never closed itself: its personal data goes when its case's does."""
    one, two = await _resolved_together(db, directory, clock)
    await _rate(db, one, "801", "sat", clock())
    await _rate(db, two, "802", "sat", clock())
    assert (await _ticket(db, one)).state == State.CLOSED
    clock.advance(days=364)
    async with db.unit() as session:
        assert await retention.erase_closed(session=session, now=clock(), days=365) == 0
    clock.advance(days=2)
    async with db.unit() as session:
        assert await retention.erase_closed(session=session, now=clock(), days=365) == 2
    for ticket in (one, two):
        erased = await _ticket(db, ticket)
        assert erased.erased_at == clock() and erased.story == "" and erased.reporter_chat_id == ""
    notes = {e.kind: e.note for e in await events_of(db, two.id)}
    assert notes["merged"] == one.code and notes["erased"] == "retention 365 days"
    async with db.unit() as session:
        assert await retention.erase_closed(session=session, now=clock(), days=365) == 0


async def test_two_presses_of_merge_at_once_merge_once(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """Two of the station's members press 合并 in two sessions at the same moment: one
    merges, the other is told it is done (on PostgreSQL a real race; SQLite queues them)."""
    first = await station_member(db, now=clock(), user="901")
    second = await station_member(db, now=clock(), user="902")
    one, two = await _two(db, directory, clock)
    barrier = asyncio.Barrier(1 if db.sqlite else 2)

    async def press(member: StaffMember) -> list[str]:
        async with db.unit() as session:
            await session.get(Ticket, two.id)  # the transaction is open
            await barrier.wait()
            out = await work.handle(
                session=session,
                directory=directory,
                person=person_of(member),
                event=Press(f"w:mg:{two.id}:{one.id}"),
                now=clock(),
            )
        return _texts(out)

    answers = sorted(await asyncio.gather(press(first), press(second)))
    assert answers[0][0].startswith("已合并：")
    assert answers[1] == [f"这份报告已经合并到 <code>{one.code}</code>。"]
    assert [e.kind for e in await events_of(db, one.id)].count("merged_in") == 1


async def test_an_unmerge_and_the_kept_tickets_resolution_at_once_both_complete(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """The supervisor un-merges the report while the station resolves the kept ticket (which
    writes to the report's reporter): both lock the kept ticket first, so neither waits on
    the other for ever."""
    worker = await station_member(db, now=clock())
    supervisor = await county_supervisor(db, now=clock())
    one, two = await _two(db, directory, clock)
    await _do(db, directory, worker, Press(f"w:mg:{two.id}:{one.id}"), clock())
    async with db.unit() as session:
        kept = await tickets.locked_ticket(session, one.id or 0)
        assert kept is not None
        await lifecycle.sign(
            session=session, directory=directory, member=worker, ticket=kept, now=clock()
        )
    barrier = asyncio.Barrier(1 if db.sqlite else 2)

    async def resolve() -> None:
        async with db.unit() as session:
            await session.get(Ticket, one.id)
            await barrier.wait()
            kept = await tickets.locked_ticket(session, one.id or 0)
            assert kept is not None
            await lifecycle.resolve(
                session=session,
                directory=directory,
                ticket=kept,
                member=worker,
                outcome="other",
                note="已处理",
                now=clock(),
            )

    async def unmerge() -> None:
        async with db.unit() as session:
            await session.get(Ticket, two.id)
            await barrier.wait()
            await work.handle(
                session=session,
                directory=directory,
                person=person_of(supervisor),
                event=Press(f"w:um:{two.id}"),
                now=clock(),
            )

    await asyncio.wait_for(asyncio.gather(resolve(), unmerge()), timeout=30)
    assert (await _ticket(db, one)).state == State.RESOLVED
    assert (await _ticket(db, two)).state == State.DISPATCHED
