"""The web pages' own words (zh, en; zh-Hant derived from zh, see ``flows.hant``). The questions and the answers' labels are the bot's
(``flows/texts.py``), so a report reads the same by every door."""

from __future__ import annotations

from typing import Final

from flows import hant

WORDS: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "title": "护童之声 · 报告儿童求助",
        "lead": "发现儿童处境困难或受到伤害，可以在这里报告。报告会转给当地的未成年人保护工作站处理。",
        "urgent": "孩子正面临危险？请立即拨打 110（报警）或 120（急救）。孩子本人或需要心理支持，可拨打 12355（青少年服务台，免费）。",
        "place.text": "孩子在哪里？",
        "place.hint": "市、区/县、镇/街道或村/社区，例如“从化区街口街道”",
        "place.pick": "请确认孩子所在的地点，从下面选择：",
        "place.not_found": "没有找到这个地点，请换一种写法（写上区/县和镇/街道）。",
        "place.unknown_code": "这个地点已不在名录中，请重新输入。",
        "concerns": "发生了什么？（可多选）",
        "story": "请简单描述情况",
        "story.hint": "不要写孩子或您自己的全名。最多 {max} 个字。",
        "phone": "您的电话（可不填）",
        "phone.hint": "只给负责的工作站，不会公开。不填即为匿名报告。",
        "callback": "同意工作人员回电了解情况",
        "submit": "提交报告",
        "required": "请回答这一项。",
        "invalid": "请检查这一项。",
        "fix": "有几项需要修改，请看下面的提示。",
        "filed.title": "报告已提交",
        "filed.code": "报告编号",
        "filed.keep": "请记下这个编号，用它查询处理进度。",
        "filed.owner": "负责处理：{owner}",
        "filed.status": "查询进度",
        "filed.again": "再报告一个",
        "filed.alert.title": "⚠️ 您描述的情况可能十分紧急",
        "filed.alert": "如果孩子现在有危险，请立即拨打 110（报警）；有人受伤，请拨打 120（急救）；"
        "孩子有轻生的念头或需要心理支持，可拨打 12355（青少年服务台）。我们已提醒工作站优先处理。",
        "status.title": "查询处理进度",
        "status.code": "报告编号",
        "status.go": "查询",
        "status.none": "没有找到这个编号的报告。",
        "status.result": "编号 {code}：{state}。负责处理：{station}",
        "status.together": "一起处理的进度：{state}。",
        "busy": "提交太频繁了，请 {minutes} 分钟后再试。紧急情况请直接拨打 110 或 12355。",
        "expired": "页面已过期，请重新提交一次（您填写的内容还在）。",
    },
    "en": {
        "title": "Hutong · Report a child in need",
        "lead": "If you see a child in difficulty or being harmed, report it here. The report goes"
        " to the local child-protection station.",
        "urgent": "Is a child in danger now? Call 110 (police) or 120 (ambulance) at once."
        " Children themselves, or anyone needing support, can call 12355 (youth helpline, free).",
        "place.text": "Where is the child?",
        "place.hint": "City, county, township or village, e.g. 从化区街口街道",
        "place.pick": "Please confirm the place: choose it below.",
        "place.not_found": "No place matches; try other words (add the county and township).",
        "place.unknown_code": "This place is no longer in the directory; type it again.",
        "concerns": "What is happening? (choose any)",
        "story": "Describe what is happening",
        "story.hint": "Do not write the child's or your own full name. At most {max} characters.",
        "phone": "Your phone number (optional)",
        "phone.hint": "Only for the station in charge, never published. Leave it empty to stay"
        " anonymous.",
        "callback": "Staff may call me back",
        "submit": "Send the report",
        "required": "Please answer this.",
        "invalid": "Please check this.",
        "fix": "Some answers need a change; see the notes below.",
        "filed.title": "Report sent",
        "filed.code": "Report code",
        "filed.keep": "Keep this code: it lets you follow the report.",
        "filed.owner": "In charge: {owner}",
        "filed.status": "Follow the report",
        "filed.again": "Report another child",
        "filed.alert.title": "⚠️ What you describe may be very urgent",
        "filed.alert": "If the child is in danger now, call 110 (police); if someone is hurt, call"
        " 120 (ambulance); if the child thinks of ending their life or needs support, call 12355"
        " (youth helpline). We have asked the station to deal with this report first.",
        "status.title": "Follow a report",
        "status.code": "Report code",
        "status.go": "Look up",
        "status.none": "No report has this code.",
        "status.result": "Report {code}: {state}. In charge: {station}",
        "status.together": "Where the reports handled together stand: {state}.",
        "busy": "Too many reports from here; try again in {minutes} minutes. In an emergency"
        " call 110 or 12355.",
        "expired": "The page expired; please send it once more (your answers are kept).",
    },
}


WORDS["zh-Hant"] = hant.derive(WORDS["zh"])


def w(locale: str, key: str, **values: object) -> str:
    text = WORDS.get(locale, WORDS["zh"]).get(key) or WORDS["zh"][key]
    return text.format(**values) if values else text
