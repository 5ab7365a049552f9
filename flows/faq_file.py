"""The operators' file of policy questions (政策咨询), read and checked before anything is stored.

    [[entry]]
    id = "kunjing-ertong"                 # a-z, 0-9, - and _; unique; travels in button data
    question = "什么是困境儿童？"          # Simplified Chinese; the topic button's label
    answer = \"\"\"…\"\"\"                     # Simplified Chinese, plain text (line breaks kept)
    keywords = ["困境儿童", "生活补贴"]     # words people may type, Simplified Chinese
    question_en = "…"                     # optional, with answer_en (and keywords_en)
    answer_en = \"\"\"…\"\"\"
    keywords_en = ["…"]
    source_title = "《国务院关于加强困境儿童保障工作的意见》（国发〔2016〕36号）"
    source_date = 2016-06-13              # a TOML date (or "2016-06-13")
    source_url = "https://…"              # optional

Simplified Chinese is required and checked (no Traditional characters): the Traditional
rendering is derived from it by OpenCC when shown (flows.faq), never written twice. Every
problem is reported with its line and entry, all at once, so an operator fixes the file in one
pass; ``tomllib`` decides what the file says, and a light scan of its lines only says where
(``_scan``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from flows import hant
from storage.models import FAQ_KEY_MAX

KEY_PATTERN: Final = rf"[a-z0-9][a-z0-9_-]{{0,{FAQ_KEY_MAX - 1}}}"
# A question is a button's label: short enough to read on a phone.
QUESTION_MAX: Final = 60
QUESTION_EN_MAX: Final = 120
# An answer, its source and the station lines fit one Telegram message (4,096 characters).
ANSWER_MAX: Final = 1500
ANSWER_EN_MAX: Final = 3000
KEYWORD_MAX: Final = 20
KEYWORD_EN_MAX: Final = 40
KEYWORDS_MAX: Final = 30
TITLE_MAX: Final = 200
URL_MAX: Final = 500
ENTRIES_MAX: Final = 200
# Every field of an entry, in the order the file documents them.
FIELDS: Final = (
    "id",
    "question",
    "answer",
    "keywords",
    "question_en",
    "answer_en",
    "keywords_en",
    "source_title",
    "source_date",
    "source_url",
)
# What a text may not hold: control characters but newline and tab (a TOML escape such as
# \u0000 would otherwise reach the database and the chat).
_CONTROL: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Texts:
    """One language's words of an entry."""

    question: str
    answer: str
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    texts: dict[str, Texts]  # "zh" always; "en" when the file has it
    source_title: str
    source_date: date
    source_url: str | None


class FaqFileError(Exception):
    """The file cannot be imported; ``problems`` are one line each, with where they are."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def traditional_in(text: str) -> list[str]:
    """The characters of ``text`` that Simplified writing would not use (兒, 補, 貼)."""
    converted = hant.converter("t2s").convert(text)
    if len(converted) == len(text):
        found = [a for a, b in zip(text, converted, strict=True) if a != b]
    else:  # a phrase converted to another length: compare the characters used
        found = sorted(set(text) - set(converted))
    return list(dict.fromkeys(found))


def _text(value: object, *, simplified: bool, one_line: bool) -> object:
    """A text stripped and checked; anything not a string is left to the type check."""
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").strip()
    control = _CONTROL.search(value)
    if control is not None:
        raise ValueError(f"has a control character (U+{ord(control.group()):04X})")
    if one_line and "\n" in value:
        raise ValueError("must be one line")
    if simplified and (found := traditional_in(value)):
        raise ValueError(
            f"must be Simplified Chinese: has {''.join(found)} (Traditional is derived)"
        )
    return value


def _date(value: object) -> object:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("must be a date like 2016-06-13") from None
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    raise ValueError("must be a date like 2016-06-13 (no time of day)")


def _url(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(r"https?://[^\s<>\"]+", value.strip()):
        raise ValueError("must be an http:// or https:// address without spaces")
    return value.strip() if isinstance(value, str) else value


ZhLine = Annotated[str, BeforeValidator(lambda v: _text(v, simplified=True, one_line=True))]
ZhText = Annotated[str, BeforeValidator(lambda v: _text(v, simplified=True, one_line=False))]
Line = Annotated[str, BeforeValidator(lambda v: _text(v, simplified=False, one_line=True))]
Text = Annotated[str, BeforeValidator(lambda v: _text(v, simplified=False, one_line=False))]


class _Raw(BaseModel):
    """One ``[[entry]]`` as written; strict, so a number is not taken for a text."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: Annotated[str, Field(pattern=rf"^{KEY_PATTERN}$")]
    question: Annotated[ZhLine, Field(min_length=2, max_length=QUESTION_MAX)]
    answer: Annotated[ZhText, Field(min_length=2, max_length=ANSWER_MAX)]
    keywords: Annotated[
        list[Annotated[ZhLine, Field(min_length=1, max_length=KEYWORD_MAX)]],
        Field(min_length=1, max_length=KEYWORDS_MAX),
    ]
    question_en: Annotated[Line, Field(min_length=2, max_length=QUESTION_EN_MAX)] | None = None
    answer_en: Annotated[Text, Field(min_length=2, max_length=ANSWER_EN_MAX)] | None = None
    keywords_en: (
        Annotated[
            list[Annotated[Line, Field(min_length=1, max_length=KEYWORD_EN_MAX)]],
            Field(max_length=KEYWORDS_MAX),
        ]
        | None
    ) = None
    source_title: Annotated[Line, Field(min_length=4, max_length=TITLE_MAX)]
    source_date: Annotated[date, BeforeValidator(_date)]
    source_url: Annotated[str, BeforeValidator(_url), Field(max_length=URL_MAX)] | None = None


# ---- where things are: a light scan of the lines ----------------------------------------

_ENTRY_HEADER: Final = re.compile(r"\s*\[\[\s*entry\s*\]\]\s*(?:#.*)?$")
_SUB_HEADER: Final = re.compile(r"\s*\[\s*entry\s*\.\s*([A-Za-z0-9_-]+)")
_OTHER_HEADER: Final = re.compile(r"\s*\[\[?\s*([A-Za-z0-9_\"'-]+)")
_KEY: Final = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*[=.]""")


@dataclass(slots=True)
class _Where:
    top: dict[str, int] = field(default_factory=dict)  # top-level keys and tables
    entries: list[int] = field(default_factory=list)  # each [[entry]] header's line
    keys: list[dict[str, int]] = field(default_factory=list)  # each entry's keys

    def entry(self, n: int) -> int:
        return self.entries[n] if n < len(self.entries) else 1

    def key(self, n: int, name: str) -> int:
        keys = self.keys[n] if n < len(self.keys) else {}
        return keys.get(name, self.entry(n))


def _scan(text: str) -> _Where:
    """Line numbers of the headers and keys. Only says where: what the file means is
    tomllib's, so a line this scan misreads can misplace a message, never change a verdict."""
    where = _Where()
    keys: dict[str, int] | None = where.top  # the table keys now go to; None: another table
    open_string: str | None = None  # inside a multi-line string closed by this
    for n, line in enumerate(text.splitlines(), start=1):
        if open_string is not None:
            if open_string in line:
                open_string = None
            continue
        if _ENTRY_HEADER.match(line):
            where.entries.append(n)
            where.keys.append({})
            keys = where.keys[-1]
            continue
        if (sub := _SUB_HEADER.match(line)) and where.keys:
            where.keys[-1].setdefault(sub.group(1), n)
            keys = None
            continue
        if line.lstrip().startswith("["):
            other = _OTHER_HEADER.match(line)
            if other:
                where.top.setdefault(other.group(1).strip("\"'"), n)
            keys = None
            continue
        found = _KEY.match(line)
        if found is None:
            continue
        if keys is not None:
            keys.setdefault(next(g for g in found.groups() if g is not None), n)
        value = line[found.end() :]
        for quote in ('"""', "'''"):
            if value.count(quote) % 2 == 1:
                open_string = quote
    return where


# ---- reading ----------------------------------------------------------------------------


def parse(text: str, *, name: str = "the file") -> list[Entry]:
    """The entries of the file's text, or FaqFileError listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FaqFileError([f"{name}: not valid TOML: {exc}"]) from None
    where = _scan(text)
    problems: list[tuple[int, str]] = [
        (where.top.get(key, 1), f"unknown top-level key {key!r} (only [[entry]] tables)")
        for key in data
        if key != "entry"
    ]
    raw = data.get("entry")
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        problems.append((where.top.get("entry", 1), "no [[entry]] tables"))
        raise FaqFileError(_said(name, problems))
    if len(raw) > ENTRIES_MAX:
        problems.append((1, f"{len(raw)} entries, at most {ENTRIES_MAX}"))
    entries: list[Entry] = []
    first: dict[object, tuple[int, int]] = {}  # id -> (entry number, line)
    for n, values in enumerate(raw):
        label = f"entry {n + 1}" + (f" (id {values['id']!r})" if "id" in values else "")
        found = [(where.key(n, key), f"{label}: {say}") for key, say in _pairs(values)]
        key = values.get("id")
        if isinstance(key, str) and key in first:
            other, line = first[key]
            found.append(
                (
                    where.key(n, "id"),
                    f"{label}: the id is already used by entry {other} (line {line})",
                )
            )
        elif isinstance(key, str):
            first[key] = (n + 1, where.key(n, "id"))
        try:
            checked = _Raw.model_validate(values)
        except ValidationError as exc:
            found += [(where.key(n, str(e["loc"][0])), f"{label}: {_say(e)}") for e in exc.errors()]
        if found:
            problems += found
        else:
            entries.append(_entry(checked))
    if problems:
        raise FaqFileError(_said(name, problems))
    return entries


def _pairs(values: dict[str, Any]) -> list[tuple[str, str]]:
    """What one field says of another: the English question and answer come together."""
    if ("question_en" in values) != ("answer_en" in values):
        have, lack = ("question_en", "answer_en")[:: 1 if "question_en" in values else -1]
        return [(have, f"{have} without {lack}: add {lack}, or remove {have}")]
    if "keywords_en" in values and "question_en" not in values:
        return [("keywords_en", "keywords_en without question_en and answer_en")]
    return []


def _said(name: str, problems: list[tuple[int, str]]) -> list[str]:
    """The problems in the order of the file's lines, each with its file and line."""
    return [f"{name}:{line}: {say}" for line, say in sorted(problems, key=lambda p: p[0])]


def _entry(raw: _Raw) -> Entry:
    texts = {"zh": Texts(raw.question, raw.answer, tuple(raw.keywords))}
    if raw.question_en is not None and raw.answer_en is not None:
        texts["en"] = Texts(raw.question_en, raw.answer_en, tuple(raw.keywords_en or ()))
    return Entry(raw.id, texts, raw.source_title, raw.source_date, raw.source_url)


def _say(error: Any) -> str:
    """One pydantic error in the operator's words."""
    loc = error["loc"]
    what = f'"{loc[0]}"' + (f" item {loc[1] + 1}" if len(loc) > 1 else "")
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return f"missing {what}"
    if kind == "extra_forbidden":
        return f"unknown key {what} (known: {', '.join(FIELDS)})"
    if kind == "string_pattern_mismatch":
        return f"{what} must be 1–{FAQ_KEY_MAX} of a-z, 0-9, - and _, starting with a-z or 0-9"
    if kind in ("string_too_long", "string_too_short", "too_long", "too_short"):
        most = "at most" if kind.endswith("long") else "at least"
        bound = ctx.get("max_length", ctx.get("min_length"))
        if isinstance(error["input"], str):
            return f"{what} is {len(error['input'])} characters, {most} {bound}"
        return f"{what} has {ctx.get('actual_length')} items, {most} {bound}"
    if kind == "string_type":
        return f"{what} must be text in quotes"
    if kind == "list_type":
        return f'{what} must be a list of texts, like ["留守儿童", "补贴"]'
    if kind == "value_error":
        return f"{what} {ctx.get('error')}"
    return f"{what}: {error['msg']}"
