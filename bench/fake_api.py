"""The fake Bot API (``tests/fakes/bot_api.py``) in a process of its own, noting when each
``sendMessage`` arrived.

In its own process its request parsing neither waits behind the bench's event loop nor
takes the bench's GIL, so a call's time is when it reached the fake and its CPU is not
counted as the sender's. ``sweep.py`` starts it with :class:`FakeProcess`; on SIGTERM it
writes every ``sendMessage`` as a JSON line (chat, message id, text, error, wall time of
arrival) and exits. Run as ``python bench/fake_api.py OUT``; imported as ``fake_api``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Received:
    chat: int
    message_id: int | None
    text: str
    error: int | None
    at: float  # wall clock (time.time()) when the request reached the fake


class FakeProcess:
    """Start the fake in a subprocess; ``stop`` returns the ``sendMessage`` calls it saw."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.token = ""

    async def start(self, limit: float = 30.0) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, str(self.out), stdout=asyncio.subprocess.PIPE
        )
        assert self.proc.stdout is not None
        async with asyncio.timeout(limit):
            line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake Bot API did not start")
        info = json.loads(line)
        self.url, self.token = str(info["url"]), str(info["token"])

    async def stop(self, limit: float = 60.0) -> list[Received]:
        proc = self.proc
        if proc is None:
            return []
        self.proc = None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(limit):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise RuntimeError("the fake Bot API did not stop") from None
        out: list[Received] = []
        with self.out.open() as lines:
            for line in lines:
                c = json.loads(line)
                out.append(Received(c["chat"], c["message_id"], c["text"], c["error"], c["at"]))
        return out


async def serve(out: Path) -> None:
    # tests/fakes is not a package: imported by path, as bench/bots.py does (by name here,
    # so that mypy, which does not search that folder, need not find it).
    sys.path.insert(0, str(ROOT / "tests" / "fakes"))
    api = importlib.import_module("bot_api").FakeBotAPI()
    url = await api.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(json.dumps({"url": url, "token": api.token}), flush=True)
    await stop.wait()
    await api.stop()
    offset = time.time() - time.monotonic()  # Call.at is monotonic
    with out.open("w") as f:
        for c in api.calls:
            if c.method != "sendMessage" or c.chat_id is None:
                continue
            row = {
                "chat": c.chat_id,
                "message_id": c.message_id,
                "text": c.text or "",
                "error": c.error,
                "at": c.at + offset,
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
