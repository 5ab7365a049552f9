"""The Traditional Chinese catalogue (flows.hant, flows.texts.ZH_HANT) and telling which
script someone types."""

from __future__ import annotations

import pytest

from flows import hant
from flows.dialogue import LANGUAGE_CHOSEN, Dialogue, fresh
from flows.events import Text
from flows.languages import follow_script
from flows.texts import CATALOGUES, ZH, ZH_HANT, t


@pytest.mark.parametrize("key", sorted(ZH_HANT))
def test_no_simplified_only_character_remains_in_a_traditional_text(key: str) -> None:
    assert hant.simplified_only(ZH_HANT[key]) == set(), (key, ZH_HANT[key])


def test_the_check_itself_finds_simplified_characters() -> None:
    assert hant.simplified_only("这里发送视频") == {"这", "里", "发", "视", "频"}
    assert hant.simplified_only("這裏發送影片 OK 123") == set()


def test_every_text_is_converted_and_its_markup_and_placeholders_kept() -> None:
    assert ZH_HANT["menu"].startswith("您好，這裏是<b>護童之聲</b>求助線")
    assert ZH_HANT["submitted"].count("{code}") == ZH["submitted"].count("{code}") == 2
    assert "<code>{code}</code>" in ZH_HANT["submitted"]
    changed = sum(ZH_HANT[k] != ZH[k] for k in ZH)
    assert changed > 0.8 * len(ZH)  # most texts have a character that differs


@pytest.mark.parametrize(
    ("simplified", "traditional"),
    [
        ("视频", "影片"),
        ("请点击“确认提交”", "請按「確認提交」"),
        ("您补充的信息", "您補充的資料"),
        ("直接回复说明原因", "直接回覆說明原因"),
        ("12355（青少年服务台）", "12355（青少年服務台）"),
        ("干净的头发", "乾淨的頭髮"),  # OpenCC's phrases, not character by character
        ("本群已绑定", "本群已綁定"),
    ],
)
def test_reviewed_terms_read_as_a_traditional_reader_writes_them(
    simplified: str, traditional: str
) -> None:
    assert hant.to_hant(simplified) == traditional


def test_the_language_is_named_in_its_own_script() -> None:
    assert t("zh-Hant", "language.set") == "已切換為繁體中文。"
    assert t("zh", "language.set") == "已切换为简体中文。"
    assert "繁體中文" in CATALOGUES["zh-Hant"]["language.followed"]


@pytest.mark.parametrize(
    ("typed", "traditional"),
    [
        ("廣州市從化區街口街道", True),
        ("從化 街口", True),
        ("广州市从化区街口街道", False),
        ("街口", False),  # the same in both scripts: says nothing
        ("conghua jiekou", False),
        ("廣州 从化", False),  # a mixture is not someone writing Traditional
    ],
)
def test_typed_traditional_is_recognised(typed: str, traditional: bool) -> None:
    assert hant.is_traditional(typed) is traditional


def test_typing_traditional_where_one_first_writes_switches_once() -> None:
    dlg = Dialogue(step="place")
    reply = follow_script(dlg, Text("從化區街口"))
    assert reply is not None and dlg.locale == "zh-Hant"
    assert "/language" in reply.text
    assert follow_script(dlg, Text("從化區街口")) is None  # already Traditional


def test_a_chosen_language_is_not_guessed_over_and_outlives_a_report() -> None:
    dlg = Dialogue(step="place", answers={LANGUAGE_CHOSEN: "zh"})
    assert follow_script(dlg, Text("從化區街口")) is None and dlg.locale == "zh"
    dlg.answers = fresh(dlg, _last_code="ABCD2345")
    assert dlg.answers == {LANGUAGE_CHOSEN: "zh", "_last_code": "ABCD2345"}
    # Only where one first writes: the story is not a language choice.
    story = Dialogue(step="story")
    assert follow_script(story, Text("佢話唔想返屋企")) is None and story.locale == "zh"
