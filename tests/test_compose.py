"""docker-compose.yml, .env.example and docs/deploy.md held to the code: each service's
``hutong`` command parses with hutong's own command line, the healthchecks probe routes the
app serves on the configured port (and fail when the process is broken), nothing secret is
in the compose file, and the example file and the docs' table list exactly the settings of
bot/settings.py with their defaults. ``.ci/compose-commands`` runs the same commands as
real processes."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from bot.cli import _parser
from bot.settings import Settings
from handlers.web.app import init_app
from handlers.web.probes import Probes
from storage.db import Database, async_url

ROOT: Final = Path(__file__).resolve().parents[1]
COMPOSE: Final[dict[str, Any]] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: Final[dict[str, Any]] = COMPOSE["services"]
# The one spelling of the port everywhere in the compose file: compose reads .env for it, and
# the same .env (env_file) tells hutong which port to listen on.
PORT: Final = "${HUTONG_HTTP_PORT:-8080}"
SETTINGS: Final = {f"HUTONG_{name.upper()}": f.default for name, f in Settings.model_fields.items()}
HUTONG_SERVICES: Final = ("migrate", "web", "worker")
# What a healthy process of each role says about its parts (bot/service.py, bot/roles.py).
HEALTHY: Final = {
    "web": Probes(telegram=lambda: "ok"),
    "worker": Probes(telegram=lambda: "ok", scheduler=lambda: "ok", sender=lambda: "ok"),
}


def _hutong(command: list[str] | str) -> argparse.Namespace:
    """The arguments of a ``hutong …`` command, parsed by the real parser: a typo fails."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    assert argv[0] == "hutong", argv
    try:
        return _parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"not a hutong command: {shlex.join(argv)}")


def _shown(default: object) -> str:
    """A default as .env.example and the docs write it ("" for unset)."""
    if default is None or default == "":
        return ""
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


# ------------------------------------------------------------------ the compose file


def test_the_four_services_exist() -> None:
    assert {"db", "migrate", "web", "worker"} <= set(SERVICES)


def test_db_is_postgres_on_a_named_volume_with_pg_isready() -> None:
    db = SERVICES["db"]
    assert db["image"].startswith("postgres:16")
    volume = next(v for v in db["volumes"] if v.endswith(":/var/lib/postgresql/data"))
    assert volume.split(":")[0] in COMPOSE["volumes"]
    assert db["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]


def test_migrate_runs_db_upgrade_once_after_the_database_is_healthy() -> None:
    migrate = SERVICES["migrate"]
    args = _hutong(migrate["command"])
    assert (args.command, args.db_command) == ("db", "upgrade")
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}


@pytest.mark.parametrize("role", ["web", "worker"])
def test_web_and_worker_serve_their_role_after_migrate_succeeded(role: str) -> None:
    service = SERVICES[role]
    args = _hutong(service["command"])
    assert (args.command, args.role) == ("serve", role)
    assert service["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}


def test_hutong_services_share_image_settings_and_one_postgresql_url() -> None:
    first, *others = (SERVICES[name] for name in HUTONG_SERVICES)
    for service in others:
        for key in ("build", "env_file", "environment"):
            assert service[key] == first[key], key
    assert first["build"] == "."
    assert first["env_file"] == ".env"
    env = first["environment"]
    # Inside a container the server must listen on the container's interface.
    assert env["HUTONG_HTTP_HOST"] == "0.0.0.0"
    assert env["HUTONG_HTTP_PORT"] == PORT
    url = env["HUTONG_DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://") and "@db:5432/" in url
    # storage/db.py takes it as it is: PostgreSQL through asyncpg.
    plain = url.replace(_password_reference(url), "pw")
    assert async_url(plain) == plain


def _password_reference(url: str) -> str:
    match = re.search(r"://[^:/@]+:([^@]*)@", url)
    assert match, url
    return match[1]


def test_no_secret_is_written_in_the_compose_file() -> None:
    required = re.compile(r"\$\{POSTGRES_PASSWORD:\?[^}]+\}")
    assert required.fullmatch(SERVICES["db"]["environment"]["POSTGRES_PASSWORD"])
    for name in HUTONG_SERVICES:
        env = SERVICES[name]["environment"]
        assert required.fullmatch(_password_reference(env["HUTONG_DATABASE_URL"]))
        assert not [key for key in env if re.search("TOKEN|SECRET|PASSWORD", key)]
    text = (ROOT / "docker-compose.yml").read_text()
    assert "HUTONG_TELEGRAM_TOKEN" not in text and "HUTONG_WEBHOOK_SECRET" not in text


def test_every_port_reference_is_the_configured_port_with_the_settings_default() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    references = re.findall(r"\$\{?HUTONG_HTTP_PORT[^}'\"\s]*\}?", text)
    assert len(references) >= 5  # the environment, web's two ports, two healthchecks
    assert set(references) == {PORT}
    # Its default is the one hutong itself falls back to.
    assert SETTINGS["HUTONG_HTTP_PORT"] == int(PORT.removesuffix("}").rsplit(":-", 1)[1])


def test_web_is_published_on_the_hosts_loopback_and_the_worker_not_at_all() -> None:
    # A worker serves the whole app on its port too (API, pages): it stays off the host.
    assert SERVICES["web"]["ports"] == [f"127.0.0.1:{PORT}:{PORT}"]
    assert "ports" not in SERVICES["worker"]


def _healthcheck(role: str, port: int) -> list[str]:
    """The healthcheck's command as docker runs it (exec form), ``port`` for the variable,
    this interpreter for the image's ``python``."""
    test = SERVICES[role]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "python"
    argv = [sys.executable, *test[2:]]
    # The port is the only variable in it, so replacing it is what compose's interpolation does.
    assert [re.findall(r"\$\{[^}]*\}", arg) for arg in argv[1:]] == [[], [PORT]]
    return [arg.replace(PORT, str(port)) for arg in argv]


@pytest.mark.parametrize("role", ["web", "worker"])
def test_healthcheck_probes_a_served_route_on_the_configured_port(role: str) -> None:
    code = " ".join(SERVICES[role]["healthcheck"]["test"][2:])
    assert re.search(rf"http://127\.0\.0\.1:{re.escape(PORT)}/(healthz|readyz)'", code)


async def _run(argv: list[str]) -> int:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await asyncio.wait_for(proc.wait(), 30)


@pytest.mark.parametrize("role", ["web", "worker"])
async def test_healthcheck_passes_against_a_healthy_process_of_its_role(
    role: str, aiohttp_server: Any, db: Database
) -> None:
    server = await aiohttp_server(init_app(db=db, probes=HEALTHY[role]))
    assert await _run(_healthcheck(role, server.port)) == 0
    # The port is the one that matters: another port is another process.
    other = await aiohttp_server(init_app(db=db, probes=HEALTHY[role]))
    await other.close()
    assert await _run(_healthcheck(role, other.port)) != 0


@pytest.mark.parametrize("part", ["scheduler", "sender"])
@pytest.mark.parametrize("state", ["stalled", "stopped"])
async def test_worker_healthcheck_fails_when_its_sweep_or_sender_is_stuck(
    part: str, state: str, aiohttp_server: Any, db: Database
) -> None:
    parts = {"telegram": "ok", "scheduler": "ok", "sender": "ok", part: state}
    probes = Probes(**{k: (lambda v=v: v) for k, v in parts.items()})
    server = await aiohttp_server(init_app(db=db, probes=probes))
    assert await _run(_healthcheck("worker", server.port)) != 0


async def test_web_healthcheck_stays_healthy_while_telegram_is_down(
    aiohttp_server: Any, db: Database
) -> None:
    server = await aiohttp_server(init_app(db=db, probes=Probes(telegram=lambda: "unreachable")))
    assert await _run(_healthcheck("web", server.port)) == 0


# ------------------------------------------------------------------ settings, listed twice


def _env_example() -> dict[str, tuple[str, bool]]:
    """HUTONG_ name -> (value, commented) from .env.example; each named once."""
    found: dict[str, tuple[str, bool]] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.fullmatch(r"(# )?(HUTONG_[A-Z0-9_]+)=(.*)", line)
        if match:
            assert match[2] not in found, f"{match[2]} twice in .env.example"
            found[match[2]] = (match[3], bool(match[1]))
    return found


def test_env_example_lists_every_setting_with_its_default() -> None:
    example = _env_example()
    assert set(example) == set(SETTINGS)
    for name, (value, commented) in example.items():
        if commented:  # a commented line shows the default
            assert value == _shown(SETTINGS[name]), name


def test_env_example_holds_no_secret_and_trusts_the_compose_gateway() -> None:
    example = _env_example()
    for name in ("HUTONG_TELEGRAM_TOKEN", "HUTONG_WEBHOOK_SECRET"):
        assert example[name] == ("", True)
    text = (ROOT / ".env.example").read_text()
    assert re.search(r"^POSTGRES_PASSWORD=$", text, re.MULTILINE)
    gateway = COMPOSE["networks"]["default"]["ipam"]["config"][0]["gateway"]
    assert example["HUTONG_TRUSTED_PROXIES"] == (gateway, False)


def test_env_example_names_every_variable_the_compose_file_reads() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "docker-compose.yml").read_text()))
    text = (ROOT / ".env.example").read_text()
    assert used and all(re.search(rf"^(# )?{name}=", text, re.MULTILINE) for name in used)


def test_env_example_as_it_is_is_a_valid_settings_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in [k for k in os.environ if k.startswith("HUTONG_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    assert settings.trusted_proxies == _env_example()["HUTONG_TRUSTED_PROXIES"][0]


def _docs_table() -> dict[str, str]:
    """setting -> default from the table after ``<!-- settings-table -->`` in docs/deploy.md."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    rows = text.split("<!-- settings-table -->\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert rows[0].startswith("| setting | default | meaning |")
    table: dict[str, str] = {}
    for row in rows[2:]:
        name, default, meaning = (cell.strip() for cell in row.strip("|").split(" | ", 2))
        assert meaning, name
        name = name.strip("`")
        assert name not in table, f"{name} twice in docs/deploy.md"
        table[name] = "" if default == "unset" else default.strip("`")
    return table


def test_docs_table_lists_every_setting_with_its_default() -> None:
    table = _docs_table()
    assert set(table) == set(SETTINGS)
    assert {name: default for name, default in table.items()} == {
        name: _shown(default) for name, default in SETTINGS.items()
    }


# ------------------------------------------------------------------ the docs' commands


def _docs_commands() -> Iterator[list[str]]:
    """Each ``hutong …`` command in docs/deploy.md's shell blocks: at the start of a line or
    run in a compose service (``docker compose exec web hutong …``)."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            for i, word in enumerate(words):
                if word == "hutong" and (i == 0 or words[i - 1] in SERVICES):
                    rest = words[i:]
                    end = next((j for j, w in enumerate(rest) if w in ("|", "&&", ";")), None)
                    yield rest[:end]


def test_every_hutong_command_in_the_deploy_guide_parses() -> None:
    commands = list(_docs_commands())
    for command in commands:
        _hutong(command)
    # The first-start steps are among them (so the search above found what it should).
    firsts = {tuple(command[1:3]) for command in commands}
    assert {("staff", "invite"), ("api-token", "create"), ("erase", "--ticket")} <= firsts
