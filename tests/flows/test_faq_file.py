"""flows.faq_file: the operators' TOML file of policy answers is read whole or refused with
every problem's line and entry — and the starter file shipped with hutong reads cleanly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flows.faq_file import ANSWER_MAX, QUESTION_MAX, FaqFileError, parse, traditional_in

EXAMPLE = Path(__file__).resolve().parents[2] / "faq.example.toml"

GOOD = """\
# two entries
[[entry]]
id = "liushou"
question = "什么是农村留守儿童？"
answer = \"\"\"
农村留守儿童是指父母双方外出务工或一方外出务工另一方无监护能力、不满十六周岁的未成年人。
\"\"\"
keywords = ["留守儿童", "外出务工"]
source_title = "《国务院关于加强农村留守儿童关爱保护工作的意见》（国发〔2016〕13号）"
source_date = 2016-02-04

[[entry]]
id = "kunjing"
question = "什么是困境儿童？"
answer = "困境儿童包括因家庭贫困导致生活、就医、就学等困难的儿童。"
keywords = ["困境儿童"]
question_en = "Who counts as a child in difficulty?"
answer_en = "Children facing hardship because of family poverty, among others."
keywords_en = ["children in difficulty"]
source_title = "《国务院关于加强困境儿童保障工作的意见》（国发〔2016〕36号）"
source_date = "2016-06-13"
source_url = "https://example.org/36"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(FaqFileError) as caught:
        parse(text, name="f.toml")
    return caught.value.problems


def test_a_good_file_reads_whole_in_its_order() -> None:
    first, second = parse(GOOD)
    assert (first.key, second.key) == ("liushou", "kunjing")
    assert set(first.texts) == {"zh"} and set(second.texts) == {"zh", "en"}
    assert first.texts["zh"].answer.startswith("农村留守儿童是指")  # stripped of blank lines
    assert first.texts["zh"].keywords == ("留守儿童", "外出务工")
    assert first.source_date == date(2016, 2, 4) and second.source_date == date(2016, 6, 13)
    assert (first.source_url, second.source_url) == (None, "https://example.org/36")
    assert second.texts["en"].keywords == ("children in difficulty",)


def test_the_starter_file_reads_cleanly_and_cites_every_source() -> None:
    entries = parse(EXAMPLE.read_text(encoding="utf-8"), name=EXAMPLE.name)
    assert 5 <= len(entries) <= 8
    for entry in entries:
        # A title in 《》 with its document number or revision, and a date.
        assert entry.source_title.startswith("《") and "》（" in entry.source_title
        assert entry.source_date.year >= 2016
        assert set(entry.texts) == {"zh", "en"}
    header = EXAMPLE.read_text(encoding="utf-8").split("[[entry]]", 1)[0]
    assert "审核" in header and "review" in header  # operators are told to review it


def test_a_missing_field_is_named_at_its_entry_header() -> None:
    text = GOOD.replace("source_date = 2016-02-04\n", "")
    assert problems(text) == ["f.toml:2: entry 1 (id 'liushou'): missing \"source_date\""]


def test_a_duplicate_id_names_both_places() -> None:
    text = GOOD.replace('id = "kunjing"', 'id = "liushou"')
    assert problems(text) == [
        "f.toml:13: entry 2 (id 'liushou'): the id is already used by entry 1 (line 3)"
    ]


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ('"2016-02-30"', '"source_date" must be a date like 2016-06-13'),
        ('"2016年2月4日"', '"source_date" must be a date like 2016-06-13'),
        ("2016-02-04T10:00:00", '"source_date" must be a date like 2016-06-13 (no time of day)'),
        ("20160204", '"source_date" must be a date like 2016-06-13 (no time of day)'),
    ],
)
def test_a_bad_date_is_refused_on_its_line(written: str, said: str) -> None:
    text = GOOD.replace("source_date = 2016-02-04", f"source_date = {written}")
    assert problems(text) == [f"f.toml:10: entry 1 (id 'liushou'): {said}"]


def test_a_date_toml_cannot_read_is_reported_with_toml_s_line() -> None:
    text = GOOD.replace("source_date = 2016-02-04", "source_date = 2016-02-30")
    (said,) = problems(text)
    assert said.startswith("f.toml: not valid TOML:") and "line 10" in said


def test_an_unknown_key_is_named_with_the_known_ones() -> None:
    text = GOOD.replace('keywords = ["困境儿童"]', 'keywords = ["困境儿童"]\nanswr = "x"')
    (said,) = problems(text)
    assert said.startswith("f.toml:17: entry 2 (id 'kunjing'): unknown key \"answr\" (known: id,")
    top = problems("title = 'x'\n" + GOOD)
    assert top == ["f.toml:1: unknown top-level key 'title' (only [[entry]] tables)"]


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    text = (
        GOOD.replace('id = "kunjing"', 'id = "Kun Jing"')
        .replace('keywords = ["留守儿童", "外出务工"]', 'keywords = "留守儿童"')
        .replace('question = "什么是困境儿童？"', 'question = "什麼是困境兒童？"')
        .replace("answer_en = ", "answer_english = ")
    )
    lines = [p.split(":")[1] for p in problems(text)]
    assert lines == sorted(lines, key=int)
    said = "\n".join(problems(text))
    assert "f.toml:8: entry 1 (id 'liushou'): \"keywords\" must be a list of texts" in said
    assert "f.toml:13: entry 2 (id 'Kun Jing'): \"id\" must be 1–24 of a-z" in said
    assert '"question" must be Simplified Chinese: has 麼兒 (Traditional is derived)' in said
    assert 'unknown key "answer_english"' in said
    assert "question_en without answer_en" in said


def test_texts_are_checked_for_length_lines_and_control_characters() -> None:
    long_question = "问" * (QUESTION_MAX + 1)
    said = problems(GOOD.replace("什么是困境儿童？", long_question))
    assert said == [
        f"f.toml:14: entry 2 (id 'kunjing'): \"question\" is {QUESTION_MAX + 1} characters,"
        f" at most {QUESTION_MAX}"
    ]
    too_long = "答" * (ANSWER_MAX + 1)
    assert (
        "at most 1500"
        in problems(
            GOOD.replace("困境儿童包括因家庭贫困导致生活、就医、就学等困难的儿童。", too_long)
        )[0]
    )
    assert (
        "must be one line" in problems(GOOD.replace("什么是困境儿童？", "什么是\\n困境儿童？"))[0]
    )
    assert (
        "control character (U+0007)"
        in problems(GOOD.replace("困境儿童包括", "困境\\u0007儿童包括"))[0]
    )
    assert "must be text in quotes" in problems(GOOD.replace('id = "kunjing"', "id = 5"))[0]
    assert "http:// or https://" in problems(GOOD.replace("https://example.org/36", "ftp://x"))[0]


def test_english_comes_as_a_question_and_an_answer_together() -> None:
    said = problems(
        GOOD.replace(
            'answer_en = "Children facing hardship because of family poverty, among others."\n', ""
        )
    )
    assert said == [
        "f.toml:17: entry 2 (id 'kunjing'): question_en without answer_en: add answer_en,"
        " or remove question_en"
    ]


def test_a_file_without_entries_is_refused() -> None:
    assert problems("# nothing yet\n") == ["f.toml:1: no [[entry]] tables"]
    assert problems('entry = "x"\n') == ["f.toml:1: no [[entry]] tables"]


def test_a_key_like_line_inside_an_answer_is_not_taken_for_a_key() -> None:
    text = (
        '[[entry]]\nid = "x"\nanswer = """\n答案的第一行\nquestion = "这不是键"\n"""\n'
        'question = 5\nkeywords = ["关键词"]\nsource_title = "《标题》（文号）"\n'
        "source_date = 2020-10-17\n"
    )
    assert problems(text) == ["f.toml:7: entry 1 (id 'x'): \"question\" must be text in quotes"]


def test_traditional_characters_are_found_and_simplified_ones_are_not() -> None:
    assert traditional_in("留守兒童的補貼") == ["兒", "補", "貼"]
    # Characters Simplified writing keeps (著名, 干部, 里面, 头发) are not Traditional.
    assert traditional_in("著名的干部在里面理头发") == []
