"""Settings from the environment (prefix ``HUTONG_``) and an optional ``.env`` file."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import async_url


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line meant for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUTONG_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///hutong.db"
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    # The bot's username (without @), for the t.me invitation links `hutong staff invite`
    # prints. Unset: the command asks the Bot API (getMe), and prints no link if it cannot.
    telegram_username: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    # Long-poll timeout for getUpdates, seconds.
    poll_timeout: int = Field(default=25, ge=0, le=50)
    # Deadlines and escalation: a TOML file overriding the default deadlines (see flows/sla.py), the
    # chat at the top of the ladder, and how often the sweep looks for due tickets.
    sla_file: Path | None = None
    duty_chat_id: int | None = None
    # Every second: a rung is fired at most a second late, and a sweep with nothing due is
    # one indexed query.
    sweep_seconds: float = Field(default=1, gt=0, le=300)
    # Tickets per sweep transaction: small batches let several processes share the work.
    sweep_batch: int = Field(default=500, ge=1, le=10_000)
    # The outbox retries a message that fails for a passing reason (network, Telegram down)
    # with growing pauses of at most this many seconds, for this many hours.
    outbox_deliver_hours: float = Field(default=24, ge=1, le=24 * 30)
    outbox_retry_max_seconds: float = Field(default=300, gt=0, le=3600)
    # Telegram's limits: messages a second from the bot overall, and to one private chat on
    # average. Raise them only against a Bot API without limits (a fake, in benchmarks).
    telegram_messages_per_second: float = Field(default=30, gt=0, le=100_000)
    telegram_chat_messages_per_second: float = Field(default=1, gt=0, le=100_000)
    # Days after closing that a ticket keeps the reporter's contact, story, notes and chat.
    retention_days: int = Field(default=365, ge=1, le=36_500)
    log_level: str = "INFO"
    # Reverse proxies (addresses, comma-separated) whose X-Forwarded-For names the client:
    # the public API's limits per client address count the client, not the proxy.
    trusted_proxies: str = ""
    # Where people reach the web pages (https://hutong.example.org): the bot's /dashboard and
    # /console send sign-in links under it. Unset: the bot says the web pages are not set up.
    public_url: str | None = None

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_address(part)
            except ValueError:
                raise ValueError(f"not an IP address: {part!r}") from None
        return value

    @property
    def proxies(self) -> frozenset[str]:
        return frozenset(filter(None, (p.strip() for p in self.trusted_proxies.split(","))))

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        try:
            return async_url(value)
        except Exception as exc:  # sqlalchemy raises several types for a bad URL
            raise ValueError(f"not a database URL ({exc})") from None

    @field_validator("telegram_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        bot_id, sep, secret = value.get_secret_value().partition(":")
        if not (sep and bot_id.isdigit() and secret):
            raise ValueError("expected the form <bot id>:<secret> given by @BotFather")
        return value

    @field_validator("telegram_username")
    @classmethod
    def _username_shape(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        name = value.strip().removeprefix("@")
        # Telegram's rule for a bot's username: 5-32 of letters, digits and _, ending in bot.
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{4,31}", name) or not name.lower().endswith(
            "bot"
        ):
            raise ValueError("a bot's username: 5-32 letters, digits or _, ending in bot")
        return name

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value.strip()):
            raise ValueError("must be an http:// or https:// address without query")
        return value.strip().rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -.
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{16,256}", value.get_secret_value()
        ):
            raise ValueError("use 16-256 characters of letters, digits, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("HUTONG_WEBHOOK_URL needs HUTONG_WEBHOOK_SECRET")
        if self.webhook_url and not self.webhook_url.startswith("https://"):
            raise ValueError("HUTONG_WEBHOOK_URL must be an https:// URL Telegram can reach")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a validation failure into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except UnicodeDecodeError as exc:
        raise SettingsError(f"the .env file is not UTF-8 text ({exc.reason})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "HUTONG_" + str(first["loc"][0]).upper() if first["loc"] else "HUTONG_WEBHOOK_URL"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
