"""Cleaning what a channel hands us: control characters and lone surrogates removed."""

from __future__ import annotations

import json

import pytest

from flows.inputs import clean_optional, clean_text


@pytest.mark.parametrize("code", [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])
def test_each_control_character_is_removed(code: int) -> None:
    assert clean_text(f"a{chr(code)}b") == ("a\nb" if code == 0x0D else "ab")


def test_newline_and_tab_stay_and_carriage_returns_become_newlines() -> None:
    assert clean_text("one\ttwo\nthree\r\nfour\rfive") == "one\ttwo\nthree\nfour\nfive"


def test_lone_surrogates_from_json_escapes_are_removed_and_pairs_kept() -> None:
    # Python's json module turns an escaped pair into one character and keeps a lone half.
    text = json.loads('"\\ud83d\\ude00 \\ud800x\\udfff"')
    assert "\ud800" in text
    cleaned = clean_text(text)
    assert cleaned == "😀 x"
    cleaned.encode("utf-8")  # what the database driver does: no error now


def test_everything_else_is_kept() -> None:
    text = "孩子一个人在家，邻居说 “he’s alone” — 😀 ¼ \u0085 \u00a0 \u200b"
    assert clean_text(text) == text


def test_optional_keeps_none() -> None:
    assert clean_optional(None) is None
    assert clean_optional("a\x00") == "a"
