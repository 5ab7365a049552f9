"""Red flags: how the lexicon (``flows/data/red_flags.toml``) does on a labelled set of
sentences, per category and per script, and how long screening takes.

The table is ``flows.red_flag_score``'s, the same the test (``tests/flows/test_red_flags.py``,
which holds recall ≥ 95 % and false alarms ≤ 5 %) prints with ``pytest -s``. It lists every
sentence that was missed or raised a category it should not have, so a change to the lexicon
shows what it fixed and what it broke.

    python bench/red_flags.py
    python bench/red_flags.py --cases my_sentences.tsv      # expected<TAB>script<TAB>sentence
    python bench/red_flags.py --lexicon my_red_flags.toml   # try a changed lexicon
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from flows.red_flag_score import parse_cases, score, table
from flows.red_flags import lexicon, parse, screen

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=Path, default=ROOT / "tests" / "data" / "red_flags_cases.tsv")
    ap.add_argument("--lexicon", type=Path, help="a lexicon file instead of the packaged one")
    ap.add_argument("--repeat", type=int, default=5, help="timing rounds over the set")
    args = ap.parse_args()

    lex = parse(args.lexicon.read_text(encoding="utf-8")) if args.lexicon else lexicon()
    cases = parse_cases(args.cases.read_text(encoding="utf-8"))
    print(f"lexicon: {args.lexicon or 'flows/data/red_flags.toml'}; cases: {args.cases}")
    print(table(score(cases, lex)))

    # What screening costs per sentence (the fastest round: a preempted round measures the
    # scheduler of this shared machine, not the code).
    rounds = []
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        for case in cases:
            screen(case.sentence, lex)
        rounds.append((time.perf_counter() - started) / len(cases))
    long_story = "。".join(c.sentence for c in cases)[:2000]  # a story at TEXT_MAX
    started = time.perf_counter()
    screen(long_story, lex)
    print()
    print(
        f"screening: {1e6 * min(rounds):.0f} µs a sentence (fastest of {len(rounds)}, median "
        f"{1e6 * statistics.median(rounds):.0f} µs); a 2,000-character story "
        f"{1e3 * (time.perf_counter() - started):.1f} ms"
    )


if __name__ == "__main__":
    main()
