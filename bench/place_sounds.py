"""Townships typed by sound: homophone typos and pinyin (issue 12), accuracy, time, memory.

The cases are ``tests/fakes/typed_places.py``'s — every real township of the bundled
directory (1,610) in each form (homophone 1 and 2, pinyin spaced, run together, capitals +
units; and the township alone in pinyin, as an extra not held to a threshold) — the same
generator and the same definitions as ``tests/flows/test_place_sounds.py``, which asserts
the thresholds (top-1 ≥ 90 %, wrong ≤ 1 % per form). This prints:

1. per form: cases, top-1, offered, wrong, missed, none (see the generator's docstring),
   and the time of one ``match(text, limit=8)`` (p50/p99/max ms; each query ``--repeat``
   times, the fastest kept, as ``bench/places.py`` does);
2. the directory's build time and resident memory with and without the sound index: each
   built the way ``hutong serve`` builds it (``DirectoryBuilder``, batches of rows, glibc's
   mmap threshold fixed as ``bot/heap.py`` does) in a fresh process, ``VmRSS`` before and
   after and ``VmHWM`` (the peak) read from ``/proc``.

    python bench/place_sounds.py
    python bench/place_sounds.py --wrong 5      # list up to 5 wrong answers per form
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from itertools import islice
from pathlib import Path

from common import fmt, machine_line, memory_bytes, percentile, print_rows

from bot.heap import fix_mmap_threshold
from flows.places import Directory, DirectoryBuilder
from storage.directory_data import iter_bundled_divisions, read_bundled_divisions

MIB = 2**20
BATCH = 5000  # rows a batch, as bot.service.load_directory reads them


def build_in_child(sounds: bool) -> dict[str, float]:
    """Build the directory in this (fresh) process and report its memory and time."""
    fix_mmap_threshold()
    gc.collect()
    before = memory_bytes(os.getpid())
    started = time.perf_counter()
    builder = DirectoryBuilder(sounds=sounds)
    rows = iter_bundled_divisions()
    while batch := list(islice(rows, BATCH)):
        builder.add_rows(batch)
    directory = builder.build()
    seconds = time.perf_counter() - started
    del builder, batch
    gc.collect()
    after = memory_bytes(os.getpid())
    directory.match("广州从化街口")  # loads OpenCC, as the first query does in service
    return {
        "rss_before": before["VmRSS"],
        "rss_after": after["VmRSS"],
        "peak": after["VmHWM"],
        "rss_first_match": memory_bytes(os.getpid())["VmRSS"],
        "build_s": seconds,
        "places": len(directory),
    }


def measure_memory(sounds: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", "on" if sounds else "off"],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def run(args: argparse.Namespace) -> int:
    # Not at the top: the memory children must not load pypinyin (with its phrases) first.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fakes"))
    from typed_places import EXTRA_FORMS, FORMS, LIMIT, Tally, Typist, judge, table

    print(machine_line(), flush=True)
    rows = read_bundled_divisions()
    directory = Directory.from_rows(rows)
    directory.match("广州从化街口")  # loads OpenCC
    started = time.perf_counter()
    cases = Typist(directory, rows).cases(seed=args.seed)
    generated_s = time.perf_counter() - started

    tallies: dict[str, Tally] = {}
    times: dict[str, list[float]] = {}
    timer = time.perf_counter_ns
    for case in cases:
        best = math.inf
        for _ in range(args.repeat):
            t0 = timer()
            found = directory.match(case.text, limit=LIMIT)
            best = min(best, (timer() - t0) / 1e6)
        times.setdefault(case.form, []).append(best)
        judge(directory, case, found, tallies.setdefault(case.form, Tally(case.form)))

    print(f"{len(cases)} cases from {len(rows)} places, generated in {generated_s:.1f} s")
    headers, accuracy = table(tallies)
    timing = []
    for form in (*FORMS, *EXTRA_FORMS):
        ms = sorted(times.get(form, []))
        timing.append(
            (
                fmt(percentile(ms, 50), ".3f"),
                fmt(percentile(ms, 99), ".3f"),
                fmt(ms[-1] if ms else None, ".2f"),
            )
        )
    all_ms = sorted(t for ms in times.values() for t in ms)
    print()
    print(machine_line())
    print_rows(
        (*headers, "p50 ms", "p99 ms", "max ms"),
        [(*a, *t) for a, t in zip(accuracy, timing, strict=True)]
        + [
            (
                "all",
                str(len(all_ms)),
                *("",) * (len(headers) - 2),
                fmt(percentile(all_ms, 50), ".3f"),
                fmt(percentile(all_ms, 99), ".3f"),
                fmt(all_ms[-1] if all_ms else None, ".2f"),
            )
        ],
    )
    if args.wrong:
        for t in tallies.values():
            for example in t.wrong_examples[: args.wrong]:
                print(f"  wrong ({t.form}): {example}")

    print()
    print("the directory built as hutong serve builds it, each in a fresh process:")
    mem = {sounds: measure_memory(sounds) for sounds in (False, True)}
    print_rows(
        ("sound index", "build s", "RSS before MiB", "RSS built MiB", "added MiB", "peak MiB"),
        [
            (
                "with" if sounds else "without",
                f"{m['build_s']:.2f}",
                f"{m['rss_before'] / MIB:.1f}",
                f"{m['rss_after'] / MIB:.1f}",
                f"{(m['rss_after'] - m['rss_before']) / MIB:.1f}",
                f"{m['peak'] / MIB:.1f}",
            )
            for sounds, m in mem.items()
        ],
    )
    on, off = mem[True], mem[False]
    grown = (on["rss_after"] - on["rss_before"]) - (off["rss_after"] - off["rss_before"])
    print(
        f"the sound index adds {grown / MIB:.1f} MiB resident and "
        f"{(on['peak'] - off['peak']) / MIB:.1f} MiB to the peak; "
        f"{on['build_s'] - off['build_s']:.2f} s to the build"
    )
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Accuracy, time and memory of matching townships typed by sound."
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per query, fastest kept")
    parser.add_argument("--seed", type=int, default=12, help="random seed of the cases")
    parser.add_argument("--wrong", type=int, default=3, help="wrong answers listed per form")
    parser.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.wrong < 0:
        parser.error("--repeat must be >= 1, --wrong >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(build_in_child(args.child == "on")))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
