"""Words of the operators' console (zh, en). The questions and the answers' labels are the
bot's (``flows/texts.py``), so a call is asked as the bot asks a report; the frame's words
(sign out, role, language) are the staff pages' own."""

from __future__ import annotations

from typing import Final

from handlers.web.pages.staff_words import WORDS as FRAME

_CONSOLE: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "console.title": "来电登记",
        "console.lead": "边听边填：先问危险和地点，其余能问多少问多少。提交后把编号读给来电人。",
        "channel": "来电热线",
        "channel.phone_12349": "12349 民政服务热线",
        "channel.phone_12355": "12355 青少年服务台",
        "place": "孩子在哪里？",
        "place.hint": "输入地名会出现候选：↓↑ 选择，回车确认。也可以只写区县和镇街。",
        "place.pick": "请向来电人确认地点，再从下面选择：",
        "place.not_found": "没有找到这个地点，请换一种写法（写上区/县和镇/街道）。",
        "place.unknown_code": "这个地点已不在名录中，请重新输入。",
        "place.outside": "不在您负责的区域",
        "concerns": "发生了什么？（可多选）",
        "story": "情况描述",
        "story.hint": "来电人说的经过。不要记孩子或来电人的全名。最多 {max} 个字。",
        "phone": "来电人电话（可不填）",
        "phone.hint": "只给负责的工作站。来电人不愿留下时不填。",
        "callback": "来电人同意工作站回电",
        "submit": "提交，取得编号",
        "submit.keys": "快捷键：Alt+S 提交（在描述框里按 Ctrl+Enter）",
        "priority": "优先级",
        "priority.none": "尚未判定（先问是否危险）",
        "p0.advice": "紧急：请告诉来电人，孩子有危险时立即拨打 110（报警）或 120（急救）。",
        "filed.red_flags": "⚠️ 描述中有警示词（{flags}）：请告诉来电人，孩子有危险立即拨打 110，"
        "有人受伤拨打 120，孩子有轻生念头可拨打 12355。",
        "required": "请回答这一项。",
        "invalid": "请检查这一项。",
        "fix": "有几项需要修改，请看下面的提示。已填的内容都还在。",
        "expired": "页面已过期，请再提交一次（已填的内容都还在）。",
        "damaged": "表单不完整，请再提交一次（已填的内容都还在）。",
        "filed.title": "来电已登记",
        "filed.read": "请把编号读给来电人：",
        "filed.owner": "负责处理：{owner}",
        "filed.place": "地点：{place}",
        "filed.sign": "签收时限：{window}（{due} 前）",
        "filed.first_action": "首次联系或走访时限：{window}（{due} 前）",
        "filed.triage": "地点没有细到镇街，先由 {owner} 分派给工作站。",
        "filed.outside": "这个地点不在您负责的 {scope} 内。来电照常登记，已转给当地负责处理。",
        "filed.next": "下一个来电",
        "filed.none": "没有找到您登记的这个编号。",
        "calls.title": "我最近登记的来电",
        "calls.none": "还没有登记过来电。",
        "calls.code": "编号",
        "calls.when": "时间",
        "calls.channel": "热线",
        "calls.priority": "优先级",
        "calls.state": "状态",
        "calls.owner": "负责处理",
        "json.not_signed_in": "请先登录。",
        "json.not_operator": "只供热线接线员使用。",
        "json.too_long": "输入太长。",
        "json.bad_answer": "回答不在可选范围内。",
    },
    "en": {
        "console.title": "Log a call",
        "console.lead": "Fill in while you listen: danger and place first, the rest as far as "
        "the caller can tell. Read the code back to the caller when it is filed.",
        "channel": "Hotline",
        "channel.phone_12349": "12349 civil affairs hotline",
        "channel.phone_12355": "12355 youth helpline",
        "place": "Where is the child?",
        "place.hint": "Places are suggested as you type: ↓↑ to choose, Enter to take one. The "
        "county and township are enough.",
        "place.pick": "Check the place with the caller, then choose it below:",
        "place.not_found": "No place matches; try other words (add the county and township).",
        "place.unknown_code": "This place is no longer in the directory; type it again.",
        "place.outside": "outside your area",
        "concerns": "What is happening? (choose any)",
        "story": "What the caller says",
        "story.hint": "What happened, in the caller's words. No full names. At most {max} "
        "characters.",
        "phone": "Caller's phone (optional)",
        "phone.hint": "Only for the station in charge. Leave it empty if the caller prefers.",
        "callback": "The caller agrees to be called back",
        "submit": "File and get the code",
        "submit.keys": "Keys: Alt+S files the call (Ctrl+Enter in the story box)",
        "priority": "Priority",
        "priority.none": "not known yet (ask about danger first)",
        "p0.advice": "Urgent: tell the caller to call 110 (police) or 120 (ambulance) at once "
        "if the child is in danger.",
        "filed.red_flags": "⚠️ Alarm words in the story ({flags}): tell the caller to call 110 "
        "if the child is in danger, 120 if someone is hurt, 12355 if the child thinks of ending "
        "their life.",
        "required": "Please answer this.",
        "invalid": "Please check this.",
        "fix": "Some answers need a change; see the notes below. Everything typed is kept.",
        "expired": "The page expired; please send it once more (everything typed is kept).",
        "damaged": "The form was incomplete; please send it once more (everything typed is kept).",
        "filed.title": "Call filed",
        "filed.read": "Read the code to the caller:",
        "filed.owner": "In charge: {owner}",
        "filed.place": "Place: {place}",
        "filed.sign": "To be signed for within {window} (by {due})",
        "filed.first_action": "First call or visit within {window} (by {due})",
        "filed.triage": "The place names no township: {owner} routes it to a station first.",
        "filed.outside": "This place is outside your area, {scope}. The call is filed all the "
        "same and sent to the station there.",
        "filed.next": "Next call",
        "filed.none": "No call of yours has this code.",
        "calls.title": "My recent calls",
        "calls.none": "No calls logged yet.",
        "calls.code": "Code",
        "calls.when": "When",
        "calls.channel": "Line",
        "calls.priority": "Priority",
        "calls.state": "State",
        "calls.owner": "In charge",
        "json.not_signed_in": "Please sign in.",
        "json.not_operator": "For hotline operators only.",
        "json.too_long": "Too long.",
        "json.bad_answer": "Not one of the answers offered.",
    },
}

WORDS: Final[dict[str, dict[str, str]]] = {
    locale: {**FRAME[locale], **_CONSOLE[locale]} for locale in ("zh", "en")
}
