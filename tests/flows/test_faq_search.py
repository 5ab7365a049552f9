"""flows.faq_search: typed words find the policy answers they are about — in Simplified,
Traditional or English, however phrased — and words about nothing in the file find none."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.faq_file import Entry, parse
from flows.faq_search import Document, grams, normalise, rank

EXAMPLE = Path(__file__).resolve().parents[2] / "faq.example.toml"


def document(entry: Entry) -> Document:
    texts = entry.texts.values()
    return Document.of(
        entry.key,
        question=[t.question for t in texts],
        answer=[t.answer for t in texts],
        keywords=[k for t in texts for k in t.keywords],
    )


@pytest.fixture(scope="module")
def documents() -> list[Document]:
    return [document(e) for e in parse(EXAMPLE.read_text(encoding="utf-8"))]


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("留守儿童", "liushou-ertong"),
        ("什么是困境儿童", "kunjing-ertong"),
        ("残疾孩子有什么保障", "kunjing-ertong"),
        ("孩子父母都坐牢了没人管", "shishi-wurenfuyang"),
        ("补贴怎么申请", "shishi-shenqing"),
        ("爸妈出去打工孩子给谁带", "waichu-zhaohu"),
        ("邻居打孩子", "faxian-weixian"),
        ("工作站在哪", "gongzuozhan"),
        # Traditional, as typed in Hong Kong or Macao: made Simplified first.
        ("留守兒童有甚麼補貼", "liushou-ertong"),
        ("事實無人撫養兒童點樣申請", "shishi-shenqing"),
        # Full-width letters, English.
        ("ｌｅｆｔ-behind children", "liushou-ertong"),
        ("how to apply for the allowance", "shishi-shenqing"),
    ],
)
def test_typed_words_find_their_entry_first(
    documents: list[Document], typed: str, first: str
) -> None:
    found = rank(documents, typed)
    assert found and found[0] == first, found
    assert 1 <= len(found) <= 3


@pytest.mark.parametrize(
    "typed", ["天气怎么样", "hello", "孩子", "儿童", "我家孩子不听话怎么办", "？？？", "12345"]
)
def test_words_about_nothing_in_the_file_find_nothing(
    documents: list[Document], typed: str
) -> None:
    assert rank(documents, typed) == []


def test_a_weak_tail_is_dropped_and_ties_keep_the_file_s_order(
    documents: list[Document],
) -> None:
    # 补贴 is a keyword of two entries: both offered, in the file's order.
    assert rank(documents, "补贴") == ["kunjing-ertong", "shishi-shenqing"]
    assert rank(documents, "补贴", limit=1) == ["kunjing-ertong"]
    assert rank([], "补贴") == []


def test_normalising_and_pairing() -> None:
    assert normalise("留守兒童 ＡＢＣ") == "留守儿童 abc"
    assert grams("留守儿童") == {"留守", "守儿", "儿童"}
    assert grams("什么 children childhood 钱") == {"child", "钱"}  # 什么 says nothing
