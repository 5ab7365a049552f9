"""End-to-end fixtures: one `hutong serve` process per test, stopped afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bot_api import FakeBotAPI
from serve import Service, serve_env


@pytest.fixture
async def service_env(
    database_url: str, bot_api: FakeBotAPI, tmp_path: Path
) -> AsyncIterator[Service]:
    service = Service(env=serve_env(database_url=database_url, api=bot_api), workdir=tmp_path)
    yield service
    await service.stop()
