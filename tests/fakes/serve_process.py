"""`hutong serve` as a real process, for black-box tests against the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
from bot_api import FakeBotAPI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def answers_ok(http: aiohttp.ClientSession, url: str) -> bool:
    """Whether ``url`` answers 200 now; a refused or dropped connection (a server not up
    yet) is a no, not an error."""
    try:
        async with http.get(url) as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


def service_for(
    api: FakeBotAPI, *, database_url: str, workdir: Path, role: str = "all", **env: str
) -> Service:
    """A service on a free port using ``api`` (``env`` adds or overrides HUTONG_ settings),
    running as ``hutong serve --role ROLE``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUTONG_")}
    clean.update(
        HUTONG_DATABASE_URL=database_url,
        HUTONG_TELEGRAM_TOKEN=api.token,
        HUTONG_TELEGRAM_API_URL=api.base_url,
        HUTONG_HTTP_HOST="127.0.0.1",
        HUTONG_HTTP_PORT=str(free_port()),
        HUTONG_POLL_TIMEOUT="5",
    )
    clean.update(env)
    return Service(env=clean, workdir=workdir, role=role)


class Service:
    """One `hutong serve` process; start, kill -9, start again."""

    def __init__(self, *, env: dict[str, str], workdir: Path, role: str = "all") -> None:
        self.env = env
        self.role = role
        self.workdir = workdir
        self.port = int(env["HUTONG_HTTP_PORT"])
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self, api: FakeBotAPI, *, wait_poll: bool = True) -> None:
        self.starts += 1
        with (self.workdir / f"serve-{self.starts}.log").open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "serve",
                "--role",
                self.role,
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        await self._wait_healthy()
        if wait_poll:
            await api.wait_for_poll(timeout=30)

    async def health(self) -> tuple[int, dict[str, Any]]:
        """/healthz: status code and body."""
        url = f"http://127.0.0.1:{self.port}/healthz"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            return resp.status, await resp.json()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def _wait_healthy(self) -> None:
        url = f"http://127.0.0.1:{self.port}/healthz"
        async with aiohttp.ClientSession() as http:
            for _ in range(300):  # bounded: 30 s
                assert self.proc is not None
                if self.proc.returncode is not None:
                    raise AssertionError(f"hutong serve exited early:\n{self.log()}")
                if await answers_ok(http, url):
                    return
                await asyncio.sleep(0.1)
        raise AssertionError(f"hutong serve did not become healthy:\n{self.log()}")

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.proc.wait(), 10)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-4000:] for p in sorted(self.workdir.glob("*.log"))
        )
