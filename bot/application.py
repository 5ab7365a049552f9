"""Building the python-telegram-bot Application for the configured Bot API server."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, ApplicationBuilder

from bot.polling import StatusRequest, UpdatesRequest
from bot.settings import Settings
from handlers.telegram.updates import UpdateProcessor, install


def build_application(
    settings: Settings, processor: UpdateProcessor
) -> Application[Any, Any, Any, Any, Any, Any]:
    assert settings.telegram_token is not None
    api = settings.telegram_api_url
    application = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        # Updates are fetched by bot.polling.Poller (inbox first), not PTB's Updater.
        .updater(None)
        # Periodic work runs on our own scheduler (bot.jobs); PTB's would be a second one.
        .job_queue(None)
        # The aiohttp client with PTB's defaults, noting each answer's HTTP status for the logs.
        .request(StatusRequest(connection_pool_size=64))
        .get_updates_request(UpdatesRequest(connection_pool_size=1))
        .build()
    )
    install(application, processor)
    return application
