"""End-to-end fixtures: one `hutong serve` process per test, stopped afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bot_api import FakeBotAPI
from serve_process import Service, service_for


@pytest.fixture
async def service_env(
    database_url: str, bot_api: FakeBotAPI, tmp_path: Path
) -> AsyncIterator[Service]:
    service = service_for(bot_api, database_url=database_url, workdir=tmp_path)
    yield service
    await service.stop()
