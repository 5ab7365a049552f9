"""The REST API under ``/api/v1``: its routes, and a middleware that answers every error
under it — an unknown path, a wrong method, a body too large, a fault — as a problem."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from handlers.web.api.context import API_KEY, Api
from handlers.web.api.openapi import openapi
from handlers.web.api.problems import problem
from handlers.web.api.reports import status, submit
from handlers.web.api.tickets import action_route, detail_route, list_route

log = logging.getLogger(__name__)

PREFIX = "/api/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problems_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return problem(request, "not-found")
    except web.HTTPMethodNotAllowed as exc:
        refused = problem(request, "method-not-allowed")
        refused.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
        return refused
    except web.HTTPRequestEntityTooLarge:
        return problem(request, "body-too-large")
    except web.HTTPException:
        raise
    except Exception as exc:  # the type only: the message could quote what was sent
        log.error("API %s %s failed (%s)", request.method, request.path, type(exc).__name__)
        return problem(request, "internal-error")


def add_api(app: web.Application, api: Api) -> None:
    app[API_KEY] = api
    app.middlewares.append(problems_middleware)
    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_post("/api/v1/reports", submit)
    app.router.add_get("/api/v1/status/{code}", status, name="api-status")
    # No HEAD: a view of a ticket is recorded, and HEAD would record one that showed nothing.
    app.router.add_get("/api/v1/tickets", list_route, allow_head=False)
    app.router.add_get("/api/v1/tickets/{code}", detail_route, allow_head=False)
    app.router.add_post("/api/v1/tickets/{code}/actions", action_route)
