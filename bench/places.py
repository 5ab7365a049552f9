"""Place matching: ``Directory.match`` over every village, as citizens type places.

The intake turns a typed place into candidates with ``flows.places.Directory.match``
(``flows/place_steps.py``: ``directory.match(text, limit=8)``). This bench loads the directory
the way ``hutong serve`` does (``bot.service.load_directory`` from a database seeded with the
bundled divisions; here a temporary SQLite file), then, for each of the 26,780 villages, times
``match`` on the forms people type for it:

- ``village``: the village as said, committee words dropped (新城社区居委会 → 新城社区,
  石岭村委会 → 石岭村);
- ``town village``: township and village without their unit words, a space between
  (街口 新城);
- ``county+town+village``: the usual written address, unit words kept (从化区街口街道新城社区);
- ``short``: county, township and village without unit words, run together (从化街口新城);
- ``typo``: every ``--typo-every``-th village, the written address with one character of
  the village's name replaced by a character of another village's name, or two adjacent
  characters of it swapped.

Per form it prints the number of queries, the time per query (p50/p99/max, ms; each query run
``--repeat`` times, the fastest kept, since a preempted query on a shared machine measures
the scheduler) and how many
queries ranked the village's own township first, or anywhere among the candidates: a
correctness figure, not asserted (a village name alone is often shared across the province).

The baseline (``--no-baseline`` to skip it): the same directory built without its sound
index (``Directory.from_rows(rows, sounds=False)``: characters only, as before homophones and
pinyin were matched), each query timed on both in turn; the ``× p99`` column is the p99 with
the sound index over the baseline's, the ``1st w/o`` column the baseline's township-first
count. The forms of ``bench/place_sounds.py`` (homophones, pinyin) are timed there.

    python bench/places.py
    python bench/places.py --sample 2000      # every village with probability 2000/26780
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from common import fmt, machine_line, percentile, print_rows

from bot.service import load_directory
from flows.places import Directory, Place
from storage.db import Database, make_engine
from storage.directory_data import read_bundled_divisions
from storage.migrate import seed_directory, upgrade

LIMIT = 8  # what flows/place_steps.py asks match() for

# Committee words people leave out: "新城社区居委会" is said "新城社区", "石岭村委会" "石岭村".
_VILLAGE_UNIT = re.compile(
    r"(?:社区居民委员会|社区居委员会|社区居委会会|社区居委会|社区居委|社区"
    r"|村民委员会委会|村民委员会|村民委会|村委会|村委|村"
    r"|居民委员会|居委会|居委|委员会|渔委会)$"
)
_TOWNSHIP_UNIT = re.compile(r"(?:街道办事处|街道办|街道|办事处|镇|乡)$")
_COUNTY_UNIT = re.compile(r"(?:自治县|区|县|市)$")


def _strip(pattern: re.Pattern[str], name: str) -> str:
    """``name`` without its unit word, unless that leaves fewer than two characters."""
    bare = pattern.sub("", name)
    return bare if len(bare) >= 2 else name


def village_said(name: str) -> str:
    """How a village is said: its committee word reduced to 村 or 社区, or dropped."""
    m = _VILLAGE_UNIT.search(name)
    if m is None:
        return name
    stem = name[: m.start()]
    if len(stem) < 2:
        return name
    unit = m.group(0)
    if unit.startswith("社区"):
        return stem + "社区"
    if unit.startswith("村"):
        return stem if stem.endswith("村") else stem + "村"  # 山溪村村委会: 山溪村
    return stem


@dataclass(frozen=True, slots=True)
class Village:
    place: Place
    township: Place
    county: Place | None  # None under 东莞 and 中山, which have no county level


@dataclass(slots=True)
class Kind:
    name: str
    times_ms: list[float] = field(default_factory=list)
    top: int = 0  # the village's township ranked first
    among: int = 0  # the village's township among the candidates
    none: int = 0  # no candidate at all
    base_ms: list[float] = field(default_factory=list)  # the same, without the sound index
    base_top: int = 0


def queries_for(v: Village, typo: str | None) -> dict[str, str]:
    """The typed forms of one village's place, by kind."""
    county_full = v.county.name if v.county else ""
    county_bare = _strip(_COUNTY_UNIT, county_full) if county_full else ""
    town_bare = _strip(_TOWNSHIP_UNIT, v.township.name)
    village_bare = _strip(_VILLAGE_UNIT, v.place.name)
    said = village_said(v.place.name)
    out = {
        "village": said,
        "town village": f"{town_bare} {village_bare}",
        "county+town+village": f"{county_full}{v.township.name}{said}",
        "short": f"{county_bare}{town_bare}{village_bare}",
    }
    if typo is not None:
        out["typo"] = f"{county_full}{v.township.name}{typo}"
    return out


def misspell(name: str, rng: random.Random, pool: str) -> str:
    """The village as said with one slip: a character replaced, or two adjacent swapped."""
    said = village_said(name)
    bare = _strip(_VILLAGE_UNIT, name)
    unit = said[len(bare) :]
    chars = list(bare)
    if len(chars) >= 2 and rng.random() < 0.5:
        i = rng.randrange(len(chars) - 1)
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        i = rng.randrange(len(chars))
        other = rng.choice(pool)
        while other == chars[i]:
            other = rng.choice(pool)
        chars[i] = other
    return "".join(chars) + unit


def villages_of(
    directory: Directory, rows: Sequence[tuple[str, str, str, str | None]]
) -> list[Village]:
    out = []
    for code, _name, level, _parent in rows:
        if level != "village":
            continue
        place = directory.get(code)
        township = directory.township_of(code)
        assert place is not None and township is not None
        out.append(Village(place, township, directory.county_of(code)))
    return out


async def load_as_serve(workdir: Path) -> tuple[float, float, Directory]:
    """Seed a fresh SQLite database with the bundled divisions, then time
    ``bot.service.load_directory`` on it: the rows read and the index built, as at start."""
    url = f"sqlite+aiosqlite:///{workdir / 'places.db'}"
    started = time.perf_counter()
    await asyncio.to_thread(upgrade, url)
    db = Database(make_engine(url))
    try:
        await seed_directory(db)
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        directory = await load_directory(db)
        return seeded, time.perf_counter() - started, directory
    finally:
        await db.dispose()


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> int:
    print(machine_line(), flush=True)
    rows = read_bundled_divisions()
    csv_s = timed(read_bundled_divisions)
    build_s = timed(lambda: Directory.from_rows(rows))
    with tempfile.TemporaryDirectory(prefix="hutong-bench-places-") as tmp:
        seed_s, load_s, directory = asyncio.run(load_as_serve(Path(tmp)))
    first_s = timed(lambda: directory.match("广州从化街口", limit=LIMIT))  # loads OpenCC
    baseline = None if args.no_baseline else Directory.from_rows(rows, sounds=False)

    villages = villages_of(directory, rows)
    rng = random.Random(args.seed)
    if args.sample and args.sample < len(villages):
        villages = sorted(rng.sample(villages, args.sample), key=lambda v: v.place.code)
    pool = "".join(sorted({c for v in villages for c in _strip(_VILLAGE_UNIT, v.place.name)}))
    kinds: dict[str, Kind] = {}
    slowest: list[tuple[float, str, str]] = []  # (ms, kind, query)
    timer = time.perf_counter_ns
    for n, v in enumerate(villages):
        typo = misspell(v.place.name, rng, pool) if n % args.typo_every == 0 else None
        for kind_name, query in queries_for(v, typo).items():
            kind = kinds.setdefault(kind_name, Kind(kind_name))
            best = math.inf
            for _ in range(args.repeat):
                started = timer()
                found = directory.match(query, limit=LIMIT)
                best = min(best, (timer() - started) / 1e6)
            kind.times_ms.append(best)
            if baseline is not None:
                base = math.inf
                for _ in range(args.repeat):
                    started = timer()
                    plain = baseline.match(query, limit=LIMIT)
                    base = min(base, (timer() - started) / 1e6)
                kind.base_ms.append(base)
                if plain and directory.township_of(plain[0].code) == v.township:
                    kind.base_top += 1
            slowest.append((best, kind_name, query))
            if len(slowest) > 4 * args.slowest:
                slowest = sorted(slowest, reverse=True)[: args.slowest]
            towns = [directory.township_of(p.code) for p in found]
            if not found:
                kind.none += 1
            if towns and towns[0] == v.township:
                kind.top += 1
            if v.township in towns:
                kind.among += 1

    print(
        f"directory: {len(directory)} places ({len(villages)} villages timed); "
        f"read CSV {csv_s * 1000:.0f} ms, build index {build_s * 1000:.0f} ms "
        "(OpenCC loaded on first use); "
        f"hutong serve's load_directory (SQLite rows + index) {load_s * 1000:.0f} ms "
        f"(seeding the database took {seed_s:.1f} s); first match "
        f"{first_s * 1000:.1f} ms"
    )
    every = [t for k in kinds.values() for t in k.times_ms]
    total = Kind("all", times_ms=every, base_ms=[t for k in kinds.values() for t in k.base_ms])
    for k in kinds.values():
        total.top += k.top
        total.among += k.among
        total.none += k.none
        total.base_top += k.base_top
    headers: tuple[str, ...] = (
        "typed as",
        "queries",
        "mean ms",
        "p50 ms",
        "p99 ms",
        "max ms",
        "township 1st",
        f"township in {LIMIT}",
        "no match",
    )
    if baseline is not None:
        headers += ("p99 ms w/o", "× p99", "1st w/o")
    table = []
    for k in [*kinds.values(), total]:
        times = sorted(k.times_ms)
        count = len(times)
        base_times = sorted(k.base_ms)
        row: tuple[str, ...] = (
            k.name,
            str(count),
            fmt(sum(times) / count if count else None, ".3f"),
            fmt(percentile(times, 50), ".3f"),
            fmt(percentile(times, 99), ".3f"),
            fmt(times[-1] if times else None, ".2f"),
            f"{k.top} ({k.top / count:.1%})" if count else "-",
            f"{k.among} ({k.among / count:.1%})" if count else "-",
            str(k.none),
        )
        if baseline is not None:
            p99, base_p99 = percentile(times, 99), percentile(base_times, 99)
            row += (
                fmt(base_p99, ".3f"),
                fmt(p99 / base_p99 if base_p99 else None, ".2f"),
                f"{k.base_top} ({k.base_top / count:.1%})" if count else "-",
            )
        table.append(row)
    print(f"slowest queries (ms, typed as, text; time = min of {args.repeat} runs):")
    for ms, kind_name, query in sorted(slowest, reverse=True)[: args.slowest]:
        print(f"  {ms:8.3f}  {kind_name:<20}  {query}")
    print()
    print(machine_line())
    print_rows(headers, table)
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time flows.places.Directory.match over every village's typed forms."
    )
    parser.add_argument(
        "--sample", type=int, default=0, help="time this many villages, drawn at random (all)"
    )
    parser.add_argument(
        "--typo-every", type=int, default=10, help="a misspelt query for every N-th village"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="run each query N times and keep the fastest (default 3): on a shared machine a "
        "query preempted by another process measures the scheduler, not the matcher",
    )
    parser.add_argument("--slowest", type=int, default=5, help="list the N slowest queries")
    parser.add_argument("--seed", type=int, default=1, help="random seed (typos, sample)")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="do not time the same queries on the directory without its sound index",
    )
    args = parser.parse_args(argv)
    if args.sample < 0 or args.typo_every < 1 or args.repeat < 1 or args.slowest < 0:
        parser.error("--sample, --slowest must be >= 0; --typo-every, --repeat >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
