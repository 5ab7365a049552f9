"""``hutong …`` console commands run in this process against the test database."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


async def hutong(monkeypatch: pytest.MonkeyPatch, cwd: Path, database_url: str, *args: str) -> Run:
    """``hutong ARGS`` with only HUTONG_DATABASE_URL set, in ``cwd`` (no stray .env). The
    command runs its own event loop, so it runs in a thread beside the test's."""
    from bot import cli

    for key in list(os.environ):
        if key.startswith("HUTONG_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HUTONG_DATABASE_URL", database_url)
    monkeypatch.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                return cli.main(list(args))
            except SystemExit as exc:  # argparse refusing the arguments
                return int(exc.code or 0)

    code = await asyncio.to_thread(run)
    return Run(code, out.getvalue(), err.getvalue())
