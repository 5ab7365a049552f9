"""The REST API for station staff and supervisors, with their bearer token:
``GET /api/v1/tickets`` (their scope's tickets, filtered, in pages), ``GET
/api/v1/tickets/{code}`` (one in full, the view recorded) and ``POST
/api/v1/tickets/{code}/actions`` (sign, note, resolve, return, decide, reassign…).

Only HTTP is done here; what may be seen and done, and by whom, is the bot's own rule in
``flows`` (``ticket_queries``, ``ticket_detail``, ``ticket_actions``). Without a token: 401;
a hotline operator's token: 403. A ticket the caller may not view is answered 404 like an
unknown code (no probing); one they may view but not act on this way, 403. Either refusal is
recorded on the ticket as the bot records it.
"""

from __future__ import annotations

import logging
from typing import Final

from aiohttp import web
from pydantic import ValidationError

from flows.api_tokens import Principal
from flows.ticket_actions import Refused, act
from flows.ticket_detail import view_ticket
from flows.ticket_queries import CursorError, FilterError, list_tickets, parse_listing
from flows.ticket_rights import active_staff
from handlers.web.api.auth import CHALLENGE, caller
from handlers.web.api.context import API_KEY
from handlers.web.api.inputs import CODE, field_errors, json_body
from handlers.web.api.models import FieldError
from handlers.web.api.models_tickets import ActionIn, detail_out, page_out, state_out
from handlers.web.api.problems import language, problem
from handlers.web.keys import CLOCK_KEY, DB_KEY

log = logging.getLogger(__name__)

STAFF_ROLES: Final = ("station", "supervisor")
# Why an action was refused → the problem answered.
REFUSALS: Final = {
    "unseen": "ticket-not-found",
    "forbidden": "forbidden-action",
    "invalid": "invalid-action",
    "not_now": "not-now",
    "extension_pending": "extension-pending",
    "no_extension": "no-extension-request",
    "not_mergeable": "not-mergeable",
}


async def _staff(request: web.Request) -> Principal | web.Response:
    """The calling station member or supervisor, or the 401/403 to answer."""
    who = await caller(request)
    if isinstance(who, web.Response):
        return who
    if who is None:
        challenge = problem(request, "token-required")
        challenge.headers["WWW-Authenticate"] = CHALLENGE
        return challenge
    if who.role not in STAFF_ROLES:
        return problem(request, "staff-only")
    return who


def _gone(request: web.Request) -> web.Response:
    """The token's holder left between the token check and the request's work."""
    refused = problem(request, "invalid-token")
    refused.headers["WWW-Authenticate"] = f'{CHALLENGE}, error="invalid_token"'
    return refused


def _json(body: str) -> web.Response:
    # Case data: no cache between the service and the client may keep a copy.
    return web.Response(
        body=body, content_type="application/json", headers={"Cache-Control": "no-store"}
    )


async def list_route(request: web.Request) -> web.Response:
    who = await _staff(request)
    if isinstance(who, web.Response):
        return who
    try:
        listing = parse_listing(request.query)
    except FilterError as exc:
        return _filter_problem(request, exc)
    api = request.app[API_KEY]
    async with request.app[DB_KEY].unit() as session:
        member = await active_staff(session, who.staff_id)
        if member is None:
            return _gone(request)
        try:
            page = await list_tickets(
                session=session,
                directory=api.directory,
                member=member,
                filter=listing.filter,
                cursor=listing.cursor,
                limit=listing.limit,
                locale=language(request),
            )
        except FilterError as exc:
            return _filter_problem(request, exc)
    return _json(page_out(page).model_dump_json())


def _filter_problem(request: web.Request, exc: FilterError) -> web.Response:
    if isinstance(exc, CursorError):
        return problem(request, "bad-cursor")
    return problem(
        request, "invalid-filter", errors=[FieldError(field=exc.field, message=exc.message)]
    )


async def detail_route(request: web.Request) -> web.Response:
    who = await _staff(request)
    if isinstance(who, web.Response):
        return who
    code = request.match_info["code"]
    if not CODE.match(code):
        return problem(request, "ticket-not-found")
    api = request.app[API_KEY]
    async with request.app[DB_KEY].unit() as session:
        member = await active_staff(session, who.staff_id)
        if member is None:
            return _gone(request)
        # Committed whatever the answer: the view, or the refusal, is on the ticket.
        detail = await view_ticket(
            session=session,
            directory=api.directory,
            member=member,
            code=code,
            now=request.app[CLOCK_KEY](),
            via="api",
            locale=language(request),
        )
    if detail is None:
        return problem(request, "ticket-not-found")
    log.info("API ticket viewed by staff %s (token %s)", who.staff_id, who.token_id)
    return _json(detail_out(detail).model_dump_json())


async def action_route(request: web.Request) -> web.Response:
    who = await _staff(request)
    if isinstance(who, web.Response):
        return who
    code = request.match_info["code"]
    if not CODE.match(code):
        return problem(request, "ticket-not-found")
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    try:
        action = ActionIn.model_validate(body).flow()
    except ValidationError as exc:
        return problem(request, "invalid-action", errors=field_errors(exc))
    api = request.app[API_KEY]
    async with request.app[DB_KEY].unit() as session:
        member = await active_staff(session, who.staff_id)
        if member is None:
            return _gone(request)
        # One transaction, the ticket's row locked, as a press in the bot; a refusal on
        # scope is committed with it.
        result = await act(
            session=session,
            directory=api.directory,
            member=member,
            code=code,
            action=action,
            now=request.app[CLOCK_KEY](),
            via="api",
            locale=language(request),
        )
    if isinstance(result, Refused):
        log.info("API action %s by staff %s refused: %s", action.NAME, who.staff_id, result.why)
        errors = None
        if result.field is not None:
            errors = [FieldError(field=result.field, message=result.message or "not valid")]
        return problem(request, REFUSALS[result.why], errors=errors, state=result.state)
    log.info("API action %s by staff %s done", action.NAME, who.staff_id)
    return _json(state_out(result.ticket).model_dump_json())
