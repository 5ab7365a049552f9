"""Words of the supervisors' dashboard (zh, en), over the staff pages' frame words. A
ticket's state and priority are the bot's (``flows.texts``), so both say the same."""

from __future__ import annotations

from typing import Final

from handlers.web.pages.staff_words import WORDS as FRAME

_OWN: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "dash.title": "督导看板",
        "dash.nav.overview": "概览",
        "dash.nav.tickets": "工单列表",
        "dash.open": "未办结工单",
        "dash.overdue": "其中超时",
        "dash.by_state": "按状态",
        "dash.by_owner": "按工作站",
        "dash.state": "状态",
        "dash.count": "数量",
        "dash.owner": "工作站 / 分派队列",
        "dash.county": "区县",
        "dash.total": "合计",
        "dash.none": "辖区内没有未办结的工单。",
        "col.waiting": "待签收",
        "col.level1": "签收超时·已报区县 (L1)",
        "col.level2": "签收超时·已报地市 (L2)",
        "col.signed": "已签收·待首次联系",
        "col.working": "处理中",
        "col.resolve_overdue": "办结超时",
        "col.total": "合计",
        "dash.compliance": "每周按时签收与按时办结",
        "dash.compliance.hint": "按收到工单的周（周一至周日，北京时间）统计：按时签收率 = "
        "已签收的工单中在签收时限内签收的比例（从其对应的分派时间算起）；按时办结率 = "
        "已办结的工单中在办结时限（含批准的延期）内首次办结的比例。本周为截至目前。",
        "dash.weeks": "显示周数",
        "dash.show": "显示",
        "chart.sign": "按时签收率",
        "chart.sign.desc": "每周收到的工单中，已签收者在时限内签收的比例。",
        "chart.resolve": "按时办结率",
        "chart.resolve.desc": "每周收到的工单中，已办结者在时限内首次办结的比例。",
        "chart.received": "每周收到的工单",
        "chart.received.desc": "每周收到的工单数量。",
        "chart.axis.share": "比例",
        "chart.axis.count": "工单数",
        "chart.on_time": "{on_time}/{of} 按时",
        "week": "周",
        "week.from": "起始日",
        "week.received": "收到",
        "week.signed": "已签收",
        "week.signed_on_time": "按时签收",
        "week.resolved": "已办结",
        "week.resolved_on_time": "按时办结",
        "none": "—",
        "error.title": "无法显示",
        "error.back": "回到看板",
        "error.weeks": "周数须为 {low} 到 {high} 之间的整数。",
        "error.param": "网址里有本页不认识的参数。",
    },
    "en": {
        "dash.title": "Supervisor dashboard",
        "dash.nav.overview": "Overview",
        "dash.nav.tickets": "Tickets",
        "dash.open": "Open tickets",
        "dash.overdue": "of them overdue",
        "dash.by_state": "By state",
        "dash.by_owner": "By workstation",
        "dash.state": "State",
        "dash.count": "Count",
        "dash.owner": "Workstation / queue",
        "dash.county": "County",
        "dash.total": "Total",
        "dash.none": "No open tickets in your area.",
        "col.waiting": "Waiting for sign-for",
        "col.level1": "Sign-for overdue, county told (L1)",
        "col.level2": "Sign-for overdue, city told (L2)",
        "col.signed": "Signed, first contact owed",
        "col.working": "In progress",
        "col.resolve_overdue": "Past resolve deadline",
        "col.total": "Total",
        "dash.compliance": "Signed for and resolved on time, per week",
        "dash.compliance.hint": "By the week a report was received (Monday to Sunday, Beijing "
        "time). Signed for on time: of the tickets signed for, the share signed within the "
        "sign-for window (from the dispatch it answered). Resolved on time: of the tickets "
        "resolved, the share first resolved by the resolve deadline (with approved "
        "extensions). This week so far.",
        "dash.weeks": "Weeks shown",
        "dash.show": "Show",
        "chart.sign": "Signed for on time",
        "chart.sign.desc": "Of each week's reports signed for, the share signed in time.",
        "chart.resolve": "Resolved on time",
        "chart.resolve.desc": "Of each week's reports resolved, the share first resolved in time.",
        "chart.received": "Reports received per week",
        "chart.received.desc": "The number of reports received each week.",
        "chart.axis.share": "share",
        "chart.axis.count": "tickets",
        "chart.on_time": "{on_time}/{of} on time",
        "week": "Week",
        "week.from": "Starting",
        "week.received": "Received",
        "week.signed": "Signed for",
        "week.signed_on_time": "On time",
        "week.resolved": "Resolved",
        "week.resolved_on_time": "On time",
        "none": "—",
        "error.title": "Cannot show this",
        "error.back": "Back to the dashboard",
        "error.weeks": "Weeks must be a whole number from {low} to {high}.",
        "error.param": "The address has a parameter this page does not know.",
    },
}

WORDS: Final[dict[str, dict[str, str]]] = {
    locale: {**FRAME[locale], **own} for locale, own in _OWN.items()
}
