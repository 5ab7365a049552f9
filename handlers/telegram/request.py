"""python-telegram-bot's HTTP client on aiohttp instead of httpx.

PTB lets the HTTP layer be swapped (``telegram.request.BaseRequest``); its default, httpx
over anyio, was the largest single cost of a dialogue turn after the database (profiled
under ``bench/intake.py``). This one keeps what ``HTTPXRequest`` promises the rest of PTB:
the same parameters (as one JSON body, or PTB's multipart form when a file is uploaded),
the same timeouts by name, ``TimedOut`` for a timeout and ``NetworkError`` for a
connection that failed, and the answer's status and body left to ``BaseRequest`` to judge
(``RetryAfter`` for a 429, ``BadRequest`` for a 400, …). Answers are parsed with orjson.
"""

from __future__ import annotations

import json
import os
import ssl
from typing import Any, Final
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import certifi
import orjson
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# PTB's defaults (HTTPXRequest), in seconds.
READ_TIMEOUT: Final = 5.0
WRITE_TIMEOUT: Final = 5.0
CONNECT_TIMEOUT: Final = 5.0
POOL_TIMEOUT: Final = 1.0
MEDIA_WRITE_TIMEOUT: Final = 20.0
_JSON: Final = {"Content-Type": "application/json"}


def _ssl_context() -> ssl.SSLContext:
    """Certificates as httpx finds them: SSL_CERT_FILE / SSL_CERT_DIR when set (read by
    OpenSSL itself), else certifi's bundle, so a slim image without the system's CA store
    reaches Telegram as before."""
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def _json_body(parameters: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(parameters)
    except TypeError:  # what orjson refuses (an integer past 64 bits): as PTB would write it
        return json.dumps(parameters).encode()


def _form_value(value: Any) -> str:
    """A parameter as PTB's form field holds it: a string as it is, anything else as JSON
    (``RequestParameter.json_value``, with orjson instead of ``json.dumps``)."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


class AiohttpRequest(BaseRequest):
    """A ``BaseRequest`` on one ``aiohttp.ClientSession`` with a bounded connection pool.

    Timeouts, as PTB names them: ``connect_timeout`` to open a connection, ``pool_timeout``
    to wait for a free one (aiohttp counts both in one ``connect`` budget, so it gets their
    sum), ``read_timeout`` between two reads of the answer (the long poll of getUpdates is
    added by PTB). aiohttp has no separate timeout for writing the request: a write that
    stalls is caught by an overall limit of all four together (``media_write_timeout`` for
    an upload), when none of them is unlimited.
    """

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_proxies",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = READ_TIMEOUT,
        write_timeout: float | None = WRITE_TIMEOUT,
        connect_timeout: float | None = CONNECT_TIMEOUT,
        pool_timeout: float | None = POOL_TIMEOUT,
        media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        # Made in ``initialize``: an aiohttp session belongs to the running event loop.
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=_ssl_context()),
                # Not trust_env: it reads the proxy variables (and ~/.netrc) again, in a
                # thread, for every request; ``_proxy`` reads them once per host.
                trust_env=False,
                # Not raised here: BaseRequest turns the status and body into PTB's errors.
                raise_for_status=False,
                headers={"User-Agent": self.USER_AGENT},  # PTB's, as its httpx client sent
                cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets none
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _proxy(self, url: str) -> str | None:
        """The proxy for ``url`` from HTTP(S)_PROXY / ALL_PROXY and NO_PROXY, as httpx
        honoured them; read once per scheme and host."""
        parts = urlsplit(url)
        where = (parts.scheme, parts.netloc)
        if where not in self._proxies:
            proxies = getproxies()
            bypass = parts.hostname is None or proxy_bypass(parts.netloc)
            self._proxies[where] = (
                None if bypass else proxies.get(parts.scheme) or proxies.get("all")
            )
        return self._proxies[where]

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        try:
            parsed = orjson.loads(payload)
        except orjson.JSONDecodeError:
            # PTB's own reading: it tolerates broken UTF-8, and logs and raises for what is
            # not JSON at all (bot.polling keeps that body out of the logs).
            return BaseRequest.parse_json_payload(payload)
        if not isinstance(parsed, dict):
            return BaseRequest.parse_json_payload(payload)
        return parsed

    def _timeout(
        self,
        *,
        read: Any,
        write: Any,
        connect: Any,
        pool: Any,
        upload: bool,
    ) -> aiohttp.ClientTimeout:
        default = BaseRequest.DEFAULT_NONE
        read = self._read_timeout if read is default else read
        connect = self._connect_timeout if connect is default else connect
        pool = self._pool_timeout if pool is default else pool
        if write is default:
            write = self._media_write_timeout if upload else self._write_timeout
        parts = (read, write, connect, pool)
        return aiohttp.ClientTimeout(
            total=None if None in parts else sum(parts),
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        upload = request_data is not None and request_data.contains_files
        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if request_data is not None and upload:
            fields = {k: _form_value(v) for k, v in request_data.parameters.items()}
            data = _multipart(fields, request_data)
        elif request_data is not None and request_data.parameters:
            # One JSON body, which the Bot API takes for every call but an upload: cheaper
            # than PTB's form, whose every value is JSON and then percent-encoded (a
            # Chinese character became nine bytes).
            data, headers = _json_body(request_data.parameters), _JSON
        timeout = self._timeout(
            read=read_timeout,
            write=write_timeout,
            connect=connect_timeout,
            pool=pool_timeout,
            upload=upload,
        )
        try:
            async with self._session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=timeout,
                proxy=self._proxy(url),
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _multipart(fields: dict[str, str], request_data: RequestData) -> aiohttp.FormData:
    """The form with its files, as httpx builds it from ``data`` and ``files``."""
    form = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        form.add_field(name, value)
    for name, part in request_data.multipart_data.items():
        filename, content, *rest = part
        form.add_field(
            name,
            content,
            filename=filename,
            content_type=rest[0] if rest else "application/octet-stream",
        )
    return form
