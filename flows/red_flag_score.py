"""How well the red-flag lexicon does on a labelled set of sentences
(``tests/data/red_flags_cases.tsv``): recall and false alarms, overall and per category.
Used by ``tests/flows/test_red_flags.py`` (which holds the thresholds) and
``bench/red_flags.py`` (which prints the table), so both count the same way.

- recall: of the (sentence, expected category) pairs, the share that was raised;
- false-alarm rate: of the sentences that should raise nothing, the share that raised
  something;
- wrong extras: sentences with a flag that raised a category they should not have (shown,
  not part of either rate).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from flows.red_flags import Lexicon, lexicon, screen

NONE: Final = "-"


@dataclass(frozen=True, slots=True)
class Case:
    line: int
    expected: frozenset[str]
    script: str
    sentence: str


def parse_cases(text: str) -> list[Case]:
    """``expected<TAB>script<TAB>sentence`` lines; ``#`` starts a comment line."""
    cases = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        parts = raw.split("\t")
        if len(parts) != 3:
            raise ValueError(f"line {n}: expected, script and sentence, tab-separated")
        expected, script, sentence = parts
        labels = frozenset() if expected == NONE else frozenset(expected.split(","))
        cases.append(Case(n, labels, script, sentence))
    return cases


@dataclass(slots=True)
class Count:
    expected: int = 0  # pairs that should be raised
    found: int = 0  # of those, raised
    false: int = 0  # raised where not expected


@dataclass(slots=True)
class Score:
    per_category: dict[str, Count] = field(default_factory=dict)
    per_script: dict[str, Count] = field(default_factory=dict)
    sentences: int = 0
    quiet: int = 0  # sentences that should raise nothing
    false_alarms: int = 0  # of those, raised something
    wrong_extras: int = 0
    misses: list[tuple[Case, frozenset[str]]] = field(default_factory=list)
    alarms: list[tuple[Case, frozenset[str]]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        expected = sum(c.expected for c in self.per_category.values())
        return sum(c.found for c in self.per_category.values()) / expected if expected else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.quiet if self.quiet else 0.0


def score(cases: Iterable[Case], lex: Lexicon | None = None) -> Score:
    lex = lex or lexicon()
    result = Score(per_category={name: Count() for name in lex.names})
    for case in cases:
        got = frozenset(f.category for f in screen(case.sentence, lex))
        result.sentences += 1
        script = result.per_script.setdefault(case.script, Count())
        for name in case.expected:
            count = result.per_category.setdefault(name, Count())
            count.expected += 1
            script.expected += 1
            if name in got:
                count.found += 1
                script.found += 1
        for name in got - case.expected:
            result.per_category.setdefault(name, Count()).false += 1
            script.false += 1
        if not case.expected:
            result.quiet += 1
            if got:
                result.false_alarms += 1
                result.alarms.append((case, got))
        elif got - case.expected:
            result.wrong_extras += 1
            result.alarms.append((case, got))
        if case.expected - got:
            result.misses.append((case, got))
    return result


def table(result: Score) -> str:
    """The score as plain-text tables: per category, per script, the totals, and every
    sentence that went wrong."""

    def pct(n: int, d: int) -> str:
        return f"{100 * n / d:5.1f}%" if d else "    —"

    lines = [f"{'category':<16}{'expected':>9}{'found':>7}{'recall':>8}{'false':>7}"]
    for name, c in result.per_category.items():
        recall = pct(c.found, c.expected)
        lines.append(f"{name:<16}{c.expected:>9}{c.found:>7}{recall:>8}{c.false:>7}")
    lines.append("")
    lines.append(f"{'script':<16}{'expected':>9}{'found':>7}{'recall':>8}{'false':>7}")
    for name, c in sorted(result.per_script.items()):
        recall = pct(c.found, c.expected)
        lines.append(f"{name:<16}{c.expected:>9}{c.found:>7}{recall:>8}{c.false:>7}")
    lines.append("")
    lines.append(f"sentences {result.sentences}, of which {result.quiet} should raise nothing")
    lines.append(f"recall            {100 * result.recall:5.1f}%")
    lines.append(
        f"false-alarm rate  {100 * result.false_alarm_rate:5.1f}%"
        f"  ({result.false_alarms} of {result.quiet})"
    )
    lines.append(f"wrong extra categories on flagged sentences: {result.wrong_extras}")
    for case, got in result.misses:
        missed = ",".join(sorted(case.expected - got))
        lines.append(f"  missed {missed:<24} line {case.line}: {case.sentence}")
    for case, got in result.alarms:
        extra = ",".join(sorted(got - case.expected))
        lines.append(f"  raised {extra:<24} line {case.line}: {case.sentence}")
    return "\n".join(lines)
