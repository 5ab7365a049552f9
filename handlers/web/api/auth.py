"""Bearer tokens on the REST API (``hutong api-token create``): who is calling, if anyone.

A request without ``Authorization`` is anonymous (the public doors: a web or API report,
a status); one with a header that is not a live token is refused outright, never taken as
anonymous, so a revoked token fails loudly instead of quietly losing its rights."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from flows.api_tokens import Principal, authenticate
from handlers.web.api.problems import problem
from handlers.web.keys import CLOCK_KEY, DB_KEY

SCHEME: Final = "bearer "
CHALLENGE: Final = 'Bearer realm="hutong"'


async def caller(request: web.Request) -> Principal | web.Response | None:
    """The token's holder, None for an anonymous request, or the 401 to answer."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    token = header[len(SCHEME) :].strip() if header.lower().startswith(SCHEME) else ""
    found = None
    if token:
        async with request.app[DB_KEY].unit() as session:
            found = await authenticate(session=session, token=token, now=request.app[CLOCK_KEY]())
    if found is None:
        refused = problem(request, "invalid-token")
        refused.headers["WWW-Authenticate"] = f'{CHALLENGE}, error="invalid_token"'
        return refused
    return found
