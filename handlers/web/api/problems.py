"""Errors of the REST API as RFC 9457 problem details (``application/problem+json``).

Each kind has a stable ``type`` (a path under ``/api/v1/problems/``), a status, and its
message in Chinese and English; ``title`` and ``detail`` are in the language the client
asked for (Accept-Language; Chinese by default). No problem echoes what was sent: a
validation error names the field and what is wrong, never the value (it may be a story).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from flows.texts import t
from handlers.web.api.models import CandidateOut, FieldError, Problem

CONTENT_TYPE: Final = "application/problem+json"
TYPE_BASE: Final = "/api/v1/problems/"


@dataclass(frozen=True, slots=True)
class Kind:
    slug: str
    status: int
    zh: str
    en: str


KINDS: Final = {
    k.slug: k
    for k in (
        Kind("malformed-json", 400, "请求内容不是有效的 JSON。", "The body is not valid JSON."),
        Kind(
            "invalid-report",
            422,
            "报告内容有误，请按 errors 修改后重新提交。",
            "The report is not valid; correct the fields listed in errors and send it again.",
        ),
        Kind(
            "unsupported-media-type",
            415,
            "请以 application/json 提交。",
            "Send the body as application/json.",
        ),
        Kind("unknown-place-code", 422, "没有这个行政区划代码。", "No division has this code."),
        Kind(
            "place-not-found",
            422,
            "没有找到这个地点，请换一种说法，或提供行政区划代码。",
            "No place matches these words; try other words or give the division code.",
        ),
        Kind(
            "place-ambiguous",
            422,
            "这个地点有多个可能，请从 candidates 中选择一个代码后重新提交。",
            "These words match places of different stations, or only sound like a place;"
            " send again with one of the candidates' codes.",
        ),
        Kind(
            "operator-token-required",
            401,
            "电话来电只能由接线员凭令牌录入。",
            "Reports of phone calls can only be entered by an operator with a token.",
        ),
        Kind(
            "invalid-token",
            401,
            "令牌无效、已撤销或其持有人已离开。",
            "The token is not valid, was revoked, or its holder has left.",
        ),
        Kind(
            "operator-only",
            403,
            "只有热线接线员可以录入电话来电。",
            "Only a hotline operator can enter a phone call.",
        ),
        Kind(
            "bad-idempotency-key",
            400,
            "Idempotency-Key 须为 8 至 100 个可见字符。",
            "Idempotency-Key must be 8 to 100 visible characters.",
        ),
        Kind(
            "too-many-requests",
            429,
            "请求过于频繁，请稍后再试。紧急情况请拨打 110 或 12355。",
            "Too many requests; try again later. In an emergency call 110 or 12355.",
        ),
        Kind("ticket-not-found", 404, "没有这个编号的报告。", "No report has this code."),
        Kind(
            "token-required",
            401,
            "请提供工作人员的令牌（Authorization: Bearer …）。",
            "Send a staff member's token (Authorization: Bearer …).",
        ),
        Kind(
            "staff-only",
            403,
            "只有工作站人员和督办人员可以查看和处理报告。",
            "Only station staff and supervisors can see and work reports.",
        ),
        Kind(
            "forbidden-action",
            403,
            "你无权对这个报告进行此操作。",
            "You may not take this action on this report.",
        ),
        Kind(
            "invalid-action",
            422,
            "操作内容有误，请按 errors 修改后重新提交。",
            "The action is not valid; correct the fields listed in errors and send it again.",
        ),
        Kind(
            "not-now",
            409,
            "报告当前的状态不允许此操作。",
            "The report's current state does not allow this action.",
        ),
        Kind(
            "not-mergeable",
            409,
            "这份报告不能合并：没有它可能重复的工单，或那张工单已不在本站处理中，或这份报告更紧急。",
            "This report cannot be merged: there is no ticket it may duplicate, or that"
            " ticket is no longer open at its station, or this report is more urgent.",
        ),
        Kind(
            "extension-pending",
            409,
            "已有一个延期申请在等待督办决定。",
            "A request for more time is already waiting for a supervisor's decision.",
        ),
        Kind(
            "no-extension-request",
            409,
            "没有等待决定的延期申请。",
            "No request for more time is waiting for a decision.",
        ),
        Kind(
            "invalid-filter",
            400,
            "查询参数有误，请按 errors 修改。",
            "A query parameter is not valid; correct the ones listed in errors.",
        ),
        Kind(
            "bad-cursor",
            400,
            "翻页位置无效，请不带 cursor 重新查询。",
            "The cursor is not one this list handed out; start again without it.",
        ),
        Kind("not-found", 404, "没有这个地址。", "There is nothing at this address."),
        Kind(
            "method-not-allowed",
            405,
            "这个地址不支持此方法。",
            "This address does not allow this method.",
        ),
        Kind("body-too-large", 413, "请求内容过大。", "The body is too large."),
        Kind(
            "internal-error",
            500,
            "服务器出错，报告未保存，请稍后重试。紧急情况请拨打 110。",
            "The server failed and nothing was saved; try again. In an emergency call 110.",
        ),
    )
}


def language(request: web.Request) -> str:
    """ "en" when the client prefers English to Chinese, else "zh"."""
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "zh"


def problem(
    request: web.Request,
    slug: str,
    *,
    errors: list[FieldError] | None = None,
    candidates: list[CandidateOut] | None = None,
    retry_after: int | None = None,
    state: str | None = None,
) -> web.Response:
    """``state``: the ticket's, named in the detail (a 409)."""
    kind = KINDS[slug]
    lang = language(request)
    message = {"zh": kind.zh, "en": kind.en}
    if state is not None:
        message = {
            "zh": f"{kind.zh}当前状态：{t('zh', f'state.{state}')}。",
            "en": f"{kind.en} Current state: {t('en', f'state.{state}')}.",
        }
    body = Problem(
        type=TYPE_BASE + kind.slug,
        title=kind.zh if lang == "zh" else kind.en,
        status=kind.status,
        detail=message[lang],
        message=message,
        errors=errors,
        candidates=candidates,
        retry_after=retry_after,
        state=state,
    )
    headers: dict[str, Any] = {"Content-Language": "zh-CN" if lang == "zh" else "en"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return web.Response(
        status=kind.status,
        body=body.model_dump_json(exclude_none=True),
        content_type=CONTENT_TYPE,
        headers=headers,
    )
