"""What every API route reads from a request the same way: a JSON body, a ticket's code, and
the errors of a body that does not validate — where and what, never the value sent."""

from __future__ import annotations

import json
import re
from typing import Any, Final

from aiohttp import web
from pydantic import ValidationError

from handlers.web.api.models import FieldError
from handlers.web.api.problems import problem

# A ticket's code as issued (eight letters and digits); a little room either way, so a typo
# is answered "not found" like any unknown code.
CODE: Final = re.compile(r"^[A-Za-z0-9]{6,16}$")


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Where and what, never the value sent (pydantic's ``input``)."""
    return [
        FieldError(field=".".join(str(p) for p in e["loc"]) or "(body)", message=e["msg"])
        for e in exc.errors(include_input=False, include_url=False)
    ]


async def json_body(request: web.Request) -> Any | web.Response:
    """The body parsed as JSON, or the problem to answer (415, 413, 400)."""
    if request.content_type != "application/json":
        return problem(request, "unsupported-media-type")
    try:
        raw = await request.read()
        return json.loads(raw)
    except web.HTTPRequestEntityTooLarge:
        return problem(request, "body-too-large")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return problem(request, "malformed-json")
