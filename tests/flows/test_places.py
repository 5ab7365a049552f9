"""Tests for flows.places: the directory lookups and free-text place matching."""

from __future__ import annotations

import time

import pytest

from flows.places import Directory, Place
from storage.directory_data import DivisionRow, read_bundled_divisions

GUANGZHOU = "440100000000"
CONGHUA = "440117000000"
JIEKOU = "440117001000"  # 街口街道, 从化区, 广州市: the station most tests aim at
XIONGFENG = "440117001203"  # 雄锋村委会 in 街口街道; "雄锋" occurs nowhere else in the data
XINCHENG_JIEKOU = "440117001001"  # 新城社区居委会 in 街口街道
JIEKOU_VILLAGE = "440117001202"  # 街口村委会 in 街口街道
DONGGUAN = "441900000000"
ZHONGSHAN = "442000000000"

LEVEL_RANK = {"city": 3, "county": 2, "township": 1, "village": 0}


@pytest.fixture(scope="module")
def rows() -> list[DivisionRow]:
    return read_bundled_divisions()


@pytest.fixture(scope="module")
def directory(rows: list[DivisionRow]) -> Directory:
    return Directory.from_rows(rows)


def codes(places: list[Place]) -> list[str]:
    return [p.code for p in places]


# --- lookups -------------------------------------------------------------------------------


def test_get(directory: Directory) -> None:
    assert directory.get(JIEKOU) == Place(JIEKOU, "街口街道", "township", CONGHUA)
    assert directory.get("449999999999") is None
    assert len(directory) == 28_680


def test_cities_sorted(directory: Directory) -> None:
    cities = directory.cities()
    assert len(cities) == 21
    assert codes(cities) == sorted(codes(cities))
    assert cities[0].name == "广州市"
    assert {c.level for c in cities} == {"city"}
    assert all(c.parent_code is None for c in cities)


def test_children_of_city(directory: Directory) -> None:
    kids = directory.children(GUANGZHOU)
    assert codes(kids) == sorted(codes(kids))
    assert {k.level for k in kids} == {"county"}
    assert {k.parent_code for k in kids} == {GUANGZHOU}
    assert "从化区" in [k.name for k in kids]
    assert len(kids) == 11


def test_children_of_county(directory: Directory) -> None:
    kids = directory.children(CONGHUA)
    assert codes(kids) == sorted(codes(kids))
    assert [k.name for k in kids][:3] == ["街口街道", "江埔街道", "城郊街道"]
    assert {k.level for k in kids} == {"township"}
    assert len(kids) == 10


def test_children_of_township(directory: Directory) -> None:
    kids = directory.children(JIEKOU)
    assert codes(kids) == sorted(codes(kids))
    assert {k.level for k in kids} == {"village"}
    assert len(kids) == 27
    assert directory.get(XIONGFENG) in kids


def test_children_of_city_without_counties(directory: Directory) -> None:
    for city in (DONGGUAN, ZHONGSHAN):
        kids = directory.children(city)
        assert kids
        assert {k.level for k in kids} == {"township"}
    assert "虎门镇" in [k.name for k in directory.children(DONGGUAN)]


def test_children_of_leaf_and_unknown(directory: Directory) -> None:
    assert directory.children(XIONGFENG) == []
    assert directory.children("449999999999") == []


def test_ancestors_of_village(directory: Directory) -> None:
    assert directory.township_of(XIONGFENG) == directory.get(JIEKOU)
    assert directory.county_of(XIONGFENG) == directory.get(CONGHUA)
    assert directory.city_of(XIONGFENG) == directory.get(GUANGZHOU)


def test_ancestors_at_each_level(directory: Directory) -> None:
    township = directory.township_of(JIEKOU)
    assert township is not None and township.code == JIEKOU
    county = directory.county_of(JIEKOU)
    assert county is not None and county.code == CONGHUA
    assert directory.township_of(CONGHUA) is None
    county = directory.county_of(CONGHUA)
    assert county is not None and county.code == CONGHUA
    city = directory.city_of(CONGHUA)
    assert city is not None and city.code == GUANGZHOU
    assert directory.county_of(GUANGZHOU) is None
    assert directory.township_of(GUANGZHOU) is None
    city = directory.city_of(GUANGZHOU)
    assert city is not None and city.code == GUANGZHOU
    assert directory.city_of("449999999999") is None
    assert directory.township_of("449999999999") is None


def test_full_name(directory: Directory) -> None:
    assert directory.full_name(GUANGZHOU) == "广州市"
    assert directory.full_name(CONGHUA) == "广州市从化区"
    assert directory.full_name(JIEKOU) == "广州市从化区街口街道"
    assert directory.full_name(XINCHENG_JIEKOU) == "广州市从化区街口街道新城社区居委会"
    with pytest.raises(KeyError):
        directory.full_name("449999999999")


# --- matching the station ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "从化区街口街道",
        "广州 从化 街口",
        "廣州市從化區街口街道",
        "街口街道",
        "广州市从化区街口街道",
        "从化街口",
        "街口",
        "广东省广州市从化区街口街道",
        "广东 从化 街口",
        "广州，从化－街口。",
        "广州　从化　街口",  # full-width spaces
        "ＡＢ广州从化区街口街道办",  # full-width letters, another suffix form
        "從化 街口街",
    ],
)
def test_station_is_the_only_match(directory: Directory, text: str) -> None:
    assert codes(directory.match(text)) == [JIEKOU]


def test_village_by_its_own_name(directory: Directory, rows: list[DivisionRow]) -> None:
    # The village name must be unique province-wide for the "only result" claim to hold.
    assert [r.code for r in rows if "雄锋" in r.name] == [XIONGFENG]
    for text in ("雄锋", "雄锋村", "雄锋村委会", "雄鋒村", "从化 雄锋村", "街口街道雄锋村"):
        result = directory.match(text)
        assert codes(result) == [XIONGFENG], text
        township = directory.township_of(result[0].code)
        assert township is not None and township.code == JIEKOU


def test_village_suffix_beats_same_named_township(directory: Directory) -> None:
    # "街口村" explains one more character as the village 街口村委会 than as 街口街道.
    assert directory.match("街口村")[0].code == JIEKOU_VILLAGE
    assert directory.match("从化 街口村委会")[0].code == JIEKOU_VILLAGE


def test_village_with_township_prefix(directory: Directory) -> None:
    result = directory.match("从化区街口街道新城社区居委会")
    assert codes(result) == [XINCHENG_JIEKOU]


def test_county_only(directory: Directory) -> None:
    assert codes(directory.match("从化区")) == [CONGHUA]
    assert codes(directory.match("广州市从化区")) == [CONGHUA]
    assert codes(directory.match("从化"))[0] == CONGHUA
    # Old county forms (从化市 became 从化区 in 2014) and ethnic autonomous names.
    assert codes(directory.match("从化市")) == [CONGHUA]
    assert [p.name for p in directory.match("乳源县")] == ["乳源瑶族自治县"]


def test_city_only(directory: Directory) -> None:
    assert codes(directory.match("广州")) == [GUANGZHOU]
    assert directory.match("中山")[0].code == ZHONGSHAN


def test_dongguan_has_no_county(directory: Directory) -> None:
    for text in ("东莞 虎门", "東莞虎門鎮", "东莞市虎门镇", "虎门"):
        result = directory.match(text)
        assert [p.name for p in result] == ["虎门镇"], text
        humen = result[0]
        assert humen.parent_code == DONGGUAN
        assert directory.county_of(humen.code) is None
        assert directory.city_of(humen.code) == directory.get(DONGGUAN)
        assert directory.full_name(humen.code) == "东莞市虎门镇"


def test_zhongshan_township(directory: Directory) -> None:
    result = directory.match("中山 石岐")
    assert [p.name for p in result] == ["石岐街道"]
    assert result[0].parent_code == ZHONGSHAN


def test_traditional_characters_in_data_names(directory: Directory) -> None:
    # 乾务镇 is spelt with a character OpenCC turns into 干; both spellings must still match.
    for text in ("乾务镇", "乾務鎮", "斗门 乾务"):
        assert [p.name for p in directory.match(text)] == ["乾务镇"], text


# --- ambiguity and ranking -----------------------------------------------------------------


def test_ambiguous_village_name(directory: Directory) -> None:
    result = directory.match("新城社区")
    assert len(result) == 8  # the default limit; there are more in the province
    assert all(p.name.startswith("新城社区") for p in result)
    assert all(p.level == "village" for p in result)
    assert len({p.parent_code for p in result}) == len(result)
    assert XINCHENG_JIEKOU in codes(directory.match("新城社区", limit=50))
    assert len(directory.match("新城社区", limit=3)) == 3


def test_county_prefix_narrows_ambiguous_name(directory: Directory) -> None:
    result = directory.match("从化 新城社区")
    assert result[0].code == XINCHENG_JIEKOU
    for place in result:
        county = directory.county_of(place.code)
        assert county is not None and county.code == CONGHUA
    # The county in front may be typed in full and the unit in its long form.
    assert directory.match("从化区新城社区居民委员会")[0].code == XINCHENG_JIEKOU


def test_city_prefix_narrows_ambiguous_name(directory: Directory) -> None:
    everywhere = directory.match("新城社区", limit=100)
    in_guangzhou = directory.match("广州 新城社区", limit=100)
    assert in_guangzhou
    assert len(in_guangzhou) < len(everywhere)
    for place in in_guangzhou:
        city = directory.city_of(place.code)
        assert city is not None and city.code == GUANGZHOU


def test_broader_place_first_when_text_fits_equally(directory: Directory) -> None:
    result = directory.match("中山", limit=20)
    ranks = [LEVEL_RANK[p.level] for p in result]
    assert ranks == sorted(ranks, reverse=True)
    assert result[0].level == "city"
    assert {"township", "village"} <= {p.level for p in result}


def test_real_township_before_statistical_unit(directory: Directory) -> None:
    # 大岭山镇 (东莞) and 大岭山林场 (从化, a statistical unit) share the name.
    result = directory.match("大岭山")
    assert [p.name for p in result][:2] == ["大岭山镇", "大岭山林场"]


def test_more_of_the_query_explained_wins(directory: Directory) -> None:
    # 新城 alone is ambiguous between 村 and 社区 (and towns); the typed 社区 decides.
    bare = directory.match("新城", limit=200)
    assert any(p.name.startswith("新城村") for p in bare)
    assert any(p.level == "township" for p in bare)
    community = directory.match("新城社区", limit=200)
    assert community
    assert all(p.name.startswith("新城") and "村" not in p.name for p in community)
    assert all("社区" in p.name or "居" in p.name for p in community)


def test_road_named_like_the_township_is_not_a_village(directory: Directory) -> None:
    # "街口路" is a street in 街口街道, not the village 街口村委会.
    assert codes(directory.match("从化区街口街道街口路")) == [JIEKOU]


# --- nonsense and limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["asdf", "", "   ", "新", "，。、", "广东", "广东省", "12345", "我想举报虐待儿童"],
)
def test_nonsense_matches_nothing(directory: Directory, text: str) -> None:
    assert directory.match(text) == []


def test_limit(directory: Directory) -> None:
    assert directory.match("新城社区", limit=0) == []
    assert len(directory.match("新城社区", limit=1)) == 1


def test_over_long_input(directory: Directory) -> None:
    started = time.perf_counter()
    assert codes(directory.match("街口街道" * 10_000)) == [JIEKOU]
    assert codes(directory.match("从化 " + "x" * 100_000)) == [CONGHUA]
    assert directory.match("广州从化街口" * 50)[0].code == JIEKOU
    assert directory.match("新村" * 1_000)
    # Generous bound: the point is that input length does not matter.
    assert time.perf_counter() - started < 2.0


# --- a tiny hand-made directory ------------------------------------------------------------


@pytest.fixture
def tiny() -> Directory:
    return Directory.from_rows(
        [
            ("440100000000", "广州市", "city", None),
            ("440117000000", "从化区", "county", "440100000000"),
            ("440117001000", "街口街道", "township", "440117000000"),
            ("440117001004", "新村社区居委会", "village", "440117001000"),
            ("440117001202", "街口村委会", "village", "440117001000"),
        ]
    )


def test_one_character_core_never_matches(tiny: Directory) -> None:
    # "新村" strips to 新, which is too short to be a name: "新城" must not find it.
    assert tiny.match("新城") == []
    assert tiny.match("新") == []
    assert codes(tiny.match("新村")) == ["440117001004"]
    assert codes(tiny.match("新村社区")) == ["440117001004"]


def test_village_named_like_its_township_collapses(tiny: Directory) -> None:
    # Both route to the same station, so only the township is offered.
    assert codes(tiny.match("街口")) == ["440117001000"]
    assert codes(tiny.match("街口村")) == ["440117001202"]


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Directory([Place("1", "甲市", "city", None), Place("1", "乙市", "city", None)])
    with pytest.raises(ValueError, match="level"):
        Directory([Place("1", "甲省", "province", None)])
