"""flows.faq_steps and flows.faq: what each policy-questions button and typed words ask for
(pure), and what the replies say in each language, against the database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from harness import FakeClock

from flows import faq, faq_steps, faq_store
from flows.dialogue import ConsultFaq, Dialogue
from flows.events import Press, Text
from flows.faq_file import Entry, Texts, parse
from flows.intake import Intake
from flows.texts import t
from storage.db import Database
from storage.models import Station

EXAMPLE = Path(__file__).resolve().parents[2] / "faq.example.toml"


def test_button_values_read_back_and_anything_else_is_refused() -> None:
    assert faq_steps.pressed(faq_steps.TOPICS) == ("faq", ConsultFaq())
    assert faq_steps.pressed(faq_steps.page(2)) == ("faq", ConsultFaq(page=2, edit=True))
    assert faq_steps.pressed(faq_steps.entry("kunjing")) == (
        "faq",
        ConsultFaq(key="kunjing", edit=True),
    )
    assert faq_steps.pressed(faq_steps.MENU) == ("menu", None)
    for forged in ("", "e", "p", "p-1", "p²", "x", "menu", "t1"):
        assert faq_steps.pressed(forged) is None, forged
    assert faq_steps.typed("  留守儿童 ") == ConsultFaq(words="留守儿童")
    assert faq_steps.typed("   ") == ConsultFaq()
    assert faq_steps.typed("字" * 500).words == "字" * faq_steps.WORDS_MAX


def test_the_machine_opens_the_step_from_the_menu_only(intake: Intake) -> None:
    dlg = Dialogue(step="menu", version=3)
    out = intake.handle(dlg, Press("3:fq:t"))
    assert (dlg.step, dlg.version, out.effect, out.replies) == ("faq", 4, ConsultFaq(), [])
    out = intake.handle(dlg, Text("留守儿童"))
    assert out.effect == ConsultFaq(words="留守儿童") and not out.changed
    out = intake.handle(dlg, Press("4:fq:ekunjing"))
    assert out.effect == ConsultFaq(key="kunjing", edit=True) and dlg.version == 5
    # In the middle of a report a policy button (forged: none is shown there) is stale.
    report = Dialogue(step="story", answers={"danger": "no"}, version=7)
    out = intake.handle(report, Press("7:fq:ekunjing"))
    assert report.step == "story" and out.effect is None
    assert out.replies[0].text == t("zh", "stale")
    # Another language keeps the step; its prompt is the way back to the topics.
    out = intake.handle(dlg, Press("5:lg:en"))
    assert dlg.step == "faq" and "Policy questions" in out.replies[1].text


def row(key: str, *, en: bool) -> Entry:
    texts = {
        "zh": Texts("什么是困境儿童？", "困境儿童包括因家庭贫困导致生活困难的儿童。", ("困境儿童",))
    }
    if en:
        texts["en"] = Texts("Who is a child in difficulty?", "Children in hardship.", ("hardship",))
    return Entry(
        key,
        texts,
        "《文件》（国发〔2016〕36号）",
        date(2016, 6, 13),
        "https://example.org/a?b=1&c=2",
    )


@pytest.fixture
async def stored(db: Database, clock: FakeClock) -> Database:
    async with db.unit() as session:
        await faq_store.replace_all(
            session=session, entries=[row("zh-en", en=True), row("zh-only", en=False)], now=clock()
        )
    return db


async def _answer(db: Database, key: str, locale: str) -> str:
    dlg = Dialogue(step="faq", locale=locale, version=1)
    async with db.unit() as session:
        (reply,) = await faq.consult(
            session=session, dlg=dlg, ask=ConsultFaq(key=key), channel="telegram", chat_id="1"
        )
    return reply.text


async def test_each_language_reads_its_own_or_is_told_it_is_chinese(stored: Database) -> None:
    zh = await _answer(stored, "zh-en", "zh")
    assert zh.startswith("<b>什么是困境儿童？</b>") and "2016年6月13日" in zh
    # The link's & is escaped once, as Telegram's HTML needs.
    assert "原文：https://example.org/a?b=1&amp;c=2" in zh
    en = await _answer(stored, "zh-en", "en")
    assert en.startswith("<b>Who is a child in difficulty?</b>") and "2016/6/13" in en
    assert t("en", "faq.chinese_only") not in en
    chinese = await _answer(stored, "zh-only", "en")
    assert "困境儿童包括" in chinese and t("en", "faq.chinese_only") in chinese


async def test_traditional_is_derived_from_the_simplified_entry(stored: Database) -> None:
    async with stored.unit() as session:
        entry = await faq_store.get(session, "zh-only")
    assert entry is not None
    words, translated = faq.words_of(entry, faq.HANT)
    assert translated and words["question"] == "什麼是困境兒童？"
    assert words["answer"] == "困境兒童包括因家庭貧困導致生活困難的兒童。"


async def test_an_answer_withdrawn_by_a_later_import_shows_the_topics(stored: Database) -> None:
    dlg = Dialogue(step="faq", version=1)
    async with stored.unit() as session:
        (reply,) = await faq.consult(
            session=session,
            dlg=dlg,
            ask=ConsultFaq(key="gone", edit=True),
            channel="telegram",
            chat_id="1",
        )
    assert reply.text.startswith(t("zh", "faq.gone")) and reply.edit
    assert [b.data for row in reply.buttons for b in row][:2] == ["1:fq:ezh-en", "1:fq:ezh-only"]


def test_the_station_line_says_what_is_known() -> None:
    station = Station(code="1", name="某某街道未成年人保护工作站", county_code="2", city_code="3")
    assert faq.station_text("zh", None) == t("zh", "faq.station_any")
    assert "<b>某某街道未成年人保护工作站</b>" in faq.station_text("zh", station)
    station.phone = "020-1234 5678"
    assert "电话 020-1234 5678" in faq.station_text("zh", station)
    assert "phone 020-1234 5678" in faq.station_text("en", station)


def test_the_starter_file_s_answers_fit_one_message() -> None:
    for entry in parse(EXAMPLE.read_text(encoding="utf-8")):
        for words in entry.texts.values():
            assert len(words.answer) < 4096 - 600  # room for the question, source, station
