"""flows.red_flags: the screening of a reporter's words, pure. The labelled set
(tests/data/red_flags_cases.tsv) holds recall and false alarms to their thresholds; the
cases below pin the rules the set relies on (negation, Traditional and Cantonese, hyperbole,
the pattern syntax, priorities never lowered)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.red_flag_score import parse_cases, score, table
from flows.red_flags import (
    Flag,
    LexiconError,
    compile_pattern,
    from_json,
    lexicon,
    merge,
    parse,
    raised,
    screen,
)
from flows.texts import CATALOGUES, LOCALES

CASES = Path(__file__).resolve().parents[1] / "data" / "red_flags_cases.tsv"
RECALL_MIN = 0.95
FALSE_ALARMS_MAX = 0.05


def categories(text: str) -> set[str]:
    return {f.category for f in screen(text)}


def test_the_labelled_set_is_found_with_few_false_alarms() -> None:
    cases = parse_cases(CASES.read_text(encoding="utf-8"))
    result = score(cases)
    print("\n" + table(result))  # pytest -s shows the table
    # The set is the size and mix the brief asks for, so the rates mean something.
    assert len(cases) >= 200 and result.quiet >= 80
    assert {c.script for c in cases} == {"hans", "hant", "yue", "en"}
    assert all(count.expected >= 10 for count in result.per_category.values())
    assert result.recall >= RECALL_MIN, table(result)
    assert result.false_alarm_rate <= FALSE_ALARMS_MAX, table(result)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("他说想死", {"self_harm"}),
        ("佢話想死", {"self_harm"}),
        ("唔想活", {"self_harm"}),
        ("打到流血", {"severe_injury"}),
        ("畀人打", {"violence"}),
        ("鎖喺屋企", {"confined"}),
        ("不想活", {"self_harm"}),  # 不 + 想 is part of the flag, not a negation of it
        ("wants to die", {"self_harm"}),
        ("bleeding", {"severe_injury"}),
    ],
)
def test_the_briefs_words_raise_their_category(text: str, expected: set[str]) -> None:
    assert categories(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "没有被打",
        "冇被打",
        "不是想死",
        "他不想死",
        "沒有流血",
        "冇流血",
        "佢唔係想死",
        "他从来没有说过想死",
        "没有被打到流血",  # the negated 打到流血 takes its 流血 with it
        "三岁的孩子不是一个人在家",  # negated after a gap
        "he is not bleeding",
        "she never said she wants to die",
    ],
)
def test_a_negated_flag_is_no_flag(text: str) -> None:
    assert screen(text) == ()


@pytest.mark.parametrize(
    "text",
    ["没有办法，他说想死", "不知道他是不是想死", "佢系咪想死", "孩子不停地流血", "有没有被性侵"],
)
def test_a_cue_elsewhere_or_a_question_is_not_a_negation(text: str) -> None:
    assert screen(text) != ()


@pytest.mark.parametrize(
    "text",
    ["笑死了", "累死了", "饿死了", "想死你了", "打电话", "打球", "死机", "跳楼价", "打死我也不说"],
)
def test_hyperbole_and_other_senses_raise_nothing(text: str) -> None:
    assert screen(text) == ()


def test_the_words_are_shown_as_the_reporter_wrote_them() -> None:
    [flag] = screen("佢俾人鎖喺屋企成日")
    assert flag == Flag("confined", "P0", ("俾人鎖喺屋企",))
    # One word for overlapping matches, the reporter's own spacing kept to one space.
    [injury] = screen("孩子被打到流血，流血很多")
    assert injury.words == ("打到流血", "流血")
    [english] = screen("He said he  WANTS to die")
    assert english.words == ("WANTS to die",)


def test_a_young_child_is_young_only_when_the_number_says_so() -> None:
    assert categories("3岁的孩子一个人在家") == {"young_alone"}
    assert categories("两岁的孩子被锁在家里") == {"young_alone", "confined"}
    assert screen("13岁的孩子一个人在家") == screen("十三岁的孩子一个人在家") == ()


def test_severe_injury_takes_the_plain_violence_it_overlaps() -> None:
    assert categories("他被打到流血了") == {"severe_injury"}
    assert categories("孩子经常被打，还说想死") == {"violence", "self_harm"}


def test_a_flag_raises_a_priority_and_never_lowers_one() -> None:
    p1 = Flag("violence", "P1", ("被打",))
    p0 = Flag("self_harm", "P0", ("想死",))
    assert raised("P2", [p1]) == "P1"
    assert raised("P2", [p1, p0]) == "P0"
    assert raised("P0", [p1]) == "P0"  # chosen by the buttons: kept
    assert raised("P1", []) == "P1"


def test_every_category_has_a_name_in_every_language_and_a_priority() -> None:
    lex = lexicon()
    assert len(lex.names) == 8
    for locale in LOCALES:
        for name in lex.names:
            assert f"redflag.{name}" in CATALOGUES[locale], (locale, name)
    expected_p0 = {"self_harm", "sexual_abuse", "severe_injury", "young_alone", "confined"}
    assert {c.name for c in lex.categories if c.priority == "P0"} >= expected_p0 | {"trafficking"}


def test_stored_flags_merge_and_keep_unknown_categories() -> None:
    a = (Flag("self_harm", "P0", ("想死",)),)
    b = (Flag("self_harm", "P0", ("跳楼", "想死")), Flag("violence", "P1", ("被打",)))
    assert merge(a, b) == (
        Flag("self_harm", "P0", ("想死", "跳楼")),
        Flag("violence", "P1", ("被打",)),
    )
    stored = [{"category": "retired", "words": ["x"]}, {"category": "violence", "words": []}]
    assert from_json(stored) == (Flag("retired", "P2", ("x",)), Flag("violence", "P1", ()))
    assert from_json(None) == from_json([]) == ()


def test_the_pattern_syntax_is_what_the_file_says() -> None:
    gap = compile_pattern("打.{0,3}流血")
    assert gap.search("打到佢流血") and not gap.search("打了很久很久流血")
    assert not gap.search("打。流血")  # never across the end of a sentence
    assert compile_pattern("(被|畀)人锁").search("畀人锁住")
    assert compile_pattern("鎖喺屋企").search("锁喺屋企")  # written in Traditional: same
    rape = compile_pattern("rape")
    assert rape.search("rape") and not rape.search("grape") and not rape.search("rapeseed")
    with pytest.raises(LexiconError):
        compile_pattern("a+b{2}")
    with pytest.raises(LexiconError):
        parse('[x]\npriority = "P9"\npatterns = ["a"]')
    with pytest.raises(LexiconError):
        parse('[x]\npriority = "P1"\npatterns = []')
    with pytest.raises(LexiconError):
        parse("[x")


def test_an_empty_or_blank_text_raises_nothing() -> None:
    assert screen("") == screen("   \n") == ()
