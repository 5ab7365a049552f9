"""``hutong faq import|list`` and ``hutong station phone`` on the test database: a good file
replaces every answer and says what changed; a bad one is refused with each problem's line
and entry, and nothing changes."""

from __future__ import annotations

import io
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from cli_runner import Run, hutong

from flows import faq_store
from storage.db import Database
from storage.models import Station

EXAMPLE = Path(__file__).resolve().parents[2] / "faq.example.toml"
KEYS = [
    "gongzuozhan",
    "liushou-ertong",
    "waichu-zhaohu",
    "kunjing-ertong",
    "shishi-wurenfuyang",
    "shishi-shenqing",
    "faxian-weixian",
]
Hutong = Callable[..., Awaitable[Run]]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, db: Database) -> Hutong:
    async def _run(*args: str) -> Run:
        return await hutong(monkeypatch, tmp_path, database_url, *args)

    return _run


async def stored(db: Database) -> list[tuple[str, str]]:
    async with db.unit() as session:
        return [(r.key, r.texts["zh"]["answer"]) for r in await faq_store.listed(session)]


def edited(tmp_path: Path, old: str, new: str, *, name: str = "faq.toml") -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


async def test_the_starter_file_imports_and_lists(run: Hutong, db: Database) -> None:
    result = await run("faq", "import", str(EXAMPLE))
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "imported faq.example.toml: 7 entries (before: 0)",
        f"  added:   {', '.join(KEYS)}",
    ]
    assert [key for key, _ in await stored(db)] == KEYS
    again = await run("faq", "import", str(EXAMPLE))
    assert again.out.strip() == "imported faq.example.toml: 7 entries (before: 7); no changes"
    listed = await run("faq", "list")
    assert listed.out.startswith("7 entries\nid ") and "国发〔2016〕36号" in listed.out
    assert "2019-06-18" in listed.out and "zh en" in listed.out


async def test_a_new_file_replaces_the_old_set_and_says_how(
    run: Hutong, db: Database, tmp_path: Path
) -> None:
    await run("faq", "import", str(EXAMPLE))
    text = EXAMPLE.read_text(encoding="utf-8")
    # Drop the first entry, change one answer, add one at the end.
    header, first, *others = text.split("\n[[entry]]\n")
    rest = "\n[[entry]]\n".join(["", *others]).replace(
        "按规定发放基本生活补贴，并在", "按规定发放基本生活补贴，并（改）在"
    )
    extra = (
        '\n[[entry]]\nid = "xin"\nquestion = "新问题？"\nanswer = "新答案。"\n'
        'keywords = ["新"]\nsource_title = "《新文件》（文号）"\nsource_date = 2021-06-01\n'
    )
    path = tmp_path / "new.toml"
    path.write_text(header + rest + extra, encoding="utf-8")
    assert "gongzuozhan" in first
    dry = await run("faq", "import", "--dry-run", str(path))
    assert dry.code == 0, dry.err
    assert dry.out.splitlines() == [
        "new.toml is valid: 7 entries (stored now: 7); nothing stored",
        "  would be added:   xin",
        "  would be changed: shishi-wurenfuyang (answer)",
        "  would be removed: gongzuozhan",
        "  unchanged: 5",
    ]
    assert [key for key, _ in await stored(db)] == KEYS
    result = await run("faq", "import", str(path))
    assert result.out.splitlines()[0] == "imported new.toml: 7 entries (before: 7)"
    assert "  changed: shishi-wurenfuyang (answer)" in result.out.splitlines()
    assert [key for key, _ in await stored(db)] == [*KEYS[1:], "xin"]


@pytest.mark.parametrize(
    ("old", "new", "where", "said"),
    [
        (  # a missing field: said at its entry's header
            "source_date = 2016-02-04\n",
            "",
            ("[[entry]]", 'id = "gongzuozhan"'),  # the second entry's header
            "entry 2 (id 'liushou-ertong'): missing \"source_date\"",
        ),
        (  # a duplicate id: both places
            'id = "waichu-zhaohu"',
            'id = "gongzuozhan"',
            ('id = "waichu-zhaohu"', ""),
            "entry 3 (id 'gongzuozhan'): the id is already used by entry 1 (line {first})",
        ),
        (  # a bad date
            "source_date = 2016-06-13",
            'source_date = "2016-6-13"',
            ("source_date = 2016-06-13", ""),
            "entry 4 (id 'kunjing-ertong'): \"source_date\" must be a date like 2016-06-13",
        ),
        (  # an unknown key
            'source_title = "《国务院关于加强困境儿童保障工作的意见》（国发〔2016〕36号）"',
            'source = "《国务院关于加强困境儿童保障工作的意见》（国发〔2016〕36号）"',
            ("source_title", 'id = "kunjing-ertong"'),
            "entry 4 (id 'kunjing-ertong'): unknown key \"source\" (known: id,",
        ),
    ],
)
async def test_a_bad_file_is_refused_precisely_and_nothing_changes(
    run: Hutong,
    db: Database,
    tmp_path: Path,
    old: str,
    new: str,
    where: tuple[str, str],
    said: str,
) -> None:
    await run("faq", "import", str(EXAMPLE))
    before = await stored(db)
    result = await run("faq", "import", str(edited(tmp_path, old, new)))
    assert result.code == 2 and result.out == ""
    lines = result.err.splitlines()
    assert lines[0] == "hutong: faq.toml is refused, nothing was changed:"
    line = line_of(where[0], after=where[1])
    expected = f"faq.toml:{line}: " + said.format(first=line_of('id = "gongzuozhan"'))
    assert any(x.strip().startswith(expected) for x in lines[1:]), (expected, result.err)
    assert await stored(db) == before


def line_of(needle: str, *, after: str = "") -> int:
    """The line of the starter file where ``needle`` is (the first after ``after``)."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    start = next(n for n, line in enumerate(lines) if after in line) if after else 0
    return next(n for n, line in enumerate(lines) if n >= start and needle in line) + 1


async def test_unreadable_input_is_one_line(run: Hutong, tmp_path: Path) -> None:
    missing = await run("faq", "import", str(tmp_path / "none.toml"))
    assert missing.code == 2 and "cannot read" in missing.err and "none.toml" in missing.err
    latin = tmp_path / "latin.toml"
    latin.write_bytes("问题".encode("gb18030"))
    result = await run("faq", "import", str(latin))
    assert result.code == 2 and "is not UTF-8 text" in result.err


async def test_the_file_may_come_on_standard_input(
    run: Hutong, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As `docker compose exec -T worker hutong faq import - < faq.toml` gives it, with the
    # byte-order mark some editors write.
    data = b"\xef\xbb\xbf" + EXAMPLE.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    result = await run("faq", "import", "-")
    assert result.code == 0, result.err
    assert result.out.startswith("imported <stdin>: 7 entries")
    assert len(await stored(db)) == 7


async def test_a_station_s_phone_is_set_shown_and_removed(run: Hutong, db: Database) -> None:
    code = "440117001000"
    try:
        shown = await run("station", "phone", code)
        assert shown.out.strip() == f"从化区街口街道未成年人保护工作站 ({code}): phone none set"
        result = await run("station", "phone", code, "020-8765  4321")
        assert result.out.strip().endswith("phone set to 020-8765 4321")
        async with db.unit() as session:
            station = await session.get(Station, code)
        assert station is not None and station.phone == "020-8765 4321"
        refused = await run("station", "phone", code, "call us")
        assert refused.code == 2 and "not a phone number" in refused.err
        unknown = await run("station", "phone", "440117999999", "020-8765 4321")
        assert unknown.code == 2 and "no station 440117999999" in unknown.err
        cleared = await run("station", "phone", code, "--clear")
        assert "phone removed" in cleared.out
        async with db.unit() as session:
            station = await session.get(Station, code)
        assert station is not None and station.phone is None
    finally:
        await run("station", "phone", code, "--clear")
