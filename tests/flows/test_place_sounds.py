"""Townships found by how they sound: homophone typos (从化区街扣街道) and pinyin (conghua jiekou),
flows.place_sounds with flows.places.Directory.find; the accuracy over every township in
each typed form (tests/fakes/typed_places.py), printed (``pytest -s``) and held to the
issue's thresholds."""

from __future__ import annotations

import random

import pytest
from typed_places import FORMS, Typist, score, table

from flows import place_steps
from flows.alias_index import AliasIndex
from flows.dialogue import Dialogue
from flows.events import Text
from flows.intake import Intake
from flows.place_sounds import Readings, Speller, from_data_file, from_pypinyin, readings
from flows.places import Directory, Place
from storage.directory_data import DivisionRow, read_bundled_divisions

CONGHUA = "440117000000"
JIEKOU = "440117001000"  # 街口街道, 从化区, 广州市
XIANCUN_ZENGCHENG = "440118107000"  # 仙村镇, 增城区 (xian cun)
XIANCUN_TIANHE = "440106014000"  # 冼村街道, 天河区 (xian cun too)
QIANKENG = "445222113000"  # 钱坑镇, 揭西县


@pytest.fixture(scope="module")
def rows() -> list[DivisionRow]:
    return read_bundled_divisions()


def codes(places: list[Place]) -> list[str]:
    return [p.code for p in places]


# --- the acceptance: every township, each form --------------------------------------


def test_accuracy_per_form(directory: Directory, rows: list[DivisionRow]) -> None:
    tallies = score(directory, Typist(directory, rows).cases())
    headers, lines = table(tallies)
    widths = [max(len(h), *(len(r[k]) for r in lines)) for k, h in enumerate(headers)]
    print()
    for line in (headers, *lines):
        print("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)))
    for form in FORMS:
        t = tallies[form]
        assert t.cases >= 300, form
        assert t.top1 >= 0.90 * t.cases, (form, t.top1, t.cases)
        assert t.wrong <= 0.01 * t.cases, (form, t.wrong_examples)


def test_the_cases_are_what_they_claim(directory: Directory, rows: list[DivisionRow]) -> None:
    typist = Typist(directory, rows)
    table_ = readings()
    for case in typist.cases(seed=3)[:600]:
        if case.form.startswith("homophone"):
            county = directory.county_of(case.township.code) or directory.city_of(
                case.township.code
            )
            assert county is not None and case.text.startswith(county.name)
            typed = case.text[len(county.name) :]
            name = case.township.name
            assert len(typed) == len(name) and typed != name
            changed = [(a, b) for a, b in zip(typed, name, strict=True) if a != b]
            assert len(changed) == int(case.form[-1]), case
            for a, b in changed:  # each replacement shares a reading with what it replaces
                assert set(table_.of(a)) & set(table_.of(b)), (a, b)
        else:
            assert case.text.replace(" ", "").isascii() and case.text.replace(" ", "").isalpha()


# --- plain cases ------------------------------------------------------------------------


def test_a_homophone_finds_the_township(directory: Directory) -> None:
    for text in ("街扣", "街扣街道", "从化街扣", "从化区街扣街道", "广州市从化区接扣街道"):
        found = directory.find(text)
        assert codes(found.places)[0] == JIEKOU, text
        assert found.by_sound, text


@pytest.mark.parametrize(
    "text",
    [
        "conghua jiekou",
        "Conghua Qu Jiekou Jiedao",
        "CONGHUAJIEKOU",
        "conghuajiekou",
        "jiekou",
        "jie kou",
        "JieKou Jiedao",
        "从化 jiekou",
        "guangdong guangzhou conghua jiekou",
        "ｃｏｎｇｈｕａ　ｊｉｅｋｏｕ",  # full-width letters and space
        "Conghua Qu Jiekou Jiedao Xinchengshequ",  # a village after it: not sound-indexed
    ],
)
def test_pinyin_finds_the_township(directory: Directory, text: str) -> None:
    found = directory.find(text)
    assert codes(found.places) == [JIEKOU], text
    assert found.by_sound


def test_a_county_in_pinyin(directory: Directory) -> None:
    assert codes(directory.match("conghua")) == [CONGHUA]
    assert codes(directory.match("Conghua Qu")) == [CONGHUA]


def test_ambiguous_pinyin_offers_every_township_it_may_be(directory: Directory) -> None:
    found = directory.find("xiancun")
    assert found.by_sound
    assert set(codes(found.places)) == {XIANCUN_ZENGCHENG, XIANCUN_TIANHE}
    # The county decides between them.
    assert codes(directory.match("zengcheng xiancun")) == [XIANCUN_ZENGCHENG]
    assert codes(directory.match("增城 xiancun")) == [XIANCUN_ZENGCHENG]
    several = directory.match("xintang")
    assert len(several) >= 3 and {p.level for p in several} == {"township"}


def test_an_exact_name_wins_over_a_sound_alike(directory: Directory) -> None:
    for text, right, sound_alike in (
        ("仙村", XIANCUN_ZENGCHENG, XIANCUN_TIANHE),
        ("冼村", XIANCUN_TIANHE, XIANCUN_ZENGCHENG),
        ("仙村镇", XIANCUN_ZENGCHENG, XIANCUN_TIANHE),
    ):
        found = directory.find(text, limit=50)
        assert codes(found.places)[0] == right
        assert sound_alike not in codes(found.places)
        assert not found.by_sound


def test_a_sound_alike_is_no_better_than_what_the_characters_explain(
    directory: Directory,
) -> None:
    # The characters explain 从化区街口街道; the stray 扣 is explained by nothing.
    found = directory.find("从化区街口街道扣")
    assert codes(found.places) == [JIEKOU] and not found.by_sound


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        # Characters that name a place are not heard as another: 坪山区坪山街道 sounds the same.
        ("平山 平山", "平山镇"),
        # 那霍 is not 南沙 though 南 may be read na and 霍 and 沙 suo: unusual on both sides.
        ("那霍 那霍", "那霍镇"),
        # 市 is shi in a name, never fu: 浮山浮 is not 佛山市.
        ("浮山 浮山", "浮山镇"),
    ],
)
def test_odd_readings_make_no_sound_alike(directory: Directory, text: str, exact: str) -> None:
    found = directory.find(text)
    assert found.places[0].name == exact and not found.by_sound


def test_a_character_read_before_simplification_counts(directory: Directory) -> None:
    # 乾 (qian, 乾坤) typed for 钱: OpenCC makes it 干 (gan); its own reading still counts.
    for text in ("揭西县乾坑镇", "乾坑"):
        assert codes(directory.match(text))[0] == QIANKENG, text


@pytest.mark.parametrize(
    "text",
    [
        "asdf",
        "hello world",
        "qwerty",
        "xyz",
        "zzzz",
        "lorem ipsum dolor",
        "我想举报虐待儿童",
        "孩子被打了",
        "邻居家的小孩没人管",
        "jiekouxx",  # a run that is not pinyin throughout
    ],
)
def test_nonsense_finds_nothing(directory: Directory, text: str) -> None:
    assert directory.match(text) == []


def test_over_long_input_is_still_refused_or_cut(directory: Directory) -> None:
    dlg = Dialogue(step="place")
    assert place_steps.typed(directory, dlg, "conghua jiekou " * 5) == "too_long"
    assert "_candidates" not in dlg.answers
    # The matcher reads the first 50 characters, even cut inside a syllable.
    assert codes(directory.match("conghuajiekou" * 1000))[0] == JIEKOU
    assert directory.match("x" * 100_000) == []


def test_without_the_sound_index_only_characters_match(rows: list[DivisionRow]) -> None:
    plain = Directory.from_rows(rows, sounds=False)
    assert plain.match("conghua jiekou") == []
    assert plain.match("街扣") == []
    assert codes(plain.match("从化区街口街道")) == [JIEKOU]


def test_exact_queries_answer_as_without_the_sound_index(
    directory: Directory, rows: list[DivisionRow]
) -> None:
    # What the characters explain whole never reaches the sound pass.
    plain = Directory.from_rows(rows, sounds=False)
    rng = random.Random(5)
    sample = rng.sample([r for r in rows if r.level in ("township", "village")], 1500)
    for row in sample:
        for text in (row.name, directory.full_name(row.code)):
            assert directory.match(text) == plain.match(text), text


# --- in the dialogue ------------------------------------------------------------------------


def test_the_bot_asks_before_taking_a_sound_alike(intake: Intake) -> None:
    dlg = Dialogue(step="place", answers={"danger": "no", "reporter": "teacher"})
    out = intake.handle(dlg, Text("conghua jiekou"))
    assert dlg.step == "place_pick"
    assert dlg.answers["_candidates"] == [JIEKOU]
    assert "是这里吗" in out.replies[0].text and "街口街道" in out.replies[0].text
    assert "place" not in dlg.answers  # nothing settled until the reporter says yes


# --- the parts ------------------------------------------------------------------------------


def test_readings_from_the_data_file_are_pypinyins() -> None:
    from_file = from_data_file()
    assert from_file is not None
    through_api = from_pypinyin()
    assert len(from_file) == len(through_api) > 40_000
    assert from_file.syllables == through_api.syllables
    for point in range(0x3400, 0xA000):
        assert from_file.of(chr(point)) == through_api.of(chr(point)), hex(point)


def test_readings_of_polyphones_and_others() -> None:
    table = readings()
    assert table.spell(table.of("街")) == "jie"
    assert set(table.spell(table.of("长")).split()) == {"zhang", "chang"}
    assert set(table.spell(table.of("涌")).split()) == {"yong", "chong"}  # 涌 in 东涌
    assert table.spell(table.of("吕")) == "lv"
    assert table.of("a") == table.of("1") == ""
    assert [table.spell(k) for k in table.keys("街口")] == ["jie kou"]
    assert len(table.keys("长乐")) == 4  # zhang/chang × le/yue
    assert table.keys("街1") == []


def test_readings_refuse_code_points_out_of_order() -> None:
    with pytest.raises(ValueError, match="ascending"):
        Readings([(0x8857, ["jie"]), (0x53E3, ["kou"])])


def test_a_latin_run_splits_only_into_whole_syllables() -> None:
    table = readings()
    keys = [*table.keys("西安"), *table.keys("县"), *table.keys("街口")]
    speller = Speller(table, "".join(keys))

    def spelt(text: str, cut: bool = False) -> list[list[tuple[str, int]]]:
        lattice = speller.lattice(text, cut=cut)
        assert not any(weak for es in lattice for _, _, weak in es)  # letters are as typed
        return [[(table.spell(s), end) for s, end, _ in es] for es in lattice]

    assert spelt("xian") == [[("xi", 2), ("xian", 4)], [], [("an", 4)], []]
    assert spelt("jiekou") == [[("jie", 3)], [], [], [("kou", 6)], [], []]
    assert all(es == [] for es in spelt("jiekoux"))  # "x" is no syllable: nothing
    assert spelt("jiekou1") == [[("jie", 3)], [], [], [("kou", 6)], [], [], []]
    cut = spelt("jiekouj", cut=True)
    assert cut[0] == [("jie", 3)] and cut[3] == [("kou", 6)] and cut[6] == []


def test_a_characters_other_readings_are_weak_edges() -> None:
    table = readings()
    speller = Speller(table, "")
    [edges] = speller.lattice("长")
    assert [(table.spell(s), weak) for s, _, weak in edges] == [("zhang", False), ("chang", True)]
    # 乾 typed, 干 read by OpenCC: the usual reading of each is usual.
    [edges] = speller.lattice("干", "乾")
    usual = {table.spell(s) for s, _, weak in edges if not weak}
    assert usual == {"gan", "qian"}


def test_scan_paths_finds_what_scanning_each_path_finds() -> None:
    index = AliasIndex(2, prefix_bits=1 << 10)
    index.add(0, {"ab": 2, "abc": 1})
    index.add(1, {"xbc": 2})
    index.add(2, {"bd": 1})
    index.done()
    # Position 0 reads a or x; position 1 b; position 2 c or d.
    edges = [
        [("a", 1, False), ("x", 1, False)],
        [("b", 2, False)],
        [("c", 3, False), ("d", 3, False)],
    ]
    found = sorted((s, e, sorted(p.items())) for s, e, p in index.scan_paths(edges))
    assert found == [
        (0, 2, [(0, 2)]),
        (0, 3, [(0, 1)]),
        (0, 3, [(1, 2)]),
        (1, 3, [(2, 1)]),
    ]
    # Along a weak edge only strength 2 is found: abc (1) and bd (1) are not.
    edges = [
        [("a", 1, False), ("x", 1, False)],
        [("b", 2, True)],
        [("c", 3, False), ("d", 3, False)],
    ]
    found = sorted((s, e, sorted(p.items())) for s, e, p in index.scan_paths(edges))
    assert found == [(0, 2, [(0, 2)]), (0, 3, [(1, 2)])]
    with pytest.raises(ValueError, match="power of two"):
        AliasIndex(2, prefix_bits=1000)


def test_an_unusual_reading_is_heard_for_a_usual_one_only() -> None:
    tiny = Directory.from_rows(
        [
            ("440100000000", "广州市", "city", None),
            ("440115000000", "南沙区", "county", "440100000000"),
            ("440115001000", "南沙街道", "township", "440115000000"),
        ]
    )
    # 南沙 is usually nan sha; na suo is a reading too. 拿梭 (na suo, as they are usually
    # read) may stand for it; 那霍 only by an unusual reading of 霍 (suo): no.
    assert [p.name for p in tiny.match("拿梭街道")] == ["南沙街道"]
    assert tiny.match("那霍街道") == []
    assert [p.name for p in tiny.match("难啥街道")] == ["南沙街道"]  # nan sha
