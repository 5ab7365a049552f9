"""What people type for a place, and the names the directory indexes for each place.

Typed text is normalised (NFKC, Traditional -> Simplified by OpenCC, letters and digits only);
each official name gives the aliases people use for it ("街口街道" -> 街口, 街口街…), with
strength 2 for the official name and 1 for another form. ``flows.places`` indexes them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flows import hant

# Shorter aliases ("新" from "新村") would match almost any text.
MIN_ALIAS_LEN = 2
# Addresses are short; a cap keeps match() cheap whatever is pasted in.
MAX_QUERY_LEN = 50

# What people put in front of an address that names no place in the directory, also in
# pinyin (flows.place_sounds).
_QUERY_PREFIXES = (
    "中华人民共和国",
    "中国",
    "广东省",
    "广东",
    "zhonghuarenmingongheguo",
    "zhongguo",
    "guangdongsheng",
    "guangdong",
)

# Suffixes stripped (repeatedly, longest first) to reach the name people actually say.
_STRIP: dict[str, tuple[str, ...]] = {
    "city": ("市",),
    "county": ("自治县", "区", "县", "市"),
    "township": (
        "街道办事处",
        "街道办",
        "街道",
        "办事处",
        "管理区",
        "农场",
        "林场",
        "茶场",
        "盐场",
        "镇",
        "乡",
    ),
    "village": (
        # The data has typos like "社区居委会会" and "村民委员会委会"; strip those too.
        "社区居民委员会",
        "社区居委委员会",
        "村民委员会委会",
        "社区居委员会",
        "社区居委会会",
        "虚拟生活区",
        "社区居委会",
        "居民委员会",
        "村民委员会",
        "类似居委会",
        "虚拟社区",
        "社区居委",
        "村民委会",
        "村委会",
        "居委会",
        "渔委会",
        "委员会",
        "生活区",
        "社区",
        "居委",
        "村委",
        "村",
    ),
}
# Per level: suffix lengths, longest first, and the suffixes of each length.
_STRIP_BY_LEN: dict[str, list[tuple[int, frozenset[str]]]] = {
    level: [
        (n, frozenset(s for s in suffixes if len(s) == n))
        for n in sorted({len(s) for s in suffixes}, reverse=True)
    ]
    for level, suffixes in _STRIP.items()
}

# Suffixes re-attached to a stripped name: the forms people type for the same place.
_STREET_FORMS = ("街道", "街", "街道办", "街道办事处")
_COMMUNITY_FORMS = ("社区", "居委", "居委会", "社区居委会", "居民委员会", "社区居民委员会")
_VILLAGE_FORMS = ("村", "村委", "村委会", "村民委员会")
# Counties were often renamed 市 -> 区 or 县 -> 区; people still use the old form.
_COUNTY_FORMS = ("区", "县", "市")

# "乳源瑶族自治县" is called "乳源"; "下帅壮族瑶族乡" is "下帅乡".
_ETHNIC = re.compile(r"(?:[壮瑶畲回苗黎]族)+(?=(?:自治县|乡)$)")

# Bare unit words are never a place name on their own.
_GENERIC = frozenset(
    {s for forms in _STRIP.values() for s in forms}
    | {*_STREET_FORMS, *_COMMUNITY_FORMS, *_VILLAGE_FORMS, *_COUNTY_FORMS, "虚拟"}
)


def _converter() -> Any:
    return hant.converter("t2s")


_NOT_WORD = re.compile(r"[\W_]+")


def clean(text: str) -> str:
    # Keep letters and digits only: spaces and punctuation separate parts, never name them.
    return _NOT_WORD.sub("", text.casefold())


def normalise_many(texts: list[str]) -> list[str]:
    """NFKC, Traditional -> Simplified, lower case, letters and digits only."""
    nfkc = [unicodedata.normalize("NFKC", t).replace("\n", " ") for t in texts]
    # One OpenCC call for all texts is several times faster than one call each.
    converted = _converter().convert("\n".join(nfkc)).split("\n")
    if len(converted) != len(nfkc):  # defensive: never trust a splitter with our counts
        converted = [_converter().convert(t) for t in nfkc]
    return [clean(t) for t in converted]


def normalise_query(text: str) -> str:
    """The form of typed text that match() looks up (at most MAX_QUERY_LEN characters)."""
    # Cut before converting so a pasted essay costs no more than an address.
    return _unprefixed(normalise_many([text[: MAX_QUERY_LEN * 4]])[0])


def unconverted_query(text: str) -> str:
    """normalise_query without the Traditional -> Simplified step: the characters as typed.

    OpenCC reads a character by its context; typed for its sound, 乾 (qian, 乾坤) may
    become 干 (gan). The sound lattice reads both where the two forms line up.
    """
    return _unprefixed(clean(unicodedata.normalize("NFKC", text[: MAX_QUERY_LEN * 4])))


def _unprefixed(query: str) -> str:
    for prefix in _QUERY_PREFIXES:
        if query.startswith(prefix):
            query = query[len(prefix) :]
    return query[:MAX_QUERY_LEN]


def _forms_for(level: str, suffix: str) -> tuple[str, ...]:
    """The suffixes to re-attach to a name stripped of suffix."""
    if level == "county":
        return _COUNTY_FORMS
    if level == "city":
        return ("市",)
    if level == "township":
        if suffix.startswith("街道"):
            return _STREET_FORMS
        return (suffix,) if suffix in ("镇", "乡") else ()
    if "社区" in suffix or "居" in suffix:
        return _COMMUNITY_FORMS
    if "村" in suffix:
        return _VILLAGE_FORMS
    return ()


def _strippable(stem: str, level: str) -> str | None:
    """The longest suffix of stem that leaves a name of at least MIN_ALIAS_LEN."""
    for n, suffixes in _STRIP_BY_LEN[level]:
        if len(stem) - n >= MIN_ALIAS_LEN and stem[-n:] in suffixes:
            return stem[-n:]
    return None


def aliases(name: str, level: str) -> dict[str, int]:
    """Normalised alias -> strength for one normalised name."""
    # The official name goes in first with strength 2; setdefault keeps it.
    out: dict[str, int] = {name: 2} if len(name) >= MIN_ALIAS_LEN else {}
    bases = [name]
    if name.startswith("广东"):
        rest = name.removeprefix("广东省") if name.startswith("广东省") else name[2:]
        if len(rest) >= MIN_ALIAS_LEN:
            bases.append(rest)
    if "族" in name:
        bases += [b for b in (_ETHNIC.sub("", b) for b in bases) if b not in bases]

    for base in bases:
        stem: str = base
        forms: tuple[str, ...] = ()
        while True:
            out.setdefault(stem, 1)
            for form in forms:
                out.setdefault(stem + form, 1)
            suffix = _strippable(stem, level)
            # "和平新村" is a name in itself; "和平新" is not.
            if suffix is None or (suffix == "村" and stem.endswith("新村")):
                break
            forms = forms or _forms_for(level, suffix)
            stem = stem[: -len(suffix)]
    # Stems are never shorter than MIN_ALIAS_LEN (see _strippable), so only generic words
    # and a too-short official name need removing.
    return {a: s for a, s in out.items() if a not in _GENERIC and len(a) >= MIN_ALIAS_LEN}
