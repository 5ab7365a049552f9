"""``GET /api/v1/openapi.json``: OpenAPI 3.1, its schemas generated from the pydantic
models that validate the requests (``models.py``); only the paths' outline is written here.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web
from pydantic.json_schema import models_json_schema

from handlers.web.api.models import Problem, ReceiptOut, ReportIn, StatusOut
from handlers.web.api.problems import CONTENT_TYPE as PROBLEM_TYPE

VERSION: Final = "1.0.0"
REF: Final = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _problems(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {
            "description": "A problem (RFC 9457), message in Chinese and English.",
            "content": {PROBLEM_TYPE: {"schema": _ref("Problem")}},
        }
        for s in statuses
    }


def _json(description: str, model: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref(model)}},
        **extra,
    }


def document() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [
            (m, "validation" if m is ReportIn else "serialization")
            for m in (ReportIn, ReceiptOut, StatusOut, Problem)
        ],
        ref_template=REF,
    )
    location = {"Location": {"schema": {"type": "string"}, "description": "The status URL."}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hutong 护童之声 API",
            "version": VERSION,
            "description": "Reports about children in trouble, filed for the township"
            " child-protection station responsible; and a ticket's public status.",
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
                    " the same station; otherwise the answer lists candidates to choose"
                    " from. Phone channels need a hotline operator's token; reports without"
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


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document())
