"""Traditional Chinese (zh-Hant) derived from the Simplified texts.

Written Traditional Chinese is common in Guangdong and is what Hong Kong and Macao residents
read. Rather than keep a third catalogue by hand (which would drift from the Simplified one
at every wording change), every zh-Hant text is the Simplified text converted by OpenCC with
its ``s2hk`` configuration (Hong Kong forms, phrase-aware: 干净 → 乾淨, 头发 → 頭髮), then
corrected by :data:`OVERRIDES` where the usual Traditional-writing reader says it differently.

Also here: telling whether someone typed Traditional characters, so the bot can answer in the
script they write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Final

import opencc

# Reviewed terms where a Hong Kong/Macao (or Guangdong Traditional) reader writes otherwise
# than OpenCC's s2hk gives. Keys are Simplified source text; values are written as they must
# appear. Each entry was read in the sentences that use it (tests/flows/test_hant.py holds
# examples; docs/design.md, "Languages", says how to add one).
OVERRIDES: Final[Mapping[str, str]] = {
    "视频": "影片",  # 視頻 reads as mainland usage
    "链接": "連結",  # 鏈接 is a chain link
    "登录": "登入",
    "手机号": "手機號碼",
    "信息": "資料",  # 您补充的信息 → 您補充的資料
    "文件": "檔案",  # a sent file, not an official document
    "消息": "訊息",  # a chat message
    "回复": "回覆",  # to reply (回復 is to restore)
    "主菜单": "主選單",
    "点击": "按",  # 点击“确认提交” → 按「確認提交」
    "服务台": "服務台",  # 12355 青少年服务台 is a name; s2hk's 枱 is a table
    "说": "說",  # s2hk's 説 is Hong Kong's standard form, but 說 is what readers write
    "群": "群",  # and 群, not s2hk's 羣
    "“": "「",  # Traditional texts quote with corner brackets
    "”": "」",
}

_SPLIT: Final = re.compile("|".join(re.escape(k) for k in sorted(OVERRIDES, key=len, reverse=True)))


@cache
def converter(config: str) -> opencc.OpenCC:
    """OpenCC's converter for ``config`` ("t2s", "s2hk", …), made once per process: loading
    its dictionaries costs a few ms. Every module converting scripts takes it from here."""
    return opencc.OpenCC(config)


def to_hant(text: str) -> str:
    """``text`` (Simplified) in Traditional Chinese: OpenCC s2hk plus :data:`OVERRIDES`.

    The overrides split the text so that OpenCC never sees (and re-converts) a corrected
    phrase; the pieces between them are converted whole, keeping OpenCC's phrase context.
    """
    s2hk = converter("s2hk")
    out: list[str] = []
    start = 0
    for m in _SPLIT.finditer(text):
        out.append(s2hk.convert(text[start : m.start()]))
        out.append(OVERRIDES[m.group()])
        start = m.end()
    out.append(s2hk.convert(text[start:]))
    return "".join(out)


def derive(catalogue: Mapping[str, str]) -> dict[str, str]:
    """A whole catalogue in Traditional Chinese."""
    return {key: to_hant(text) for key, text in catalogue.items()}


def simplified_only(text: str) -> set[str]:
    """The characters of ``text`` that Traditional writing does not use (这, 里, 发, 视):
    those that every Traditional standard OpenCC knows (its generic one, Hong Kong's,
    Taiwan's) replaces even on their own. 台, 群 and 吃 are kept by one of them, so not
    counted: they are everyday Traditional characters too."""
    converters = [converter(c) for c in ("s2t", "s2hk", "s2tw")]
    return {
        ch
        for ch in set(text)
        if "\u3400" <= ch <= "\u9fff" and all(c.convert(ch) != ch for c in converters)
    }


def is_traditional(text: str) -> bool:
    """Whether someone who typed ``text`` writes Traditional: it has a character that
    Simplified writing does not use (廣, 從, 區) and none that only Simplified uses.
    Text in characters shared by both (街口, 小孩) says nothing either way."""
    t2s = converter("t2s")
    return t2s.convert(text) != text and not simplified_only(text)
