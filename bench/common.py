"""What the benchmarks share: percentiles, table printing, a process's memory, and the
PostgreSQL guard and reset.

Imported as ``common``: ``python bench/<name>.py`` puts this folder first on ``sys.path``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import make_engine

ROOT = Path(__file__).resolve().parents[1]


def git_commit() -> str:
    """The short commit of this checkout, ``+dirty`` with uncommitted changes to tracked files."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine_line() -> str:
    """The header every table is printed under: commit, CPUs, Python."""
    return (
        f"commit {git_commit()} · {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} "
        f"usable) · Python {platform.python_version()}"
    )


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (``nan`` when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def fmt(value: float | int | None, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def print_rows(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A right-aligned plain-text table."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


def memory_bytes(pid: int) -> dict[str, int]:
    """A live process's memory from ``/proc/PID/status`` (Linux), in bytes: ``VmRSS`` (resident
    now), ``VmHWM`` (the peak of VmRSS), ``RssAnon`` (heap, stacks), ``RssFile`` (mapped
    files: shared libraries). Empty when the process is gone."""
    wanted = ("VmRSS", "VmHWM", "RssAnon", "RssFile")
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in wanted:
                out[key] = int(value.split()[0]) * 1024  # the kernel writes "kB"
    except (OSError, ValueError, IndexError):
        return {}
    return out


def check_loopback(url: str) -> None:
    """Refuse a PostgreSQL host that is not this machine: the benchmarks drop its schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return
    host = parsed.host or "localhost"
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"bench: refusing a non-loopback database host {host!r}")


async def reset_postgres(url: str) -> None:
    """Drop and recreate schema ``public``: every run starts from an empty database."""
    engine = make_engine(url, pool_size=1)
    try:
        async with asyncio.timeout(60), engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
