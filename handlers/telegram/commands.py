"""A command-list row of the outbox (``flows.commands``) -> setMyCommands / deleteMyCommands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)

from flows import commands


@dataclass(frozen=True, slots=True)
class Publication:
    method: str  # setMyCommands | deleteMyCommands
    scope: BotCommandScope
    language_code: str | None
    commands: tuple[BotCommand, ...] = ()


def read(payload: dict[str, Any], target: str) -> Publication:
    """What the row asks for; KeyError/ValueError/TypeError when it cannot be read (the
    sender gives such a row up: retrying cannot help). A chat's id is the row's target, so
    a group that became a supergroup (its waiting rows moved to the new id) gets it there."""
    kind = payload["scope"]
    scope: BotCommandScope
    if kind == commands.CHAT:
        scope = BotCommandScopeChat(int(target))
    elif kind == commands.PRIVATE:
        scope = BotCommandScopeAllPrivateChats()
    elif kind == commands.DEFAULT:
        scope = BotCommandScopeDefault()
    else:
        raise ValueError("unknown command scope")
    language = payload.get("language_code") or None
    if language is not None and not isinstance(language, str):
        raise TypeError("language_code is not a string")
    method = payload["method"]
    if method == commands.DELETE:
        return Publication(method, scope, language)
    if method != commands.SET:
        raise ValueError("unknown command method")
    listed = tuple(BotCommand(str(name), str(about)) for name, about in payload["commands"])
    return Publication(method, scope, language, listed)


async def publish(bot: Bot, publication: Publication) -> None:
    """One Bot API call; its errors are PTB's, classified by the sender like a message's."""
    if publication.method == commands.SET:
        await bot.set_my_commands(
            publication.commands,
            scope=publication.scope,
            language_code=publication.language_code,
        )
    else:
        await bot.delete_my_commands(
            scope=publication.scope, language_code=publication.language_code
        )
