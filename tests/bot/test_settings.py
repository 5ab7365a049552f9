"""Settings: defaults, validation, and one clear line for a bad value."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("HUTONG_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(str(tmp_path))  # no stray .env


def run_cli(cwd: object, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """``hutong`` in a subprocess, with only the given HUTONG_ settings, in ``cwd``."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("HUTONG_")}
    env.update(settings)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_defaults_are_embedded_sqlite_and_no_bot() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///hutong.db"
    assert settings.is_sqlite
    assert settings.telegram_token is None
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)


async def test_the_bots_sending_limits_are_telegrams_unless_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.telegram_side import TelegramSide
    from flows.clock import system_clock
    from flows.intake import Intake
    from flows.places import Directory
    from flows.sla import DEFAULT_POLICY
    from handlers.telegram.pace import LocalPace
    from storage.db import Database, make_engine

    monkeypatch.setenv("HUTONG_TELEGRAM_TOKEN", "1:secret")
    db = Database(make_engine("sqlite+aiosqlite://"))
    intake = Intake(Directory.from_rows([]), DEFAULT_POLICY)
    sides = []
    for overrides in ({}, {"MESSAGES": "500", "CHAT_MESSAGES": "4"}):
        for name, value in overrides.items():
            monkeypatch.setenv(f"HUTONG_TELEGRAM_{name}_PER_SECOND", value)
        side = TelegramSide(load_settings(), db=db, intake=intake, clock=system_clock)
        assert side.sender is not None and isinstance(side.sender.pace, LocalPace)
        sides.append((side.sender.pace.limiter.max_rate, side.sender.pace.chats.private))
        await side.close()
    await db.dispose()
    assert sides == [(30, 1.0), (500, 0.25)]


def test_plain_postgres_url_gets_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUTONG_DATABASE_URL", "postgresql://u:p%40ss@db:5432/hutong")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://u:p%40ss@db:5432/hutong"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("HUTONG_HTTP_PORT", "eighty", "HUTONG_HTTP_PORT"),
        ("HUTONG_HTTP_PORT", "70000", "HUTONG_HTTP_PORT"),
        ("HUTONG_TELEGRAM_TOKEN", "not-a-token", "HUTONG_TELEGRAM_TOKEN"),
        ("HUTONG_TELEGRAM_API_URL", "ftp://x", "HUTONG_TELEGRAM_API_URL"),
        ("HUTONG_DATABASE_URL", "mysql://x/y", "HUTONG_DATABASE_URL"),
        ("HUTONG_DATABASE_URL", "::::", "HUTONG_DATABASE_URL"),
        ("HUTONG_LOG_LEVEL", "verbose", "HUTONG_LOG_LEVEL"),
        ("HUTONG_TELEGRAM_MESSAGES_PER_SECOND", "0", "HUTONG_TELEGRAM_MESSAGES_PER_SECOND"),
        ("HUTONG_TELEGRAM_CHAT_MESSAGES_PER_SECOND", "-1", "HUTONG_TELEGRAM_CHAT"),
        ("HUTONG_PUBLIC_URL", "hutong.example.org", "HUTONG_PUBLIC_URL"),
        ("HUTONG_PUBLIC_URL", "https://hutong.example.org/?x=1", "HUTONG_PUBLIC_URL"),
    ],
)
def test_bad_setting_names_itself(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert fragment in message and "\n" not in message


def test_a_dot_env_that_is_not_utf8_is_one_line(tmp_path: object) -> None:
    from pathlib import Path

    (Path(str(tmp_path)) / ".env").write_bytes(b"HUTONG_HTTP_PORT=\xff\xfe80\n")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert ".env" in str(info.value) and "\n" not in str(info.value)


def test_cli_serves_while_the_bot_api_is_unreachable(tmp_path: object) -> None:
    """A wrong Bot API URL does not stop `hutong serve`: the web server answers, /healthz
    says the Bot API is unreachable, the log says so in lines without a traceback or the
    token, and SIGTERM still stops the service at once (it is waiting to retry)."""
    import json
    import os
    import socket
    import time
    import urllib.request

    ports = []
    for _ in range(2):
        with socket.socket() as s:  # a loopback port nobody listens on; one for HTTP
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUTONG_")}
    env.update(
        HUTONG_HTTP_PORT=str(ports[1]),
        HUTONG_TELEGRAM_TOKEN="123:tokensecretvalue",
        HUTONG_TELEGRAM_API_URL=f"http://127.0.0.1:{ports[0]}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        env=env,
        cwd=str(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health: dict[str, str] = {}
        for _ in range(600):  # bounded: until the first attempt has failed
            assert proc.poll() is None, proc.communicate()[1]
            try:
                url = f"http://127.0.0.1:{ports[1]}/healthz"
                with urllib.request.urlopen(url, timeout=5) as resp:
                    assert resp.status == 200
                    health = json.load(resp)
            except OSError:
                pass
            if health.get("telegram") == "unreachable":
                break
            time.sleep(0.1)
        assert health == {
            "status": "ok",
            "database": "ok",
            "telegram": "unreachable",
            "scheduler": "ok",
            "sender": "starting",
        }
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "cannot reach the Bot API at http://127.0.0.1:" in stderr
    assert "(getMe: NetworkError, no answer); retrying in 1 s" in stderr
    assert "Traceback" not in stderr and "tokensecretvalue" not in stderr


def test_token_secret_is_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUTONG_TELEGRAM_TOKEN", "123:secretvalue")
    settings = load_settings()
    assert "secretvalue" not in repr(settings)
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == "123:secretvalue"


def test_cli_stops_with_one_line_not_a_traceback(tmp_path: object) -> None:
    proc = run_cli(tmp_path, "serve", HUTONG_HTTP_PORT="eighty")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hutong: invalid setting HUTONG_HTTP_PORT")
    assert "Traceback" not in proc.stderr


def test_cli_unreachable_database_is_one_line(tmp_path: object) -> None:
    url = "postgresql://nobody:secret@127.0.0.1:1/none"
    proc = run_cli(tmp_path, "db", "upgrade", HUTONG_DATABASE_URL=url)
    assert proc.returncode == 2
    assert proc.stderr.startswith("hutong: cannot open the database")
    assert "secret" not in proc.stderr and "Traceback" not in proc.stderr


def test_cli_bad_sla_file_is_one_line(tmp_path: object) -> None:
    from pathlib import Path

    sla = Path(str(tmp_path)) / "sla.toml"
    sla.write_text("[P0]\nsign = 0\n")
    proc = run_cli(tmp_path, "serve", HUTONG_SLA_FILE=str(sla), HUTONG_HTTP_PORT="0")
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("hutong: the SLA file") and "P0" in last
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"HUTONG_WEBHOOK_URL": "https://example.org/telegram/webhook"}, "HUTONG_WEBHOOK_SECRET"),
        (
            {"HUTONG_WEBHOOK_URL": "http://x/y", "HUTONG_WEBHOOK_SECRET": "a" * 20},
            "https://",
        ),
        ({"HUTONG_WEBHOOK_SECRET": "short"}, "HUTONG_WEBHOOK_SECRET"),
        ({"HUTONG_WEBHOOK_SECRET": "has spaces in it, not allowed"}, "HUTONG_WEBHOOK_SECRET"),
    ],
)
def test_webhook_settings_are_checked(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], fragment: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("role", "env", "fragment"),
    [
        ("web", {}, "needs PostgreSQL"),
        ("worker", {}, "needs PostgreSQL"),
        (
            "worker",
            {
                "HUTONG_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none",
                "HUTONG_TELEGRAM_TOKEN": "1:secret",
            },
            "needs HUTONG_WEBHOOK_URL",
        ),
    ],
)
def test_a_split_role_without_what_it_needs_is_one_line(
    tmp_path: object, role: str, env: dict[str, str], fragment: str
) -> None:
    """Several processes share the work only on PostgreSQL and by webhook: anything else is
    refused before a database is opened or a port bound."""
    proc = run_cli(tmp_path, "serve", "--role", role, HUTONG_HTTP_PORT="0", **env)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"hutong: --role {role} ") and fragment in last
    assert "Traceback" not in proc.stderr


def test_an_unknown_role_is_refused_by_the_command_line(tmp_path: object) -> None:
    proc = run_cli(tmp_path, "serve", "--role", "everything")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_the_public_address_is_kept_without_its_last_slash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUTONG_PUBLIC_URL", " https://hutong.example.org/help/ ")
    assert load_settings().public_url == "https://hutong.example.org/help"
    monkeypatch.setenv("HUTONG_PUBLIC_URL", "")
    assert load_settings().public_url is None


def test_the_bots_username_is_kept_without_its_at_and_must_be_a_bots(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUTONG_TELEGRAM_USERNAME", " @Hutong_Help_Bot ")
    assert load_settings().telegram_username == "Hutong_Help_Bot"
    monkeypatch.setenv("HUTONG_TELEGRAM_USERNAME", "")
    assert load_settings().telegram_username is None
    for bad in ("hutong", "bot", "1hutong_bot", "hutong-bot", "x" * 30 + "bot"):
        monkeypatch.setenv("HUTONG_TELEGRAM_USERNAME", bad)
        with pytest.raises(SettingsError, match="HUTONG_TELEGRAM_USERNAME"):
            load_settings()
