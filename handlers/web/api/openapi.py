"""``GET /api/v1/openapi.json``: OpenAPI 3.1, its schemas generated from the pydantic
models that validate the requests (``models.py``); only the paths' outline is written here.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web
from pydantic.json_schema import models_json_schema

from flows.sla import PRIORITIES
from flows.ticket_queries import LIMIT_DEFAULT, LIMIT_MAX, LISTED_STATES
from handlers.web.api.models import Problem, ReceiptOut, ReportIn, StatusOut
from handlers.web.api.models_tickets import ActionIn, TicketDetailOut, TicketPageOut, TicketStateOut
from handlers.web.api.problems import CONTENT_TYPE as PROBLEM_TYPE

VERSION: Final = "1.0.0"
REF: Final = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _problems(*statuses: int) -> dict[str, Any]:
    answers: dict[str, Any] = {
        str(s): {
            "description": "A problem (RFC 9457), message in Chinese and English.",
            "content": {PROBLEM_TYPE: {"schema": _ref("Problem")}},
        }
        for s in statuses
    }
    if 401 in statuses:
        answers["401"]["headers"] = {
            "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer."}
        }
    return answers


def _json(description: str, model: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref(model)}},
        **extra,
    }


def document() -> dict[str, Any]:
    inputs = (ReportIn, ActionIn)
    outputs = (ReceiptOut, StatusOut, Problem, TicketPageOut, TicketDetailOut, TicketStateOut)
    _, schemas = models_json_schema(
        [(m, "validation") for m in inputs] + [(m, "serialization") for m in outputs],
        ref_template=REF,
    )
    location = {"Location": {"schema": {"type": "string"}, "description": "The status URL."}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hutong 护童之声 API",
            "version": VERSION,
            "description": "Reports about children in trouble, filed for the township"
            " child-protection station responsible; a ticket's public status; and, for"
            " station staff and supervisors with a token, their tickets: listed, viewed"
            " (each view recorded on the ticket) and worked as in the bot.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "paths": {
            "/api/v1/reports": {
                "post": {
                    "operationId": "submitReport",
                    "summary": "File a report",
                    "security": [{}, {"bearer": []}],
                    "description": "Filed as the bot files it: same priority, routing and"
                    " deadlines. A place given as words is taken when every match leads to"
                    " the same station and none was found only by its sound (a homophone,"
                    " pinyin); otherwise the answer lists candidates to choose from. Phone"
                    " channels need a hotline operator's token; reports without"
                    " one are limited per client address.",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "The same key again returns the ticket filed the"
                            " first time (200) instead of filing another.",
                            "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{8,100}$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("ReportIn")}},
                    },
                    "responses": {
                        "201": _json("Filed.", "ReceiptOut", headers=location),
                        "200": _json("Filed before under this Idempotency-Key.", "ReceiptOut"),
                        **_problems(400, 401, 403, 413, 415, 422, 429),
                    },
                }
            },
            "/api/v1/status/{code}": {
                "get": {
                    "operationId": "getStatus",
                    "summary": "A ticket's state and station",
                    "description": "Nothing about the child or the reporter. Limited per"
                    " client address.",
                    "parameters": [
                        {
                            "name": "code",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": _json("The ticket's state.", "StatusOut"),
                        **_problems(404, 429),
                    },
                }
            },
            **_ticket_paths(),
        },
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `hutong api-token create --staff ID`.",
                }
            },
        },
    }


def _query(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }


DIVISION: Final = {"type": "string", "pattern": "^[0-9]{12}$"}
MOMENT: Final = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
}
CODE_PARAMETER: Final = {
    "name": "code",
    "in": "path",
    "required": True,
    "description": "The ticket's code.",
    "schema": {"type": "string"},
}
STAFF_SECURITY: Final[list[dict[str, list[str]]]] = [{"bearer": []}]


def _list_parameters() -> list[dict[str, Any]]:
    many = {"style": "form", "explode": True}
    return [
        _query(
            "state",
            {"type": "array", "items": {"type": "string", "enum": list(LISTED_STATES)}},
            "Any of these states; repeat it or give a comma-separated list.",
            **many,
        ),
        _query(
            "priority",
            {"type": "array", "items": {"type": "string", "enum": list(PRIORITIES)}},
            "Any of these priorities; repeat it or give a comma-separated list.",
            **many,
        ),
        _query(
            "overdue",
            {"type": "boolean"},
            "true: past a deadline (not signed for in time, or past the resolve deadline),"
            " as the bot's /overdue counts; false: not.",
        ),
        _query("station", DIVISION, "Of this township's station."),
        _query("county", DIVISION, "In this county."),
        _query("city", DIVISION, "In this city."),
        _query(
            "created_from",
            MOMENT,
            "Filed at or after (inclusive). A date is its midnight; a time without an"
            " offset is Asia/Shanghai time. Encode + as %2B.",
        ),
        _query("created_to", MOMENT, "Filed before (exclusive); read as created_from."),
        _query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT},
            "Tickets per page.",
        ),
        _query("cursor", {"type": "string"}, "next_cursor of the page before."),
    ]


def _ticket_paths() -> dict[str, Any]:
    """Station staff's and supervisors' routes: their token's scope only."""
    return {
        "/api/v1/tickets": {
            "get": {
                "operationId": "listTickets",
                "summary": "The tickets in the caller's scope",
                "description": "Newest first, in pages. A station sees its own tickets, a"
                " supervisor their county's or city's; a filter narrows that and never"
                " widens it (a station, county or city outside the scope lists nothing)."
                " No story or contact in the list.",
                "security": STAFF_SECURITY,
                "parameters": _list_parameters(),
                "responses": {
                    "200": _json("A page of tickets.", "TicketPageOut"),
                    **_problems(400, 401, 403),
                },
            }
        },
        "/api/v1/tickets/{code}": {
            "get": {
                "operationId": "getTicket",
                "summary": "A ticket in full, with its history",
                "description": "As the bot's details show it. Every view is recorded on"
                " the ticket, and every view of the reporter's phone (shown to the"
                " ticket's supervisors, and to its station once signed for). A ticket"
                " outside the caller's scope is answered as an unknown code.",
                "security": STAFF_SECURITY,
                "parameters": [CODE_PARAMETER],
                "responses": {
                    "200": _json("The ticket.", "TicketDetailOut"),
                    **_problems(401, 403, 404),
                },
            }
        },
        "/api/v1/tickets/{code}/actions": {
            "post": {
                "operationId": "actOnTicket",
                "summary": "Work a ticket as in the bot",
                "description": "Station staff: sign, note, first_action,"
                " request_extension, resolve, return. Supervisors: decide_extension,"
                " reject_return, reassign, unmerge. Either: merge (a possible duplicate into"
                " the older ticket it names). Texts are stripped and must be 2 to 2000"
                " characters. 403: the caller may view the ticket but not take this"
                " action; 404: they may not view it (or there is none); 409: not in the"
                " ticket's current state (named in the answer).",
                "security": STAFF_SECURITY,
                "parameters": [CODE_PARAMETER],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ActionIn")}},
                },
                "responses": {
                    "200": _json("Done: the ticket's state now.", "TicketStateOut"),
                    **_problems(400, 401, 403, 404, 409, 413, 415, 422),
                },
            }
        },
    }


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document())
