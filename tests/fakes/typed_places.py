"""Townships as people type them when they cannot write them: homophone typos and pinyin.

Generated from the bundled directory for every real township (镇, 街道, 乡; not the
statistical units — farms, parks, prisons — nobody types), each in these forms:

- ``homophone 1``: the county and the township, one character of the township's name (not
  its unit word) replaced by another read the same, tones aside: 从化区街扣街道 for
  广州市从化区街口街道;
- ``homophone 2``: the same with two characters of the name replaced: 从化区接扣街道;
- ``pinyin spaced``: the county's and the township's names without unit words, in toneless
  pinyin, a space between: conghua jiekou;
- ``pinyin run together``: the same without the space: conghuajiekou;
- ``pinyin capitals + units``: with the unit words, each word capitalised, every fourth case
  in capitals throughout: Conghua Qu Jiekou Jiedao, CONGHUA QU JIEKOU JIEDAO;
- ``pinyin township alone`` (extra, not held to the thresholds: a name alone is often
  shared across the province): jiekou.

Where the township has no county (东莞, 中山) the city stands in for it. The readings are
pypinyin's, with its phrase dictionary (长安 is chang an, not zhang an); a replacement
character is drawn from the characters of the directory's names and GB2312's 3,755
first-level (most used) characters whose usual (first) reading is the replaced one's, is
never a Traditional form of it, and never makes the name, or the name without its unit word, an
exact name of some place.

How a query is scored (``score``), from the candidates ``Directory.match(text, limit=8)``
gives — the same as the bot offers:

- **top-1**: the first candidate lies in the right township (is it, or one of its
  villages): the station the report would go to.
- **wrong**: a confident wrong answer: every candidate leads to one and the same station or
  queue (its township; a county or city for a candidate above township level), and it is
  not the right township. This is what the web form would take without asking, and what
  the bot would offer as its only guess.
- **offered**: the right township is among the candidates (top-1 included). Several
  candidates with the right one among them are not wrong, but are top-1 only when it is
  first.
- **missed**: neither offered nor wrong (several candidates, none right); **none**: no
  candidate at all.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pypinyin import Style, lazy_pinyin, pinyin

from flows.place_names import aliases, normalise_many
from flows.places import Directory, Place

FORMS = (
    "homophone 1",
    "homophone 2",
    "pinyin spaced",
    "pinyin run together",
    "pinyin capitals + units",
)
EXTRA_FORMS = ("pinyin township alone",)
LIMIT = 8  # what flows/place_steps.py asks match() for

_TOWNSHIP_UNIT = re.compile(r"(?:街道|镇|乡)$")
_COUNTY_UNIT = re.compile(r"(?:(?:[壮瑶畲回苗黎]族)*自治县|区|县|市)$")


@dataclass(frozen=True, slots=True)
class Case:
    form: str
    text: str
    township: Place


@dataclass(slots=True)
class Tally:
    form: str
    cases: int = 0
    top1: int = 0
    offered: int = 0
    wrong: int = 0
    missed: int = 0
    none: int = 0
    wrong_examples: list[str] = field(default_factory=list)

    def rate(self, count: int) -> float:
        return count / self.cases if self.cases else 0.0


def _split(name: str, unit: re.Pattern[str]) -> tuple[str, str]:
    """(stem, unit word); the whole name as stem when stripping leaves one character."""
    m = unit.search(name)
    if m is None or m.start() < 2:
        return name, ""
    return name[: m.start()], m.group(0)


def _spell(text: str) -> list[str]:
    return lazy_pinyin(text, style=Style.NORMAL)


def _readings(char: str) -> list[str]:
    return pinyin(char, style=Style.NORMAL, heteronym=True)[0]


def common_characters() -> str:
    """GB2312's first level: the 3,755 most used characters (rows 16-55 of the code)."""
    out = []
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                out.append(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:  # the empty cells at the end of row 55
                continue
    return "".join(out)


class Typist:
    """Makes the cases of every form for the townships of a directory."""

    def __init__(self, directory: Directory, rows: Iterable[Sequence[str | None]]) -> None:
        self.directory = directory
        names = [str(r[1]) for r in rows]
        levels = [str(r[2]) for r in rows]
        codes = [str(r[0]) for r in rows]
        self.townships = [
            p
            for code, level, name in zip(codes, levels, names, strict=True)
            if level == "township"
            and _TOWNSHIP_UNIT.search(name)
            and code[6:9] < "400"
            and (p := directory.get(code)) is not None
        ]
        # Every exact name a typo must not become.
        self.taken: set[str] = set()
        for name, level in zip(normalise_many(names), levels, strict=True):
            self.taken.update(aliases(name, level))
        pool = set(common_characters()) | {c for n in names for c in n}
        self.sounding: dict[str, list[str]] = {}
        for char in sorted(pool):
            if unicodedata.category(char) == "Lo":
                # By the character's usual reading, as an input method lists it: 敌 is di,
                # though pypinyin knows a rare hua too.
                self.sounding.setdefault(_readings(char)[0], []).append(char)

    def _near(self, township: Place) -> tuple[str, str]:
        """The county's (or, with none, the city's) name and its stem."""
        above = self.directory.county_of(township.code) or self.directory.city_of(township.code)
        assert above is not None
        stem, _ = _split(above.name, _COUNTY_UNIT)
        return above.name, stem

    def homophone(self, township: Place, count: int, rng: random.Random) -> str | None:
        """The township's name with ``count`` characters replaced by homophones."""
        stem, unit = _split(township.name, _TOWNSHIP_UNIT)
        said = _spell(stem)
        if len(said) != len(stem) or len(stem) < count:
            return None
        for _ in range(20):
            chars = list(stem)
            for k in rng.sample(range(len(stem)), count):
                others = [
                    c
                    for c in self.sounding.get(said[k], ())
                    if c != stem[k] and normalise_many([c])[0] != stem[k]
                ]
                if not others:
                    break
                chars[k] = rng.choice(others)
            else:
                typed = "".join(chars)
                bare, whole = normalise_many([typed, typed + unit])
                if bare not in self.taken and whole not in self.taken:
                    return typed + unit
        return None

    def cases(self, *, seed: int = 12) -> list[Case]:
        rng = random.Random(seed)
        out: list[Case] = []
        for n, township in enumerate(self.townships):
            county, county_stem = self._near(township)
            stem, unit = _split(township.name, _TOWNSHIP_UNIT)
            for form, count in (("homophone 1", 1), ("homophone 2", 2)):
                typed = self.homophone(township, count, rng)
                if typed is not None:
                    out.append(Case(form, county + typed, township))
            county_py, town_py = "".join(_spell(county_stem)), "".join(_spell(stem))
            out.append(Case("pinyin spaced", f"{county_py} {town_py}", township))
            out.append(Case("pinyin run together", county_py + town_py, township))
            words = [
                county_py,
                "".join(_spell(county[len(county_stem) :])),
                town_py,
                "".join(_spell(unit)),
            ]
            text = " ".join(w.capitalize() for w in words if w)
            text = text.upper() if n % 4 == 0 else text
            out.append(Case("pinyin capitals + units", text, township))
            out.append(Case("pinyin township alone", town_py, township))
        return out


def score(directory: Directory, cases: Iterable[Case]) -> dict[str, Tally]:
    """Per form, how the matcher's candidates for each case compare with the township."""
    tallies: dict[str, Tally] = {}
    for case in cases:
        tally = tallies.setdefault(case.form, Tally(case.form))
        found = directory.match(case.text, limit=LIMIT)
        judge(directory, case, found, tally)
    return tallies


def judge(directory: Directory, case: Case, found: list[Place], tally: Tally) -> None:
    """Count one case's candidates into its form's tally (see the module's definitions)."""
    tally.cases += 1
    if not found:
        tally.none += 1
        return
    towns = [directory.township_of(p.code) for p in found]
    owners = {t.code if t is not None else p.code for t, p in zip(towns, found, strict=True)}
    right = case.township.code
    if towns[0] is not None and towns[0].code == right:
        tally.top1 += 1
    if any(t is not None and t.code == right for t in towns):
        tally.offered += 1
    elif len(owners) == 1:
        tally.wrong += 1
        if len(tally.wrong_examples) < 10:
            tally.wrong_examples.append(f"{case.text} → {directory.full_name(found[0].code)}")
    else:
        tally.missed += 1


def table(tallies: dict[str, Tally]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Headers and rows: per form the counts and rates, in FORMS order, extras after."""
    headers = ("typed as", "cases", "top-1", "offered", "wrong", "missed", "none")
    rows: list[tuple[str, ...]] = []
    for form in (*FORMS, *EXTRA_FORMS):
        t = tallies.get(form)
        if t is None:
            continue
        rows.append(
            (
                form,
                str(t.cases),
                f"{t.top1} ({t.rate(t.top1):.1%})",
                f"{t.offered} ({t.rate(t.offered):.1%})",
                f"{t.wrong} ({t.rate(t.wrong):.2%})",
                str(t.missed),
                str(t.none),
            )
        )
    return headers, rows
