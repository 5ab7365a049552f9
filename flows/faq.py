"""政策咨询 in the bot: what the dialogue's ``ConsultFaq`` effect shows, read from the answers
operators imported (flows.faq_store), inside the turn's transaction.

Every answer ends by saying where to turn next. A parent who has filed a report from this
chat is pointed to that report's station — by name, with its phone when an operator has set
one (``hutong station phone``) — since that station already knows the family's place; anyone
else to the township's station in general, the village's children's director and 12355. The
place steps are not asked for here: a worried parent reading about a subsidy should not have
to pick a city, a county and a township first, and the answer is the same everywhere.

Entries are stored in Simplified Chinese and, where written, English. A Traditional-Chinese
reader gets the Simplified text converted by OpenCC (s2hk, as the catalogue's Traditional
texts) when it is shown; English readers of an entry with no English get the Chinese with a
note.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, Final

import orjson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import faq_search, faq_steps, faq_store, hant
from flows.callbacks import IntakeAction
from flows.dialogue import ConsultFaq, Dialogue
from flows.messages import Button, Reply
from flows.pager import nav_row, page_of
from flows.screens import btn, faq_buttons, raw_btn
from flows.texts import DEFAULT_LOCALE, local_name, t
from storage.models import FaqEntry, Station, Ticket

TOPICS_PER_PAGE: Final = 8
OFFERED: Final = 3  # entries offered for typed words
# The locale whose texts are derived from the Simplified ones (flows.hant), never stored.
HANT: Final = "zh-Hant"


def words_of(row: FaqEntry, locale: str) -> tuple[dict[str, Any], bool]:
    """The entry's question, answer and keywords for ``locale``, and whether they are in it
    (False: the Chinese, for a reader of a language the file does not have)."""
    if locale in row.texts:
        return row.texts[locale], True
    zh: dict[str, Any] = row.texts[DEFAULT_LOCALE]
    if locale == HANT:
        return {
            "question": to_hant(zh["question"]),
            "answer": to_hant(zh["answer"]),
            "keywords": [to_hant(k) for k in zh["keywords"]],
        }, True
    return zh, False


def to_hant(text: str) -> str:
    """An operator's Simplified text in Traditional: OpenCC's s2hk, as for the catalogue, but
    without flows.hant's overrides, which were reviewed for the bot's own sentences (文件 there
    is a file someone sent, 檔案; in a policy answer it is an official document, 文件)."""
    return str(hant.converter("s2hk").convert(text))


async def consult(
    *, session: AsyncSession, dlg: Dialogue, ask: ConsultFaq, channel: str, chat_id: str
) -> list[Reply]:
    """The replies for what the dialogue asked: topics, one answer, or a search."""
    loc = dlg.locale
    rows = await faq_store.listed(session)
    if not rows:  # nothing imported yet: say so, and where to turn meanwhile
        return [Reply(t(loc, "faq.empty"), [faq_buttons(dlg)[-1]], edit=ask.edit)]
    if ask.key is not None:
        row = next((r for r in rows if r.key == ask.key), None)
        if row is None:  # withdrawn or renamed by a later import
            return [_topics(dlg, rows, 0, lead="faq.gone", edit=ask.edit)]
        station = await reporting_station(session=session, channel=channel, chat_id=chat_id)
        return [Reply(answer_text(row, loc, station), faq_buttons(dlg), edit=ask.edit)]
    if ask.words is not None:
        found = faq_search.rank(_documents(rows), ask.words, limit=OFFERED)
        if not found:
            return [_topics(dlg, rows, 0, lead="faq.not_found", edit=False)]
        by_key = {r.key: r for r in rows}
        buttons = [[_entry_button(dlg, by_key[key])] for key in found]
        return [Reply(t(loc, "faq.found"), [*buttons, *faq_buttons(dlg)])]
    return [_topics(dlg, rows, ask.page, edit=ask.edit)]


def _entry_button(dlg: Dialogue, row: FaqEntry) -> Button:
    question = str(words_of(row, dlg.locale)[0]["question"])
    return raw_btn(dlg, question, IntakeAction.FAQ, faq_steps.entry(row.key))


def _topics(
    dlg: Dialogue, rows: list[FaqEntry], number: int, *, lead: str | None = None, edit: bool
) -> Reply:
    """A page of the questions, one button each, with ◀/▶ when there are more."""
    shown = page_of(rows, number, TOPICS_PER_PAGE)
    buttons = [[_entry_button(dlg, row)] for row in shown.items]

    def turn(label: str, page: int) -> Button:
        return raw_btn(dlg, label, IntakeAction.FAQ, faq_steps.page(page))

    nav = nav_row(shown, turn, prev=t(dlg.locale, "btn.prev"), next=t(dlg.locale, "btn.next"))
    if nav:
        buttons.append(nav)
    buttons.append([btn(dlg, "btn.faq.menu", IntakeAction.FAQ, faq_steps.MENU)])
    text = t(dlg.locale, "faq.topics", page=shown.number + 1, pages=shown.count)
    if lead is not None:
        text = f"{t(dlg.locale, lead)}\n\n{text}"
    return Reply(text, buttons, edit=edit)


def answer_text(row: FaqEntry, locale: str, station: Station | None) -> str:
    """The question, the answer, its source, and where to turn next."""
    words, translated = words_of(row, locale)
    lines = [
        t(locale, "faq.answer", question=words["question"], answer=words["answer"]),
        t(
            locale,
            "faq.source",
            title=to_hant(row.source_title) if locale == HANT else row.source_title,
            date=_date(locale, row.source_date),
        ),
    ]
    if row.source_url:
        lines.append(t(locale, "faq.link", url=row.source_url))
    if not translated:
        lines.append(t(locale, "faq.chinese_only"))
    lines.append(station_text(locale, station))
    return "\n\n".join(lines)


def station_text(locale: str, station: Station | None) -> str:
    if station is None:
        return t(locale, "faq.station_any")
    name = local_name(locale, station.name)
    if station.phone:
        return t(locale, "faq.station_phone", station=name, phone=station.phone)
    return t(locale, "faq.station", station=name)


def _date(locale: str, day: date) -> str:
    return t(locale, "faq.date", y=day.year, m=day.month, d=day.day)


async def reporting_station(*, session: AsyncSession, channel: str, chat_id: str) -> Station | None:
    """The station of the newest report filed from this chat that has one (a report still in
    a county's queue has none yet). An erased report no longer names its chat."""
    query = (
        select(Station)
        .join(Ticket, col(Ticket.station_code) == col(Station.code))
        .where(col(Ticket.reporter_channel) == channel, col(Ticket.reporter_chat_id) == chat_id)
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


# The search's view of the entries, built again only when an import changed them: building
# it reads every answer, which a typed question should not pay for each time.
_index: tuple[bytes, list[faq_search.Document]] | None = None


def _documents(rows: list[FaqEntry]) -> list[faq_search.Document]:
    global _index
    digest = hashlib.blake2b(orjson.dumps([(r.key, r.texts) for r in rows])).digest()
    if _index is None or _index[0] != digest:
        documents = [
            faq_search.Document.of(
                r.key,
                question=[w["question"] for w in r.texts.values()],
                answer=[w["answer"] for w in r.texts.values()],
                keywords=[k for w in r.texts.values() for k in w["keywords"]],
            )
            for r in rows
        ]
        _index = (digest, documents)
    return _index[1]
