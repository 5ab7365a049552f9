"""flows.texts: every catalogue says the same things with the same placeholders, values are
escaped exactly once, counts and durations read right in every language, and an unknown
language falls back to Simplified Chinese."""

from __future__ import annotations

import string

import pytest

from flows.texts import (
    CATALOGUES,
    EN,
    LOCALES,
    PLURAL_BY,
    ZH,
    days,
    duration,
    guess_locale,
    normalise_locale,
    phrase,
    t,
)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _base(key: str) -> str:
    return key.partition("#")[0]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_text_exists_in_every_language(locale: str) -> None:
    catalogue = CATALOGUES[locale]
    assert {k for k in catalogue if "#" not in k} == set(ZH)
    # A plural variant ("KEY#one") belongs to a counting text, under a CLDR category.
    for key in (k for k in catalogue if "#" in k):
        assert _base(key) in PLURAL_BY, key
        assert key.partition("#")[2] in {"zero", "one", "two", "few", "many"}, key


@pytest.mark.parametrize("locale", ["zh-Hant", "en"])
def test_every_language_fills_the_same_placeholders(locale: str) -> None:
    for key, text in CATALOGUES[locale].items():
        if "#" in key:  # a variant may leave out the count ("a report")
            assert _fields(text) <= _fields(ZH[_base(key)]), key
        else:
            assert _fields(text) == _fields(ZH[key]), key


def test_english_counts_read_right() -> None:
    assert "1 more day;" in t("en", "work.ext_approved", days=1, due="9:00")
    assert "2 more days;" in t("en", "work.ext_approved", days=2, due="9:00")
    assert "1 overdue ticket in" in t("en", "digest.title", count=1)
    assert "3 overdue tickets in" in t("en", "digest.title", count=3)
    assert "for 1 minute;" in t("en", "signin.link", page="x", url="u", minutes=1)
    assert "for 10 minutes;" in t("en", "signin.link", page="x", url="u", minutes=10)
    assert days("en", 1) == "1 day" and days("en", 3) == "3 days"
    # Chinese has no plural: the count is set in as it is.
    assert t("zh", "work.ext_approved", days=1, due="9:00") == ZH["work.ext_approved"].format(
        days=1, due="9:00"
    )


def test_values_are_escaped_once_and_phrases_rendered_per_reader() -> None:
    assert t("zh", "unknown_command", command="<b>&") == ZH["unknown_command"].format(
        command="&lt;b&gt;&amp;"
    )
    label = phrase("priority.P0")
    assert t("en", "sla.reminder", code="A&B", priority=label, due="9:00").count("&amp;") == 1
    assert EN["priority.P0"] in t("en", "sla.reminder", code="X", priority=label, due="9:00")
    assert ZH["priority.P0"] in t("zh", "sla.reminder", code="X", priority=label, due="9:00")


def test_unknown_languages_fall_back_to_chinese() -> None:
    assert normalise_locale("fr") == normalise_locale(None) == "zh"
    assert t("fr", "menu") == ZH["menu"]
    assert guess_locale("en-GB") == "en"
    assert guess_locale("zh-hans") == guess_locale(None) == "zh"
    assert set(CATALOGUES) == {"zh", "zh-Hant", "en"}
    for code in ("zh-Hant", "zh-hant", "zh-HK", "zh_TW", "zh-mo", "zh-Hant-HK"):
        assert guess_locale(code) == "zh-Hant", code
    assert guess_locale("zh-CN") == guess_locale("zh-SG") == "zh"


@pytest.mark.parametrize(
    ("minutes", "zh", "hant", "en"),
    [
        (15, "15分钟", "15 分鐘", "15 minutes"),
        (1, "1分钟", "1 分鐘", "1 minute"),
        (60, "1小时", "1 小時", "1 hour"),
        (120, "2小时", "2 小時", "2 hours"),
        (1440, "1天", "1 日", "1 day"),
        (4320, "3天", "3 日", "3 days"),
        (90, "90分钟", "90 分鐘", "90 minutes"),
        (7.5, "7.5分钟", "7.5 分鐘", "7.5 minutes"),
    ],
)
def test_a_window_is_said_in_its_largest_whole_unit(
    minutes: float, zh: str, hant: str, en: str
) -> None:
    assert (duration("zh", minutes), duration("zh-Hant", minutes)) == (zh, hant)
    assert duration("en", minutes) == en
