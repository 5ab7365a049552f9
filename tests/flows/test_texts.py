"""flows.texts: both catalogues say the same things with the same placeholders, values are
escaped exactly once, and an unknown language falls back to Chinese."""

from __future__ import annotations

import string

import pytest

from flows.texts import CATALOGUES, EN, ZH, duration, guess_locale, normalise_locale, phrase, t


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_text_exists_in_both_languages() -> None:
    assert set(ZH) - set(EN) == set()
    assert set(EN) - set(ZH) == set()


@pytest.mark.parametrize("key", sorted(ZH))
def test_both_languages_fill_the_same_placeholders(key: str) -> None:
    assert _fields(ZH[key]) == _fields(EN[key]), key


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
    assert set(CATALOGUES) == {"zh", "en"}


@pytest.mark.parametrize(
    ("minutes", "zh_words"),
    [
        (15, t("zh", "dur.minutes", n=15)),
        (120, t("zh", "dur.hours", n=2)),
        (4320, t("zh", "dur.days", n=3)),
        (7.5, t("zh", "dur.minutes", n="7.5")),
    ],
)
def test_a_window_is_said_in_its_largest_whole_unit(minutes: float, zh_words: str) -> None:
    assert duration("zh", minutes) == zh_words
