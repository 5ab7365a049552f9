"""The intake state machine without any I/O: steps, buttons, typed answers and bad input."""

from __future__ import annotations

import pytest

from flows.dialogue import AddToReport, Dialogue, LookupStatus, Submit, normalise_phone
from flows.events import Command, Event, Photo, Press, SharedContact, Text, Unsupported
from flows.intake import Intake
from flows.messages import Button, Outcome
from flows.texts import ZH
from flows.triage import derive_priority
from storage.models import TEXT_MAX


class Walker:
    """Plays one person: presses buttons by label (or by action) on the latest prompt."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake
        self.dlg = Dialogue()
        self.buttons: list[Button] = []
        self.interactions = 0
        self.last: Outcome = Outcome()

    def send(self, event: Event) -> Outcome:
        self.interactions += 1
        self.last = self.intake.handle(self.dlg, event)
        for reply in self.last.replies:
            if reply.buttons:
                self.buttons = [b for row in reply.buttons for b in row]
        return self.last

    def button(self, action: str, value: str | None = None) -> Button:
        for b in self.buttons:
            _, act, val = b.data.split(":", 2)
            if act == action and (value is None or val == value):
                return b
        raise AssertionError(f"no button {action}:{value} in {[b.data for b in self.buttons]}")

    def press(self, action: str, value: str | None = None) -> Outcome:
        return self.send(Press(self.button(action, value).data))

    def texts(self) -> str:
        return "\n".join(r.text for r in self.last.replies)


@pytest.fixture
def walker(intake: Intake) -> Walker:
    return Walker(intake)


def public(answers: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in answers.items() if not k.startswith("_")}


def file_by_buttons(w: Walker) -> Outcome:
    w.send(Command("start"))
    w.press("mn", "report")
    w.press("dg", "no")
    w.press("rp", "neighbour")
    w.press("pc", "440100000000")  # 广州市
    w.press("pn", "440117000000")  # 从化区
    w.press("pt", "440117001000")  # 街口街道
    w.press("ag", "6-11")
    w.press("sx", "f")
    w.press("cn", "no_carer")
    w.press("cd")
    w.send(Text("孩子一个人在家两天了，没有大人照看。"))
    w.press("ct", "anon")
    return w.press("sm", "ok")


def test_report_by_buttons_in_at_most_14_interactions(walker: Walker) -> None:
    out = file_by_buttons(walker)
    assert isinstance(out.effect, Submit)
    assert walker.interactions <= 14
    a = walker.dlg.answers
    assert a["place"] == "440117001000"
    assert a["danger"] == "no" and a["reporter"] == "neighbour"
    assert a["concerns"] == ["no_carer"] and a["age"] == "6-11" and a["sex"] == "f"
    assert a["anonymous"] is True and "phone" not in a


def test_danger_yes_says_call_110_120_before_anything_else(walker: Walker) -> None:
    walker.send(Command("start"))
    walker.press("mn", "report")
    out = walker.press("dg", "yes")
    assert "110" in out.replies[0].text and "120" in out.replies[0].text
    assert not out.replies[0].buttons
    assert walker.dlg.step == "reporter"
    assert derive_priority(in_danger="yes", concerns=["bullying"], child_age="12-14") == "P0"


@pytest.mark.parametrize(
    ("danger", "concerns", "age", "expected"),
    [
        ("no", ["sexual"], "12-14", "P0"),
        ("no", ["distress"], "15-17", "P0"),
        ("no", ["no_carer"], "3-5", "P0"),
        ("no", ["no_carer"], "12-14", "P1"),
        ("no", ["illness"], "6-11", "P1"),
        ("unsure", ["out_of_school"], "12-14", "P1"),
        ("no", ["out_of_school", "basic_needs"], "12-14", "P2"),
    ],
)
def test_priority(danger: str, concerns: list[str], age: str, expected: str) -> None:
    assert derive_priority(in_danger=danger, concerns=concerns, child_age=age) == expected


def _to_place_step(w: Walker) -> None:
    w.send(Command("start"))
    w.press("mn", "report")
    w.press("dg", "no")
    w.press("rp", "teacher")
    assert w.dlg.step == "place"


def test_typed_place_exact_match_is_one_tap(walker: Walker) -> None:
    _to_place_step(walker)
    out = walker.send(Text("从化区街口街道"))
    assert walker.dlg.step == "place_pick"
    assert "街口街道" in out.replies[0].text
    walker.press("pk", "440117001000")
    assert walker.dlg.answers["place"] == "440117001000"
    assert walker.dlg.answers["place_text"] == "从化区街口街道"
    assert walker.dlg.step == "age"


def test_typed_place_not_found_falls_back_to_buttons(walker: Walker) -> None:
    _to_place_step(walker)
    out = walker.send(Text("qwertyzzz"))
    assert walker.dlg.step == "place"
    assert "qwertyzzz" in out.replies[0].text
    assert any(b.data.split(":")[1] == "pc" for row in out.replies[0].buttons for b in row)


def test_typed_place_escapes_html(walker: Walker) -> None:
    _to_place_step(walker)
    out = walker.send(Text("<b>zz</b>"))
    assert "&lt;b&gt;zz&lt;/b&gt;" in out.replies[0].text


def test_unknown_township_goes_to_county_queue(walker: Walker) -> None:
    _to_place_step(walker)
    walker.press("pc", "440100000000")
    walker.press("pn", "440117000000")
    walker.press("pu", "county")
    assert walker.dlg.answers["place"] == "440117000000"
    assert walker.dlg.step == "age"


def test_dongguan_has_no_county_step(walker: Walker) -> None:
    _to_place_step(walker)
    walker.press("pc", "441900000000")
    assert walker.dlg.step == "place_township"
    assert "441900" in walker.button("pt").data


def test_township_paging_edits_in_place(walker: Walker) -> None:
    _to_place_step(walker)
    walker.press("pc", "440100000000")
    walker.press("pn", "440106000000")  # 天河区: 21 streets, two pages
    out = walker.press("pg", "1")
    assert out.replies[0].edit
    assert "2/2" in out.replies[0].text


def test_text_at_a_button_step_is_answered_and_step_kept(walker: Walker) -> None:
    walker.send(Command("start"))
    walker.press("mn", "report")
    out = walker.send(Text("hello"))
    assert walker.dlg.step == "danger"
    assert out.replies and "按钮" in out.replies[0].text


@pytest.mark.parametrize("kind", ["sticker", "voice"])
def test_sticker_or_voice_where_text_is_asked(walker: Walker, kind: str) -> None:
    file_by_buttons_until_story(walker)
    version = walker.dlg.version
    out = walker.send(Unsupported(kind))
    assert walker.dlg.step == "story" and walker.dlg.version == version
    assert "收不了这类消息" in out.replies[0].text
    assert out.replies[1].text == walker.intake.screens.prompt(walker.dlg).text


def file_by_buttons_until_story(w: Walker) -> None:
    w.send(Command("start"))
    w.press("mn", "report")
    w.press("dg", "unsure")
    w.press("rp", "relative")
    w.press("pc", "440100000000")
    w.press("pn", "440117000000")
    w.press("pt", "440117001000")
    w.press("ag", "0-2")
    w.press("sx", "m")
    w.press("cn", "illness")
    w.press("cd")
    assert w.dlg.step == "story"


def test_photo_at_story_step_is_kept_and_story_still_asked(walker: Walker) -> None:
    file_by_buttons_until_story(walker)
    out = walker.send(Photo("file-1"))
    assert walker.dlg.answers["photos"] == ["file-1"]
    assert walker.dlg.step == "story"
    assert "1/5" in out.replies[0].text
    walker.send(Photo("file-2", caption="孩子发烧三天，没人带去看病"))
    assert walker.dlg.answers["photos"] == ["file-1", "file-2"]
    assert walker.dlg.answers["story"] == "孩子发烧三天，没人带去看病"
    assert walker.dlg.step == "contact"


def test_photo_where_not_accepted(walker: Walker) -> None:
    walker.send(Command("start"))
    walker.press("mn", "report")
    out = walker.send(Photo("file-x"))
    assert walker.dlg.step == "danger" and "photos" not in walker.dlg.answers
    assert "图片" in out.replies[0].text


def test_over_long_story_is_refused_and_step_kept(walker: Walker) -> None:
    file_by_buttons_until_story(walker)
    out = walker.send(Text("长" * (TEXT_MAX + 1)))
    assert walker.dlg.step == "story" and "story" not in walker.dlg.answers
    assert str(TEXT_MAX + 1) in out.replies[0].text
    walker.send(Text("长" * TEXT_MAX))
    assert walker.dlg.answers["story"] == "长" * TEXT_MAX


def test_phone_typed_then_consent(walker: Walker) -> None:
    file_by_buttons_until_story(walker)
    walker.send(Text("孩子生病"))
    walker.press("ct", "phone")
    assert walker.intake.screens.prompt(walker.dlg).ask_contact
    out = walker.send(Text("not a phone"))
    assert walker.dlg.step == "contact_phone" and "phone" not in walker.dlg.answers
    assert out.replies[0].text
    walker.send(Text("138 0013 8000"))
    assert walker.dlg.answers["phone"] == "13800138000"
    walker.press("cs", "yes")
    assert walker.dlg.step == "summary" and walker.dlg.answers["callback"] is True
    assert "13800138000" in walker.intake.screens.summary(walker.dlg)


def test_shared_contact_must_be_own(walker: Walker) -> None:
    file_by_buttons_until_story(walker)
    walker.send(Text("孩子生病"))
    walker.press("ct", "phone")
    walker.send(SharedContact("+8613800138000", own=False))
    assert "phone" not in walker.dlg.answers
    walker.send(SharedContact("+8613800138000", own=True))
    assert walker.dlg.answers["phone"] == "+8613800138000"


def test_same_button_twice_changes_nothing(walker: Walker) -> None:
    walker.send(Command("start"))
    walker.press("mn", "report")
    data = walker.button("dg", "no").data
    walker.send(Press(data))
    state = (walker.dlg.step, dict(walker.dlg.answers), walker.dlg.version)
    out = walker.send(Press(data))
    assert (walker.dlg.step, walker.dlg.answers, walker.dlg.version) == state
    assert out.notice and not out.replies


def test_button_from_old_message_is_refused_and_prompt_repeated(walker: Walker) -> None:
    walker.send(Command("start"))
    walker.press("mn", "report")
    old = walker.button("dg", "yes").data
    walker.press("dg", "no")
    walker.press("rp", "other")
    out = walker.send(Press(old))
    assert walker.dlg.answers["danger"] == "no" and walker.dlg.step == "place"
    assert "过时" in out.replies[0].text
    assert out.replies[1].buttons  # the current question again


def test_forged_callback_data_is_harmless(walker: Walker) -> None:
    walker.send(Command("start"))
    for data in ["", "x", "1:zz:1", "999999:dg:yes", f"{walker.dlg.version}:dg:maybe"]:
        walker.send(Press(data))
        assert walker.dlg.step == "menu"


def test_start_in_the_middle_offers_resume_or_restart(walker: Walker) -> None:
    file_by_buttons_until_story(walker)
    answers = public(walker.dlg.answers)
    walker.send(Command("start"))
    assert walker.dlg.step == "story" and public(walker.dlg.answers) == answers
    walker.press("rs", "resume")
    assert walker.dlg.step == "story" and public(walker.dlg.answers) == answers
    walker.send(Command("start"))
    walker.press("rs", "restart")
    assert walker.dlg.step == "danger" and public(walker.dlg.answers) == {}


def test_cancel_and_unknown_command(walker: Walker) -> None:
    out = walker.send(Command("frobnicate"))
    assert "/frobnicate" in out.replies[0].text and walker.dlg.step == "menu"
    out = walker.send(Command("cancel"))
    assert "没有" in out.replies[0].text
    file_by_buttons_until_story(walker)
    walker.send(Command("cancel"))
    assert walker.dlg.step == "menu" and public(walker.dlg.answers) == {}


def test_change_an_answer_returns_to_summary(walker: Walker) -> None:
    file_by_buttons_until_story(walker)
    walker.send(Text("孩子生病"))
    walker.press("ct", "anon")
    walker.press("sm", "edit")
    walker.press("ed", "age")
    walker.press("ag", "12-14")
    assert walker.dlg.step == "summary" and walker.dlg.answers["age"] == "12-14"
    walker.press("sm", "edit")
    walker.press("ed", "place")
    walker.send(Text("广州 从化 街口"))
    walker.press("pk", "440117001000")
    assert walker.dlg.step == "summary"


def test_confirm_twice_submits_once(walker: Walker) -> None:
    file_by_buttons(walker)
    assert isinstance(walker.last.effect, Submit)
    confirm = walker.last
    assert confirm.changed
    walker.intake.after_submit(walker.dlg, "ABCD2345")
    out = walker.send(Press(walker.button("sm", "ok").data))
    assert out.effect is None
    assert "ABCD2345" in out.replies[0].text


def test_language_switch_keeps_the_step(walker: Walker) -> None:
    file_by_buttons_until_story(walker)
    walker.send(Command("language"))
    out = walker.press("lg", "en")
    assert walker.dlg.locale == "en" and walker.dlg.step == "story"
    assert "what happened" in out.replies[1].text


def test_status_from_menu_and_by_command(walker: Walker) -> None:
    walker.send(Command("start"))
    out = walker.press("mn", "status")
    assert out.effect == LookupStatus(None)
    out = walker.send(Text("abcd2345"))
    assert out.effect == LookupStatus("ABCD2345")
    out = walker.send(Command("status", "xy12zz34"))
    assert out.effect == LookupStatus("XY12ZZ34")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("(020) 8123 4567", "02081234567"),
        ("12345", None),
        ("call me", None),
        ("1" * 16, None),
    ],
)
def test_phone_normalisation(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


def test_p0_by_its_concerns_says_call_110_120_before_the_next_question(walker: Walker) -> None:
    """Not "in danger now", but sexual harm makes the report P0: the reporter hears to
    call 110/120 as soon as that is known, once."""
    file_by_buttons_until_story(walker)  # unsure, illness: P1, no advice
    assert all("110" not in r.text for r in walker.last.replies)
    walker.send(Text("孩子生病"))
    walker.press("ct", "anon")
    walker.press("sm", "edit")
    walker.press("ed", "concerns")
    walker.press("cn", "sexual")
    out = walker.press("cd")
    assert "110" in out.replies[0].text and "120" in out.replies[0].text
    assert walker.dlg.step == "summary"
    walker.press("sm", "edit")
    walker.press("ed", "concerns")
    assert all("110" not in r.text for r in walker.press("cd").replies)  # once is enough


def test_from_the_phone_step_the_reporter_can_still_stay_anonymous(walker: Walker) -> None:
    file_by_buttons_until_story(walker)
    walker.send(Text("孩子生病"))
    out = walker.press("ct", "phone")
    assert out.replies[0].ask_contact  # the share-my-number keyboard, and a way out
    assert [b.data.split(":")[1:] for row in out.replies[1].buttons for b in row] == [
        ["ct", "anon"]
    ]
    out = walker.press("ct", "anon")
    assert out.replies[0].remove_keyboard
    assert walker.dlg.step == "summary" and walker.dlg.answers["anonymous"] is True
    assert "phone" not in walker.dlg.answers


def test_typed_place_words_are_dropped_when_the_place_is_chosen_by_buttons(
    walker: Walker,
) -> None:
    _to_place_step(walker)
    walker.send(Text("从化区街口街道"))
    walker.press("pb")  # none of these
    walker.press("pc", "440100000000")
    walker.press("pn", "440117000000")
    other = next(
        b.data.split(":")[2]
        for b in walker.buttons
        if b.data.split(":")[1] == "pt" and b.data.split(":")[2] != "440117001000"
    )
    walker.press("pt", other)
    assert walker.dlg.answers["place"] == other
    assert "place_text" not in walker.dlg.answers


# ---- the urgent report: filed at the place, the rest added --------------------------


def _urgent_until_place(w: Walker) -> None:
    w.send(Command("start"))
    w.press("mn", "report")
    out = w.press("dg", "yes")
    call = out.replies[0].text
    assert "110" in call and "120" in call and "12355" in call
    assert "还没有发送" in call  # says exactly what has not been sent
    w.press("rp", "neighbour")


def test_in_danger_now_the_report_is_filed_as_soon_as_the_place_is_chosen(walker: Walker) -> None:
    w = walker
    _urgent_until_place(w)
    w.press("pc", "440100000000")
    w.press("pn", "440117000000")
    out = w.press("pt", "440117001000")
    assert out.effect == Submit(urgent=True)
    assert w.interactions == 7
    assert w.dlg.answers["place"] == "440117001000" and "age" not in w.dlg.answers


def test_in_danger_now_a_typed_place_files_once_confirmed(walker: Walker) -> None:
    w = walker
    _urgent_until_place(w)
    out = w.send(Text("从化区街口街道"))
    assert out.effect is None and w.dlg.step == "place_pick"
    out = w.press("pk", "440117001000")
    assert out.effect == Submit(urgent=True)


def _filed(w: Walker) -> None:
    _urgent_until_place(w)
    w.press("pc", "440100000000")
    w.press("pn", "440117000000")
    w.press("pt", "440117001000")
    follow = w.intake.after_urgent_filing(w.dlg, "URGENT22", 41)
    w.last = Outcome(follow)
    w.buttons = [b for r in follow for row in r.buttons for b in row]


def test_after_urgent_filing_each_answer_is_an_addition(walker: Walker) -> None:
    w = walker
    _filed(w)
    assert w.dlg.step == "age" and w.button("rs", "stop")  # every question may be left
    out = w.press("ag", "6-11")
    assert out.effect == AddToReport(("age",))
    assert out.replies[0].text.startswith("✅ 已补充到报告 <code>URGENT22</code>：年龄")
    assert w.press("sx", "m").effect == AddToReport(("sex",))
    w.press("cn", "physical")
    assert w.press("cd").effect == AddToReport(("concerns",))
    assert w.send(Text("邻居家孩子被打得流血")).effect == AddToReport(("story",))
    w.press("ct", "phone")
    out = w.send(Text("13800138000"))
    assert out.effect is None and w.dlg.step == "consent"  # the phone goes with the consent
    out = w.press("cs", "yes")
    assert out.effect == AddToReport(("contact",))
    assert "都已转给工作站" in w.texts() and w.dlg.step == "menu"
    assert w.dlg.answers == {"_last_code": "URGENT22", "_last_press": w.dlg.answers["_last_press"]}


def test_stopping_the_additions_says_the_report_was_sent(walker: Walker) -> None:
    w = walker
    _filed(w)
    w.press("ag", "6-11")
    out = w.send(Command("cancel"))
    assert "URGENT22" in w.texts() and "已经转交" in w.texts()
    assert "没有提交" not in w.texts() and out.effect is None
    assert w.dlg.step == "menu"


def test_start_during_additions_offers_to_go_on_or_stop(walker: Walker) -> None:
    w = walker
    _filed(w)
    w.send(Command("start"))
    assert "URGENT22" in w.texts() and w.dlg.step == "age"
    assert w.press("rs", "resume").replies[0].text == w.intake.screens.prompt(w.dlg).text
    w.send(Command("start"))
    w.press("rs", "stop")
    assert "已经转交" in w.texts() and w.dlg.step == "menu"


def test_a_photo_after_urgent_filing_is_added(walker: Walker) -> None:
    w = walker
    _filed(w)
    w.press("ag", "6-11")
    w.press("sx", "m")
    w.press("cn", "physical")
    w.press("cd")
    assert w.send(Photo("file-1")).effect == AddToReport(("photos",))
    assert w.send(Photo("file-2", caption="孩子身上有伤")).effect == AddToReport(
        ("photos", "story")
    )
    assert w.dlg.step == "contact"


def test_danger_changed_to_yes_at_the_summary_files_at_once(walker: Walker) -> None:
    w = walker
    file_by_buttons_until_story(w)
    w.send(Text("孩子生病"))
    w.press("ct", "anon")
    w.press("sm", "edit")
    w.press("ed", "danger")
    out = w.press("dg", "yes")
    assert out.effect == Submit(urgent=True)
    call = out.replies[0].text  # the numbers first, and that it is being sent now
    assert "110" in call and "12355" in call and "现在就" in call
    assert w.intake.after_urgent_filing(w.dlg, "URGENT33", 5) == []  # nothing is missing
    assert w.dlg.step == "menu"


def test_concerns_that_make_it_p0_say_it_is_sent_on_confirming(walker: Walker) -> None:
    file_by_buttons_until_story(walker)
    walker.send(Text("孩子生病"))
    walker.press("ct", "anon")
    walker.press("sm", "edit")
    walker.press("ed", "concerns")
    walker.press("cn", "sexual")
    text = walker.press("cd").replies[0].text
    assert "确认提交后" in text and "还没有发送" in text and "12355" in text


def test_cancel_in_the_policy_questions_goes_back_to_the_menu(intake: Intake) -> None:
    dlg = Dialogue(step="faq", version=3)
    out = intake.handle(dlg, Command("cancel"))
    assert dlg.step == "menu" and dlg.version == 4
    assert [r.text for r in out.replies] == [ZH["menu"]]
