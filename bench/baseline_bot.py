"""The yardstick for bench/intake.py: hutong's citizen report dialogue as a plain
python-telegram-bot v22 bot (``ConversationHandler``, ``context.user_data``, ``run_polling``
with PTB's defaults), everything in memory, no database.

It asks the same questions with the same texts (``flows.texts``, Simplified Chinese), the same
buttons and the same button data (``<version>:<action>:<value>``, the version counting the
prompts as hutong's dialogue does), sends HTML like hutong and edits the concerns message in
place like hutong, so ``tests/fakes/citizen.py`` drives both unchanged and sees the same Bot
API calls. Only the button path of a report is answered (the place chosen by city, county and
township; contact anonymous): what ``Citizen.file_report_by_buttons`` does. The filed report
goes into a dict and the receipt carries a ticket code like hutong's.

PTB's defaults: updates are handled one at a time (no ``concurrent_updates``) and requests
are not rate limited. ``--rate-limiter`` adds PTB's ``AIORateLimiter`` (30 requests a second
that name a chat), the overall limit hutong's outbox sender also keeps. ``--webhook-port``
takes updates by PTB's ``run_webhook`` (needs ``python-telegram-bot[webhooks]``: tornado) on
loopback instead of ``run_polling``.

    python bench/baseline_bot.py --token 123456:TEST --base-url http://127.0.0.1:8081/bot
"""

from __future__ import annotations

import argparse
import csv
import html
import logging
import secrets
import sys
import warnings
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

# Only the light catalogue modules of hutong: texts and answer vocabularies, no database.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from flows.texts import duration, t
from flows.triage import AGE_BANDS, CONCERNS, DANGER, REPORTER_ROLES, SEXES
from flows.triage import derive_priority as priority_of

L = "zh"
DIVISIONS = Path(__file__).resolve().parents[1] / "storage" / "divisions"
TOWNSHIPS_PER_PAGE = 12
STORY_MAX = 2000  # storage.models.TEXT_MAX
# (sign-for, first action) windows in minutes: hutong's default policy (flows/sla.py).
WINDOWS = {"P0": (15, 120), "P1": (120, 1440), "P2": (1440, 3 * 1440)}
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

MENU, DANGER_Q, REPORTER_Q, CITY_Q, COUNTY_Q, TOWNSHIP_Q = range(6)
AGE_Q, SEX_Q, CONCERNS_Q, STORY_Q, CONTACT_Q, SUMMARY_Q = range(6, 12)

REPORTS: dict[str, dict[str, Any]] = {}  # the "filed" reports, by ticket code


# ---------------------------------------------------------------------- the place list


def _read(name: str) -> list[dict[str, str]]:
    with (DIVISIONS / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


CITIES = {r["code"]: r["name"] for r in _read("cities.csv")}
COUNTIES = {r["code"]: (r["name"], r["city_code"]) for r in _read("counties.csv")}
# 东莞 and 中山 have no counties: their townships' county_code is the city's own code.
TOWNSHIPS = {r["code"]: (r["name"], r["county_code"]) for r in _read("townships.csv")}
CHILDREN: dict[str, list[str]] = {}
for _code, (_name, _parent) in sorted({**COUNTIES, **TOWNSHIPS}.items()):
    if _code not in CITIES:
        CHILDREN.setdefault(_parent, []).append(_code)


def place_name(code: str) -> str:
    return CITIES.get(code) or COUNTIES.get(code, TOWNSHIPS.get(code, ("?", "")))[0]


# ---------------------------------------------------------------------- replies


def button(ud: dict[str, Any], label: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=f"{ud['v']}:{action}:{value}")


def rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


async def ask(update: Update, text: str, keyboard: list[list[InlineKeyboardButton]]) -> None:
    chat = update.effective_chat
    assert chat is not None
    await chat.send_message(text, parse_mode=ParseMode.HTML, reply_markup=_markup(keyboard))


def _markup(keyboard: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    return InlineKeyboardMarkup(keyboard) if keyboard else None


def next_version(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any]:
    ud = context.user_data
    assert ud is not None
    ud["v"] = ud.get("v", 0) + 1
    return ud


async def pressed(update: Update) -> str:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    return query.data.split(":", 2)[2]


# ---------------------------------------------------------------------- the steps


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    ud = next_version(context)
    ud["answers"] = {}
    keyboard = [
        [button(ud, t(L, "btn.report"), "mn", "report")],
        [
            button(ud, t(L, "btn.status"), "mn", "status"),
            button(ud, t(L, "btn.language"), "mn", "lang"),
        ],
    ]
    await ask(update, t(L, "menu"), keyboard)
    return MENU


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await pressed(update)
    ud = next_version(context)
    ud["answers"] = {}
    keyboard = [[button(ud, t(L, f"btn.danger.{v}"), "dg", v) for v in DANGER]]
    await ask(update, t(L, "danger.prompt"), keyboard)
    return DANGER_Q


async def danger(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    value = await pressed(update)
    ud = next_version(context)
    ud["answers"]["danger"] = value
    if value == "yes":
        chat = update.effective_chat
        assert chat is not None
        await chat.send_message(t(L, "danger.call"), parse_mode=ParseMode.HTML)
    roles = [button(ud, t(L, f"role.{r}"), "rp", r) for r in REPORTER_ROLES]
    await ask(update, t(L, "reporter.prompt"), rows(roles, 2))
    return REPORTER_Q


async def reporter(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    ud = context.user_data
    assert ud is not None
    ud["answers"]["reporter"] = await pressed(update)
    ud = next_version(context)
    cities = [button(ud, name, "pc", code) for code, name in sorted(CITIES.items())]
    await ask(update, t(L, "place.prompt"), rows(cities, 3))
    return CITY_Q


async def city(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    code = await pressed(update)
    ud = next_version(context)
    ud["city"] = code
    children = CHILDREN.get(code, [])
    if children and children[0] in TOWNSHIPS:  # 东莞, 中山: no county level
        return await townships(update, ud, code, 0)
    counties = rows([button(ud, place_name(c), "pn", c) for c in children], 3)
    counties.append([button(ud, t(L, "place.unknown_county"), "pu", "city")])
    counties.append([button(ud, t(L, "btn.back"), "pb")])
    await ask(update, t(L, "place.county", city=CITIES[code]), counties)
    return COUNTY_Q


async def county(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    code = await pressed(update)
    return await townships(update, next_version(context), code, 0)


async def page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    value = await pressed(update)
    ud = next_version(context)
    return await townships(update, ud, ud["county"], int(value))


async def townships(update: Update, ud: dict[str, Any], code: str, page: int) -> int:
    ud["county"] = code
    towns = CHILDREN.get(code, [])
    pages = max(1, -(-len(towns) // TOWNSHIPS_PER_PAGE))
    shown = towns[page * TOWNSHIPS_PER_PAGE : (page + 1) * TOWNSHIPS_PER_PAGE]
    keyboard = rows([button(ud, place_name(c), "pt", c) for c in shown], 3)
    nav = []
    if page > 0:
        nav.append(button(ud, t(L, "btn.prev"), "pg", str(page - 1)))
    if page + 1 < pages:
        nav.append(button(ud, t(L, "btn.next"), "pg", str(page + 1)))
    if nav:
        keyboard.append(nav)
    unknown = "city" if code in CITIES else "county"
    keyboard.append([button(ud, t(L, "place.unknown_township"), "pu", unknown)])
    keyboard.append([button(ud, t(L, "btn.back"), "pb")])
    text = t(L, "place.township", county=place_name(code), page=page + 1, pages=pages)
    query = update.callback_query
    if query is not None and query.data is not None and ":pg:" in query.data:
        await query.edit_message_text(
            text, parse_mode=ParseMode.HTML, reply_markup=_markup(keyboard)
        )
    else:
        await ask(update, text, keyboard)
    return TOWNSHIP_Q


async def township(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    ud = context.user_data
    assert ud is not None
    ud["answers"]["place"] = await pressed(update)
    ud = next_version(context)
    ages = [button(ud, t(L, f"age.{v}"), "ag", v) for v in AGE_BANDS]
    await ask(update, t(L, "age.prompt"), rows(ages, 3))
    return AGE_Q


async def age(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    ud = context.user_data
    assert ud is not None
    ud["answers"]["age"] = await pressed(update)
    ud = next_version(context)
    await ask(update, t(L, "sex.prompt"), [[button(ud, t(L, f"sex.{v}"), "sx", v) for v in SEXES]])
    return SEX_Q


def concerns_keyboard(ud: dict[str, Any]) -> list[list[InlineKeyboardButton]]:
    chosen = ud["answers"].setdefault("concerns", [])
    labels = [("✅ " if c in chosen else "") + t(L, f"concern.{c}") for c in CONCERNS]
    keyboard = rows(
        [button(ud, label, "cn", c) for label, c in zip(labels, CONCERNS, strict=True)], 2
    )
    keyboard.append([button(ud, t(L, "concerns.done"), "cd")])
    return keyboard


async def sex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    ud = context.user_data
    assert ud is not None
    ud["answers"]["sex"] = await pressed(update)
    ud = next_version(context)
    await ask(update, t(L, "concerns.prompt"), concerns_keyboard(ud))
    return CONCERNS_Q


async def concern(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    value = await pressed(update)
    ud = next_version(context)
    chosen = ud["answers"].setdefault("concerns", [])
    ud["answers"]["concerns"] = [c for c in CONCERNS if (c in chosen) != (c == value)]
    query = update.callback_query
    assert query is not None
    # Ticks change in place, as in hutong.
    await query.edit_message_text(
        t(L, "concerns.prompt"),
        parse_mode=ParseMode.HTML,
        reply_markup=_markup(concerns_keyboard(ud)),
    )
    return CONCERNS_Q


async def concerns_done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    ud = context.user_data
    assert query is not None and ud is not None
    answers = ud["answers"]
    if not answers.get("concerns"):
        await query.answer(t(L, "concerns.need_one"))
        return CONCERNS_Q
    await query.answer()
    ud = next_version(context)
    chat = update.effective_chat
    assert chat is not None
    urgent = priority_of(
        in_danger=answers.get("danger", ""),
        concerns=answers["concerns"],
        child_age=answers.get("age", ""),
    )
    if urgent == "P0" and answers.get("danger") != "yes":
        await chat.send_message(t(L, "danger.call_on_submit"), parse_mode=ParseMode.HTML)
    await ask(update, t(L, "story.prompt", max=STORY_MAX), [])
    return STORY_Q


async def story(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    message = update.message
    assert message is not None and message.text is not None
    text = message.text.strip()
    if len(text) > STORY_MAX:
        await message.chat.send_message(t(L, "story.too_long", length=len(text), max=STORY_MAX))
        return STORY_Q
    if len(text) < 2:
        await message.chat.send_message(t(L, "story.too_short"))
        return STORY_Q
    ud = next_version(context)
    ud["answers"]["story"] = text
    keyboard = [
        [
            button(ud, t(L, "btn.contact.phone"), "ct", "phone"),
            button(ud, t(L, "btn.contact.anon"), "ct", "anon"),
        ]
    ]
    await ask(update, t(L, "contact.prompt"), keyboard)
    return CONTACT_Q


async def anonymous(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await pressed(update)
    ud = next_version(context)
    ud["answers"]["anonymous"] = True
    keyboard = [
        [button(ud, t(L, "btn.confirm"), "sm", "ok")],
        [
            button(ud, t(L, "btn.change"), "sm", "edit"),
            button(ud, t(L, "btn.cancel"), "sm", "cancel"),
        ],
    ]
    await ask(update, summary(ud["answers"]), keyboard)
    return SUMMARY_Q


def full_name(code: str) -> str:
    names = []
    while code:
        names.append(place_name(code))
        code = "" if code in CITIES else COUNTIES.get(code, TOWNSHIPS.get(code, ("", "")))[1]
    return "".join(reversed(names))


def summary(a: dict[str, Any]) -> str:
    story_text = a["story"] if len(a["story"]) <= 600 else a["story"][:599] + "…"
    lines = [
        t(L, "summary.title"),
        f"{t(L, 'summary.danger')}：{t(L, 'btn.danger.' + a['danger'])}",
        f"{t(L, 'summary.reporter')}：{t(L, 'role.' + a['reporter'])}",
        f"{t(L, 'summary.place')}：{html.escape(full_name(a['place']), quote=False)}",
        f"{t(L, 'summary.age')}：{t(L, 'age.' + a['age'])}",
        f"{t(L, 'summary.sex')}：{t(L, 'sex.' + a['sex'])}",
        f"{t(L, 'summary.concerns')}：{'、'.join(t(L, f'concern.{c}') for c in a['concerns'])}",
        f"{t(L, 'summary.story')}：{html.escape(story_text, quote=False)}",
        f"{t(L, 'summary.contact')}：{t(L, 'summary.anonymous')}",
    ]
    return "\n".join(lines)


async def submit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await pressed(update)
    ud = next_version(context)
    a = ud.pop("answers")
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    while code in REPORTS:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    REPORTS[code] = a
    priority = priority_of(in_danger=a["danger"], concerns=a["concerns"], child_age=a["age"])
    sign, first_action = WINDOWS[priority]
    township_name, county_code = TOWNSHIPS[a["place"]]
    county_name = COUNTIES[county_code][0] if county_code in COUNTIES else ""
    text = t(
        L,
        "submitted",
        code=code,
        station=f"{county_name}{township_name}未成年人保护工作站",
        window=duration(L, sign),
        action_window=duration(L, first_action),
    )
    chat = update.effective_chat
    assert chat is not None
    await chat.send_message(text, parse_mode=ParseMode.HTML, reply_markup=ReplyKeyboardRemove())
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat = update.effective_chat
    assert chat is not None
    await chat.send_message(t(L, "cancelled"), reply_markup=ReplyKeyboardRemove())
    return ConversationHandler.END


def on(action: str, callback: Any, values: str = r"[^:]*") -> CallbackQueryHandler[Any, Any]:
    return CallbackQueryHandler(callback, pattern=rf"^\d+:{action}:{values}$")


def build(
    token: str, base_url: str, *, rate_limited: bool = False
) -> Application[Any, Any, Any, Any, Any, Any]:
    builder = Application.builder().token(token).base_url(base_url)
    # PTB's optional limiter: 30 requests a second that name a chat, 20 a minute per group;
    # hutong's sender keeps the same overall limit (and one a second per chat).
    limited = builder.rate_limiter(AIORateLimiter()) if rate_limited else None
    application = limited.build() if limited is not None else builder.build()
    conversation = ConversationHandler(
        entry_points=[CommandHandler("start", start)],
        states={
            MENU: [on("mn", report, "report")],
            DANGER_Q: [on("dg", danger)],
            REPORTER_Q: [on("rp", reporter)],
            CITY_Q: [on("pc", city)],
            COUNTY_Q: [on("pn", county)],
            TOWNSHIP_Q: [on("pt", township), on("pg", page)],
            AGE_Q: [on("ag", age)],
            SEX_Q: [on("sx", sex)],
            CONCERNS_Q: [on("cn", concern), on("cd", concerns_done)],
            STORY_Q: [MessageHandler(filters.TEXT & ~filters.COMMAND, story)],
            CONTACT_Q: [on("ct", anonymous, "anon")],
            SUMMARY_Q: [on("sm", submit, "ok"), on("sm", cancel, "cancel")],
        },
        fallbacks=[CommandHandler("cancel", cancel), CommandHandler("start", start)],
    )
    application.add_handler(conversation)
    return application


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--token", required=True)
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8081/bot")
    parser.add_argument(
        "--rate-limiter", action="store_true", help="with PTB's AIORateLimiter (30/s overall)"
    )
    parser.add_argument(
        "--webhook-port",
        type=int,
        help="take updates by webhook (PTB's run_webhook) on 127.0.0.1:PORT/telegram/webhook",
    )
    parser.add_argument("--webhook-url", help="the URL registered with setWebhook")
    parser.add_argument("--webhook-secret", help="setWebhook's secret_token, checked on posts")
    args = parser.parse_args(argv)
    if args.webhook_port is not None and not (args.webhook_url and args.webhook_secret):
        parser.error("--webhook-port needs --webhook-url and --webhook-secret")
    logging.basicConfig(level=logging.WARNING)
    # per_message=False with CallbackQueryHandlers: PTB warns, and it is what is meant here
    # (one conversation per chat and user, like hutong's one dialogue per chat).
    warnings.filterwarnings("ignore", category=PTBUserWarning)
    application = build(args.token, args.base_url, rate_limited=args.rate_limiter)
    if args.webhook_port is None:
        application.run_polling()
    else:
        application.run_webhook(
            listen="127.0.0.1",
            port=args.webhook_port,
            url_path="telegram/webhook",
            webhook_url=args.webhook_url,
            secret_token=args.webhook_secret,
        )


if __name__ == "__main__":
    main()
