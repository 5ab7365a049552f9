"""``POST /api/v1/reports`` (file a whole report) and ``GET /api/v1/status/{code}`` (a
ticket's state and station, for anyone holding its code)."""

from __future__ import annotations

import logging
import math
import re
from typing import Final

from aiohttp import web
from pydantic import ValidationError

from flows.client_limits import Limit, admit
from flows.submission import (
    PHONE_CHANNELS,
    PlaceUnresolved,
    public_status,
    resolve_place,
    submit_once,
)
from handlers.web.api.auth import CHALLENGE, caller
from handlers.web.api.context import API_KEY, client_address
from handlers.web.api.inputs import CODE, field_errors, json_body
from handlers.web.api.models import CandidateOut, ReceiptOut, ReportIn, StatusOut
from handlers.web.api.problems import language, problem
from handlers.web.keys import CLOCK_KEY, DB_KEY

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY: Final = re.compile(r"^[\x21-\x7e]{8,100}$")


async def _limited(request: web.Request, limit: Limit) -> web.Response | None:
    api = request.app[API_KEY]
    address = client_address(request, api.trusted_proxies)
    async with request.app[DB_KEY].unit() as session:
        wait = await admit(
            session=session, limit=limit, address=address, now=request.app[CLOCK_KEY]()
        )
    if wait is None:
        return None
    return problem(request, "too-many-requests", retry_after=max(1, math.ceil(wait)))


async def submit(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        return problem(request, "bad-idempotency-key")
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    try:
        report_in = ReportIn.model_validate(body)
    except ValidationError as exc:
        return problem(request, "invalid-report", errors=field_errors(exc))
    who = await caller(request)
    if isinstance(who, web.Response):
        return who
    operator = who if who is not None and who.role == "operator" else None
    if report_in.channel in PHONE_CHANNELS and operator is None:
        if who is None:
            challenge = problem(request, "operator-token-required")
            challenge.headers["WWW-Authenticate"] = CHALLENGE
            return challenge
        return problem(request, "operator-only")
    if operator is None:  # a hotline's operators share one address: not limited by it
        limited = await _limited(request, api.report_limit)
        if limited is not None:
            return limited
    try:
        place = resolve_place(api.directory, code=report_in.place.code, text=report_in.place.text)
    except PlaceUnresolved as exc:
        slug = {
            "unknown_code": "unknown-place-code",
            "not_found": "place-not-found",
            "ambiguous": "place-ambiguous",
        }[exc.reason]
        candidates = [CandidateOut(code=c.code, name=c.name, level=c.level) for c in exc.candidates]
        return problem(request, slug, candidates=candidates or None)
    report = report_in.report(place)
    receipt, new = await submit_once(
        db=request.app[DB_KEY],
        directory=api.directory,
        policy=api.policy,
        report=report,
        idempotency_key=key,
        locale=report_in.locale,
        now=request.app[CLOCK_KEY](),
        operator_id=operator.staff_id if operator is not None else None,
    )
    log.info("report filed through the API (%s): ticket %s", report.channel, receipt.ticket_id)
    status_url = str(request.app.router["api-status"].url_for(code=receipt.code))
    out = ReceiptOut(
        code=receipt.code,
        priority=receipt.priority,
        owner=receipt.owner_name,
        triage=receipt.triage,
        sign_minutes=receipt.sign_minutes,
        first_action_minutes=receipt.first_action_minutes,
        status_url=status_url,
        red_flags=list(receipt.red_flags),
    )
    return web.Response(
        status=201 if new else 200,
        body=out.model_dump_json(),
        content_type="application/json",
        headers={"Location": status_url},
    )


async def status(request: web.Request) -> web.Response:
    api = request.app[API_KEY]
    code = request.match_info["code"]
    refused = await _limited(request, api.status_limit)
    if refused is not None:
        return refused
    if not CODE.match(code):
        return problem(request, "ticket-not-found")
    async with request.app[DB_KEY].unit() as session:
        found = await public_status(
            session=session, directory=api.directory, code=code, locale=language(request)
        )
    if found is None:
        return problem(request, "ticket-not-found")
    out = StatusOut(code=found.code, state=found.state, station=found.station)
    return web.Response(body=out.model_dump_json(), content_type="application/json")
