"""Message catalogues: Simplified Chinese first; Traditional Chinese and English by choice.

The Traditional catalogue is derived from the Simplified one (``flows.hant``), so a wording
change is written once. Texts are Telegram-style HTML. ``t()`` escapes every value it formats in, so user input can
never inject markup; catalogue strings themselves are trusted.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any, Final

from babel import Locale
from babel.units import format_unit

from flows import hant

# "zh" is Simplified Chinese (the default), "zh-Hant" Traditional, "en" English.
LOCALES: Final = ("zh", "zh-Hant", "en")
DEFAULT_LOCALE: Final = "zh"
# Each locale's CLDR locale, for Babel's plural rules and unit words: Traditional as written
# in Hong Kong and Macao, like the OpenCC conversion (s2hk) the texts use.
BABEL_LOCALES: Final = {"zh": "zh_Hans_CN", "zh-Hant": "zh_Hant_HK", "en": "en"}
# Telegram's language_code values (IETF tags, compared in lower case) that mean Traditional.
_HANT_CODES: Final = frozenset({"zh-hant", "zh-hk", "zh-tw", "zh-mo"})

ZH: dict[str, str] = {
    # menu and general
    "menu": "您好，这里是<b>护童之声</b>求助线。发现儿童处境困难或受到伤害，可以在这里报告，"
    "我们会转给当地的未成年人保护工作站处理。\n\n请选择：",
    "btn.report": "📝 报告儿童求助",
    "btn.status": "🔎 查询进度",
    "btn.language": "🌐 语言 Language",
    "menu.hint": "请用下面的按钮选择。",
    "language.prompt": "请选择语言 / Choose a language:",
    "language.set": "已切换为简体中文。",
    "language.followed": "已改用繁体中文显示。如需简体中文或英文，请发送 /language。",
    "unknown_command": "无法识别命令 {command}。输入 /help 查看可用命令。",
    "resume.prompt": "您有一份尚未提交的报告。要继续填写，还是重新开始？",
    "btn.resume": "继续填写",
    "btn.restart": "重新开始",
    "cancelled": "已取消，报告没有提交，您填写的内容已删除。",
    "nothing_to_cancel": "当前没有正在填写的报告。",
    "stale": "这个按钮已经过时了。请用下面最新的消息继续：",
    "already": "已经收到了，不用再点。",
    "use_buttons": "请点击上方消息中的按钮作答。",
    "unsupported": "这一步收不了这类消息（{kind}），请按下面的提示回答。",
    "kind.sticker": "贴纸",
    "kind.voice": "语音",
    "kind.photo": "图片",
    "kind.video": "视频",
    "kind.document": "文件",
    "kind.contact": "联系人",
    "kind.location": "位置",
    "kind.other": "其他",
    "btn.back": "« 返回",
    "flood.notice": "您发送得太快了，请停一分钟再继续。在此期间发来的消息不会被处理，需要的话请稍后重新发送；"
    "已经填写的内容不会丢失，正在报告孩子有危险的步骤仍会立即处理。\n"
    "如果孩子正面临危险，请立即拨打 110（报警）、120（急救）或 12355（青少年服务台）。",
    "flood.quota": "这个对话在一小时内已经提交了 {n} 份报告，这一份暂时没有提交。您填写的内容已保留，"
    "请稍后再点“确认提交”。\n如果孩子正面临危险，请立即拨打 110、120 或 12355。",
    "update_failed": "抱歉，您刚才发送的内容我们没能处理成功。请再发送一次；如果仍然不行，请发送 /start 重新开始。"
    "\n如果孩子正面临危险，请立即拨打 110（报警）、120（急救）或 12355（青少年服务台）。",
    # danger
    "danger.prompt": "<b>孩子现在有危险吗？</b>",
    "btn.danger.yes": "有危险",
    "btn.danger.no": "没有",
    "btn.danger.unsure": "不确定",
    "danger.call": "⚠️ <b>请立即拨打 110（报警）或 120（急救）！</b>\n"
    "孩子本人或需要心理支持，也可以拨打 12355（青少年服务台，免费）。如果安全，请留在孩子身边。\n\n"
    "请告诉我们孩子在哪里：选好地点后，我们会<b>立刻</b>把报告作为最紧急事项转给当地工作站。"
    "（现在还没有发送。）",
    "danger.call_now": "⚠️ <b>请立即拨打 110（报警）或 120（急救）！</b>也可以拨打 12355（青少年服务台）。\n"
    "我们现在就把您的报告作为最紧急事项转给当地工作站。",
    "danger.call_on_submit": "⚠️ <b>情况紧急：请立即拨打 110（报警）或 120（急救）</b>，"
    "也可以拨打 12355（青少年服务台）。\n请继续填写；您确认提交后，我们会立刻把报告作为最紧急事项"
    "转给当地工作站。（现在还没有发送。）",
    # reporter
    "reporter.prompt": "<b>您是孩子的什么人？</b>",
    "role.child": "我就是这个孩子",
    "role.guardian": "父母或监护人",
    "role.relative": "亲属",
    "role.neighbour": "邻居或朋友",
    "role.teacher": "老师或学校",
    "role.medical": "医生或护士",
    "role.committee": "村（居）委会或社工",
    "role.other": "其他",
    # place
    "place.prompt": "<b>孩子在哪里？</b>\n请选择所在的市，或直接输入地址"
    "（例如“从化区街口街道”或村、社区名称）。",
    "place.county": "<b>{city}</b>：请选择区/县。",
    "place.township": "<b>{county}</b>：请选择镇/街道（第 {page}/{pages} 页）。",
    "place.unknown_county": "不清楚是哪个区/县",
    "place.unknown_township": "不清楚是哪个镇/街道",
    "place.confirm_one": "是这里吗？\n<b>{place}</b>",
    "place.confirm_many": "找到几个可能的地点，请选择：",
    "place.none_of_these": "都不是，按列表选择",
    "place.yes": "✅ 是的",
    "place.not_found": "没有找到“{text}”。请换一种写法，或按市、区、镇逐级选择：",
    "place.too_long": "地址太长了，请只输入镇/街道或村/社区的名称（不超过 {max} 个字）。",
    "btn.prev": "◀ 上一页",
    "btn.next": "下一页 ▶",
    # child
    "age.prompt": "<b>孩子大约几岁？</b>",
    "age.0-2": "0–2 岁",
    "age.3-5": "3–5 岁",
    "age.6-11": "6–11 岁",
    "age.12-14": "12–14 岁",
    "age.15-17": "15–17 岁",
    "age.unknown": "不清楚",
    "sex.prompt": "<b>孩子的性别？</b>",
    "sex.f": "女孩",
    "sex.m": "男孩",
    "sex.unknown": "不清楚",
    # concerns
    "concerns.prompt": "<b>孩子遇到了什么情况？</b>可以多选，选好后点“完成”。",
    "concerns.done": "完成 ✔",
    "concerns.need_one": "请至少选择一项。",
    "concern.no_carer": "无人照料 / 独自在家",
    "concern.physical": "身体伤害或虐待",
    "concern.sexual": "性侵害",
    "concern.bullying": "欺凌",
    "concern.basic_needs": "吃不饱 / 基本生活困难",
    "concern.illness": "生病或得不到医治",
    "concern.disability": "残疾或需要康复",
    "concern.out_of_school": "失学辍学",
    "concern.distress": "情绪困扰或有自伤风险",
    "concern.missing": "走失或流浪",
    "concern.labour": "被强迫劳动",
    "concern.other": "其他",
    # story
    "story.prompt": "<b>请简单描述发生了什么。</b>\n时间、地点、孩子的状况、您看到或听到的情况"
    "（不超过 {max} 字）。也可以发送照片、语音或视频。",
    "story.too_long": "内容太长了（{length} 字），请精简到 {max} 字以内后重新发送。",
    "story.too_short": "请用文字多描述一些情况。",
    "story.photo_saved": "照片已收到（{count}/{max}）。请再用文字描述发生了什么。",
    "story.photo_limit": "最多可以附 {max} 个照片或文件，这个没有保存。请用文字描述发生了什么。",
    "story.file_saved": "{kind}已收到（{count}/{max}）。请再用文字简单写几句发生了什么。",
    # contact
    "contact.prompt": "<b>是否留下联系方式？</b>\n工作站可能需要向您了解情况。"
    "联系方式只提供给负责处理的工作人员。您也可以匿名报告。",
    "btn.contact.phone": "📞 留下电话",
    "btn.contact.anon": "🔒 匿名报告",
    "contact.phone_prompt": "请点击下方按钮分享您的手机号，或直接输入电话号码。",
    "btn.share_phone": "📱 分享我的手机号",
    "contact.bad_phone": "这个号码看起来不对，请输入 7–15 位数字的电话号码，或选择匿名。",
    "contact.not_own": "请分享您自己的号码，或直接输入。",
    "consent.prompt": "工作站可以打电话给您了解情况吗？",
    "btn.yes": "可以",
    "btn.no": "不可以",
    "contact.saved": "已记录电话：{phone}",
    "contact.or_anon": "不想留下电话？也可以匿名报告。",
    "contact.anon_ok": "好的，匿名报告，不留电话。",
    # summary
    "summary.title": "<b>请核对您的报告：</b>",
    "summary.danger": "是否危险",
    "summary.reporter": "报告人",
    "summary.place": "地点",
    "summary.age": "年龄",
    "summary.sex": "性别",
    "summary.concerns": "情况",
    "summary.story": "经过",
    "summary.photos": "照片",
    "summary.contact": "联系方式",
    "summary.anonymous": "匿名",
    "summary.callback_yes": "（可以打电话给您）",
    "summary.callback_no": "（请不要打电话）",
    "btn.confirm": "✅ 确认提交",
    "btn.change": "✏️ 修改",
    "btn.cancel": "✖ 取消",
    "edit.prompt": "要修改哪一项？",
    # submitted
    "submitted": "✅ <b>报告已提交。</b>\n编号：<code>{code}</code>\n转交：{station}\n"
    "工作站会在 <b>{window}</b> 内受理，并在 {action_window} 内联系您或上门了解情况。"
    "\n请保存编号，可用 /status {code} 查询进度。",
    "submitted.triage": "✅ <b>报告已提交。</b>\n编号：<code>{code}</code>\n转交：{station}"
    "（由他们安排当地的镇/街道工作站）\n预计在 <b>{window}</b> 内受理。"
    "\n请保存编号，可用 /status {code} 查询进度。",
    "queue.county": "{name}未成年人救助保护中心",
    "queue.city": "{name}未成年人救助保护中心",
    "already_submitted": "这份报告已经提交，编号 <code>{code}</code>。",
    "submitted.urgent": "🚨 <b>报告已作为最紧急事项转交。</b>\n编号：<code>{code}</code>\n转交：{station}\n"
    "工作站应在 <b>{window}</b> 内受理。\n已经发送：孩子现在有危险、地点、您是孩子的什么人。",
    "submitted.urgent.triage": "🚨 <b>报告已作为最紧急事项转交。</b>\n编号：<code>{code}</code>\n"
    "转交：{station}（由他们立即安排当地的镇/街道工作站）\n应在 <b>{window}</b> 内受理。\n"
    "已经发送：孩子现在有危险、地点、您是孩子的什么人。",
    "submitted.urgent.more": "<b>还没有发送</b>：孩子的年龄、性别、遇到的情况、经过和您的联系方式。"
    "请继续回答下面的问题，每个回答都会立即补充到这份报告；不想回答可以点“不再补充”。",
    "urgent.added": "✅ 已补充到报告 <code>{code}</code>：{what}。",
    "urgent.done": "谢谢，您补充的信息都已转给工作站。可用 /status {code} 查询进度。\n"
    "如果情况有变化，请立即拨打 110、120 或 12355。",
    "urgent.stopped": "好的，不再补充。报告 <code>{code}</code> 已经转交工作站，正在处理；"
    "您已补充的信息也都已发送。可用 /status {code} 查询进度。",
    "urgent.resume": "您的报告 <code>{code}</code> 已经转交工作站。要继续补充信息吗？",
    "btn.add_more": "继续补充",
    "btn.stop_adding": "不再补充",
    "field.pending": "（待补充）",
    # status
    "status.prompt": "请输入报告编号（例如 <code>ABCD2345</code>）。",
    "status.none": "这个对话中没有编号为 {code} 的报告。只能查询在本对话中提交的报告。",
    "status.list_empty": "您在这个对话中还没有提交过报告。",
    "status.list": "<b>您提交的报告：</b>",
    "status.line": "<code>{code}</code> · {created} · {state}",
    "status.detail": "<b>报告 <code>{code}</code></b>\n提交时间：{created}\n负责处理：{station}\n"
    "进度：{state}",
    "state.submitted": "已提交",
    "state.dispatched": "已转交工作站，等待签收",
    "state.triage": "等待区/市分派",
    "state.acknowledged": "工作站已签收",
    "state.in_progress": "正在处理",
    "state.resolved": "已办结",
    "state.closed": "已结案",
    "state.returned": "退回重新分派",
    "state.reopened": "已重新处理",
    "state.merged": "已合并",
    "state.invalid": "无效",
    # staff: enrolment
    "join.usage": "用法：/join 邀请码",
    "join.ok.station": "✅ 已加入 <b>{scope}</b>。新的转介会发到这里；/mytickets 查看本站待办。",
    "join.ok.supervisor": "✅ 已以督导身份加入 <b>{scope}</b>；/mytickets 查看辖区待办。",
    "join.ok.operator": "✅ 已以热线接线员身份加入 <b>{scope}</b>。发送 /console 获取网页接线台的"
    "登录链接，在那里登记来电（热线系统也可用管理员开通的 API 令牌）；本机器人不会向您发送转介或"
    "督导提醒。",
    "leave.ok.operator": "已退出 <b>{scope}</b>，您的 API 令牌和网页登录已停用。",
    "operator.no_tickets": "热线接线员不在机器人里处理工单：发送 /console 打开网页接线台，登记来电"
    "并查看您登记的报告。",
    # web pages: the one-time sign-in link
    "signin.link": "🔐 {page}登录链接：\n{url}\n\n{minutes} 分钟内有效，只能用一次，请勿转发。"
    "打开后点击“登录”。",
    "signin.page.dashboard": "督导台",
    "signin.page.console": "接线台",
    "signin.private": "登录链接只在私聊中发送：请在与我的私聊中发送 /{command}。",
    "signin.not_set": "网页端尚未开通（未设置 HUTONG_PUBLIC_URL），请联系管理员。",
    "signin.dashboard_only": "网页督导台只供督导使用。站点工作人员请在这里用 /mytickets 处理工单。",
    "signin.console_only": "网页接线台只供热线接线员使用。",
    "join.ok.group": "✅ 本群已绑定 <b>{scope}</b>，新的转介也会发到本群。",
    "join.unknown": "邀请码无效。请向管理员索取新的邀请码。",
    "join.used": "这个邀请码已经用过了，每个邀请码只能用一次。请向管理员索取新的邀请码。",
    "join.expired": "这个邀请码已过期。请向管理员索取新的邀请码。",
    "join.already": "您已经登记在 <b>{scope}</b>。如需更换，请先发送 /leave。",
    "leave.ok": "已退出 <b>{scope}</b>，不会再收到转介。",
    "staff.only": "此功能仅限已登记的工作人员使用。",
    # staff: referrals and work
    "priority.P0": "🔴 P0 紧急",
    "priority.P1": "🟠 P1 较急",
    "priority.P2": "🟢 P2 一般",
    "referral": "🆕 <b>新转介 <code>{code}</code></b> · {priority}\n"
    "地点：{place}\n情况：{concerns}\n儿童：{age}，{sex}\n报告人：{reporter}\n"
    "经过：{story}\n\n签收时限：{sign_due}\n首次联系时限：{action_due}\n办结时限：{resolve_due}",
    "referral.triage": "📥 <b>待分派 <code>{code}</code></b> · {priority}\n"
    "地点：{place}\n情况：{concerns}\n儿童：{age}，{sex}\n报告人：{reporter}\n"
    "经过：{story}\n\n请分派到镇/街道工作站。分派时限：{sign_due}",
    "referral.signed": "✅ 已由 {name} 于 {at} 签收",
    "btn.sign": "✍️ 签收",
    "btn.return": "↩️ 退单",
    "btn.details": "📄 详情",
    "sign.ok": "您已签收 <code>{code}</code>。请在 {due} 前联系报告人或上门（首次行动）。",
    "sign.taken": "这个工单已被 {name} 签收。",
    "sign.not_open": "这个工单当前为“{state}”，不能签收。",
    "refused": "您无权处理这个工单。",
    "reporter.signed": "您提交的报告 <code>{code}</code> 已由 {station} 受理，工作人员会尽快处理。",
    "mytickets.none": "目前没有未办结的工单。",
    "mytickets.title": "<b>未办结工单</b>（按下一时限排序）：",
    "mytickets.line": "{priority} <code>{code}</code> · {state} · 时限 {due}",
    "ticket.usage": "用法：/ticket 编号",
    "ticket.none": "没有找到编号为 {code} 的工单，或您无权查看。",
    "ticket.detail": "<b>工单 <code>{code}</code></b> · {priority} · {state}\n"
    "负责：{owner}\n地点：{place}\n情况：{concerns}\n儿童：{age}，{sex}\n"
    "报告人：{reporter}\n经过：{story}\n\n签收时限：{sign_due}\n首次联系时限：{action_due}\n"
    "办结时限：{resolve_due}",
    "ticket.contact": "报告人电话：{phone}（{consent}）",
    "ticket.contact_hidden": "报告人联系方式：签收后可见",
    "ticket.anonymous": "报告人：匿名",
    "ticket.history": "<b>经过记录</b>",
    "ticket.event": "{at} · {kind}{note}",
    "consent.yes": "同意回访",
    "consent.no": "不同意回访",
    "event.submitted": "提交",
    "event.dispatched": "转交工作站",
    "event.triage": "进入分派队列",
    "event.signed": "签收",
    "event.refused": "越权操作被拒绝",
    "event.contact_viewed": "查看报告人联系方式",
    "event.viewed": "查看报告（接口或网页）",
    "event.not_notified": "转介无人接收",
    "event.delivery_failed": "消息发送失败",
    "event.addition": "报告人补充信息",
    "event.many_reports": "同一对话一小时内已多次报告",
    "addition.title": "📎 <b>补充信息 <code>{code}</code></b> · {priority}",
    "addition.phone": "报告人留下了电话（签收后可在详情中查看）",
    "addition.anonymous": "报告人选择匿名",
    "addition.photos": "报告人补充了照片（见详情）",
    # staff: working a ticket
    "btn.note": "📝 记录进展",
    "btn.first": "📞 首次联系/上门",
    "btn.extend": "⏳ 申请延期",
    "btn.resolve": "✅ 办结",
    "btn.redispatch": "📤 分派到镇/街道",
    "btn.reject_return": "↩️ 不同意退单",
    "btn.approve": "同意延期",
    "btn.deny": "不同意",
    "btn.call": "电话联系",
    "btn.visit": "上门走访",
    "work.menu": "工单 <code>{code}</code> · {state}",
    "work.ask_note": "请输入工单 <code>{code}</code> 的进展记录（不超过 {max} 字）。发送 /cancel 放弃。",
    "work.note_saved": "已记录进展。",
    "work.ask_first": "首次行动是电话联系还是上门走访？",
    "work.first_saved": "已记录首次行动。请在 {due} 前办结。",
    "work.first_done": "首次行动已经记录过了。",
    "work.ask_ext_days": "延期多少天？",
    "work.ask_ext_reason": "请说明延期 {days} 天的理由（不超过 {max} 字）。发送 /cancel 放弃。",
    "work.ext_sent": "延期申请已提交，等待区督导审批。",
    "work.ext_pending": "已有一份延期申请在等待审批。",
    "work.ask_outcome": "请选择处理结果：",
    "work.ask_resolution": "请输入办结说明（不超过 {max} 字）。发送 /cancel 放弃。",
    "work.resolved": "工单 <code>{code}</code> 已办结。",
    "work.ask_return": "退单理由？",
    "work.ask_return_text": "请说明退单理由（不超过 {max} 字）。发送 /cancel 放弃。",
    "work.returned": "已退单，等待区县重新分派。",
    "work.too_long": "内容太长了（{length} 字），请精简到 {max} 字以内。",
    "work.too_short": "请输入文字说明。",
    "work.cancelled": "已放弃。",
    "work.not_now": "这个工单当前为“{state}”，不能进行这项操作。",
    "work.pick_township": "把工单 <code>{code}</code> 分派到哪个镇/街道？（第 {page}/{pages} 页）",
    "work.redispatched": "已分派到 {station}。",
    "work.return_rejected": "已驳回退单，工单退回 {station}。",
    "work.decided": "这个延期申请已经处理过了。",
    "work.ext_approved": "已同意延期 {days} 天，新的办结时限：{due}。",
    "work.ext_denied": "已不同意延期。",
    "reason.area": "不在本辖区",
    "reason.duplicate": "重复报告",
    "reason.other": "其他原因",
    "outcome.helped_on_site": "已现场帮助儿童",
    "outcome.police": "已转公安",
    "outcome.medical": "已转医疗救治",
    "outcome.education": "已转学校或教育部门",
    "outcome.financial": "已申请救助补贴",
    "outcome.placed": "已安置照料",
    "outcome.not_located": "未能找到",
    "outcome.not_cp": "不属于儿童保护事项",
    "outcome.other": "其他",
    # staff: what others are told
    "notify.extension": "⏳ <b>延期申请 <code>{code}</code></b>\n{station} 申请延期 {days} 天。\n理由：{reason}\n当前办结时限：{due}",
    "notify.returned": "↩️ <b>退单 <code>{code}</code></b>\n{station} 退回此工单。\n理由：{reason}\n请重新分派，或驳回退单。",
    "notify.ext_approved": "⏳ 工单 <code>{code}</code> 的延期申请已获同意，新的办结时限：{due}。",
    "notify.ext_denied": "⏳ 工单 <code>{code}</code> 的延期申请未获同意，办结时限仍为 {due}。",
    "notify.return_rejected": "↩️ 工单 <code>{code}</code> 的退单被驳回，请继续处理。",
    "notify.reopened": "⚠️ <b>工单 <code>{code}</code> 被重新打开</b>：报告人对处理结果不满意。",
    # the reporter
    "reporter.first_action": "您提交的报告 <code>{code}</code>：工作人员已经{how}。",
    "reporter.how.call": "电话联系",
    "reporter.how.visit": "上门走访",
    "reporter.resolved": "您提交的报告 <code>{code}</code>，{station} 已处理完毕。\n处理结果：{outcome}\n\n您对处理结果满意吗？",
    "btn.fb.sat": "满意",
    "btn.fb.ok": "基本满意",
    "btn.fb.unsat": "不满意",
    "feedback.thanks": "谢谢您的反馈。",
    "feedback.sorry": "很抱歉处理结果没有让您满意。我们已重新受理这个报告，并告知了区县负责人。"
    "如愿意，可以直接回复说明原因（可不填，不超过 {max} 字）。",
    "feedback.sorry_reopened": "很抱歉处理结果没有让您满意。我们已重新受理这个报告，并告知了区县负责人。",
    "feedback.comment_saved": "已收到您的说明，谢谢。",
    "feedback.already": "您已经反馈过了，谢谢。",
    "event.note": "进展记录",
    "event.first_action": "首次行动",
    "event.extension_requested": "申请延期",
    "event.extension_approved": "同意延期",
    "event.extension_denied": "不同意延期",
    "event.resolved": "办结",
    "event.returned": "退单",
    "event.return_rejected": "驳回退单",
    "event.redispatched": "重新分派",
    "event.feedback": "报告人反馈",
    "event.feedback_comment": "报告人说明",
    "event.reopened": "重新打开",
    "event.closed": "结案",
    "work.private_only": "请在与机器人的私聊中进行这项操作。",
    "ticket.contact_private": "报告人联系方式：请在与机器人的私聊中查看",
    # deadlines and escalation
    "sla.reminder": "⏰ <b>请尽快签收</b> <code>{code}</code> · {priority}\n签收时限：{due}",
    "sla.breach": "🚨 <b>超时未签收</b> <code>{code}</code> · {priority}\n负责：{owner}\n签收时限：{due}（已超时）\n地点：{place}",
    "sla.city": "🚨🚨 <b>超时未签收，已上报市级</b> <code>{code}</code> · {priority}\n负责：{owner}\n签收时限：{due}\n地点：{place}",
    "sla.repeat": "🚨 <b>仍未签收（第 {n} 次提醒）</b> <code>{code}</code> · {priority}\n负责：{owner}\n签收时限：{due}",
    "sla.reverted": "⚠️ 工单 <code>{code}</code> 签收后未在 {due} 前联系或上门，已退回待签收，请尽快处理。",
    "sla.resolve_overdue": "⏰ <b>催办</b> <code>{code}</code> · {priority}\n负责：{owner}\n办结时限：{due}（已超时）",
    "sla.not_notified": "转介无人接收，立即上报",
    "digest.title": "📋 <b>每日汇总</b>：辖区内仍超时的工单 {count} 件",
    "digest.line": "{priority} <code>{code}</code> · {state} · {owner} · 超时自 {since}",
    "digest.more": "……另有 {n} 件，请用 /overdue 查看。",
    "event.reminder": "提醒签收",
    "event.undelivered": "通知无人接收",
    "event.escalated": "超时上报",
    "event.escalation_repeat": "再次提醒",
    "event.reverted": "签收后未行动，退回待签收",
    "event.resolve_overdue": "超时催办",
    # supervisor commands
    "overdue.none": "辖区内目前没有超时工单。",
    "overdue.title": "<b>超时工单</b>（按超时时间排序）",
    "overdue.level": "<b>{level}</b>",
    "overdue.level1": "区县级（未签收）",
    "overdue.level2": "市级（未签收）",
    "overdue.resolve": "超过办结时限",
    "overdue.line": "{priority} <code>{code}</code> · {owner} · 自 {since}",
    "open.none": "辖区内目前没有未办结工单。",
    "open.title": "<b>未办结工单</b>（{count} 件，按提交时间排序）",
    "open.line": "{priority} <code>{code}</code> · {state} · {owner} · {created}",
    "stats.usage": "用法：/stats [today|week|month]",
    "stats.title": "<b>统计</b>（{period}，{scope}）",
    "stats.period.today": "今天",
    "stats.period.week": "近 7 天",
    "stats.period.month": "近 30 天",
    "stats.body": "收到：{received}\n按时签收：{on_time}\n签收用时中位数：{median}\n办结：{resolved}\n重新打开：{reopened}\n当前超时：区县级 {l1}，市级 {l2}，超过办结时限 {lr}",
    "stats.none": "—",
    "reassign.usage": "用法：/reassign 编号",
    "supervisor.only": "此功能仅限督导使用。",
    # durations
    # staff data placement and cancelled invitations (issue 8, item 6)
    "place.elsewhere": "这里不显示工单内容。请在与机器人的私聊中，或在本站绑定的工作群里使用。",
    "place.private": "这里不显示工单内容。请在与机器人的私聊中使用。",
    "join.cancelled": "这个邀请码已被管理员取消。请向管理员索取新的邀请码。",
    # retention and erasure (issue 8)
    "erased.text": "（已删除）",
    "erased.contact": "报告人联系方式：（已删除）",
    "ticket.erased": "个人信息已于 {at} 删除（保存期限届满或依申请）。",
    "event.erased": "删除个人信息",
    # what a citizen is told of their report's progress (bot /status, web /status): plain
    # words, not the staff's 签收/退单/办结
    "progress.submitted": "已收到",
    "progress.dispatched": "已转给工作站，等待受理",
    "progress.triage": "正在安排负责的工作站",
    "progress.acknowledged": "已受理，正在处理",
    "progress.in_progress": "正在处理",
    "progress.resolved": "已处理完毕",
    "progress.closed": "已结束",
    "progress.returned": "正在重新安排负责的工作站",
    "progress.reopened": "已重新受理，正在处理",
    "progress.merged": "已和关于同一个孩子的另一份报告一起处理",
    "progress.invalid": "未受理",
    # adding to a filed report (补充情况)
    "btn.add_info": "📎 补充情况",
    "addinfo.prompt": "请发送要补充到报告 <code>{code}</code> 的情况：文字、照片、语音、视频或文件都可以，"
    "可以发多条。说完了请点“完成”。\n如果孩子正面临危险，请立即拨打 110 或 120。",
    "addinfo.saved": "✅ 已补充到报告 <code>{code}</code>，工作站会看到。还有要补充的可以继续发送；"
    "说完了请点“完成”。",
    "addinfo.done": "好的，补充的情况都已转给工作站。可以用 /status {code} 查询进度。",
    "addinfo.closed": "报告 <code>{code}</code> 已经处理完毕，不能再补充。如果有新的情况，"
    "请发送 /start 提交一份新的报告；孩子有危险请立即拨打 110。",
    "addinfo.too_short": "请用文字多写一点，或者发送照片、语音。",
    "btn.addinfo.done": "完成 ✔",
    "summary.info": "补充",
    "addition.file": "报告人补充了{kind}：在私聊中打开工单详情，点 📎 查看。",
    "event.reporter_added": "报告人补充情况",
    # what the reporter attached, for staff
    "btn.files": "📎 附件（{n}）",
    "files.caption": "工单 <code>{code}</code> · 附件 {i}/{n}（{kind}）",
    "files.none": "工单 <code>{code}</code> 没有附件。",
    "event.files_viewed": "查看附件",
    # the child's own voice: a child reporting about themselves is spoken to as 你, gently
    "role.child.staff": "🧒 <b>本人求助</b>（孩子自己报告）",
    "role.child.staff.plain": "🧒 本人求助（孩子自己报告）",
    "you:place.prompt": "谢谢你告诉我们，你做得很对。你可以随时停下来（发送 /cancel）；"
    "想找人说说话，可以拨打 12355 青少年服务台，电话是免费的。\n\n"
    "<b>你现在在哪里？</b>\n请选择所在的市，或直接输入地址（例如“从化区街口街道”或村、社区名称）。",
    "you:role.child": "我自己",
    "you:age.prompt": "<b>你几岁了？</b>",
    "you:age.unknown": "不想说",
    "you:sex.prompt": "<b>你是女孩还是男孩？</b>",
    "you:sex.unknown": "不想说",
    "you:concerns.prompt": "<b>你遇到了什么事？</b>可以选好几个，选好后点“完成”。",
    "you:story.prompt": "<b>能说说发生了什么吗？</b>\n什么时候、在哪里、现在怎么样，想说多少都可以"
    "（不超过 {max} 字）。也可以发照片或语音。不想说的地方可以不说。",
    "you:story.too_short": "可以再多写一点吗？几句话就好。",
    "you:contact.prompt": "<b>要留下电话吗？</b>\n工作站的工作人员可能会打电话问问你的情况。"
    "电话只给负责帮你的工作人员。不留也可以。",
    "you:btn.contact.anon": "🔒 不留电话",
    "you:contact.phone_prompt": "请点下面的按钮分享你的手机号，或者直接输入电话号码。",
    "you:contact.not_own": "请分享你自己的号码，或者直接输入。",
    "you:contact.or_anon": "不想留电话？也可以不留。",
    "you:contact.anon_ok": "好的，不留电话。",
    "you:consent.prompt": "工作站的人可以打电话给你吗？",
    "you:summary.title": "<b>看看这样写对不对：</b>",
    "you:cancelled": "好的，已经停下了，没有发送。你写的内容已经删掉了。"
    "想找人说说话，随时可以拨打 12355，电话是免费的。",
    "you:danger.call_on_submit": "⚠️ <b>情况紧急：请马上拨打 110（报警）或 120（急救）</b>，"
    "也可以拨打免费的 12355。\n请接着回答；你点“确认提交”后，我们会马上把它作为最紧急的事转给当地工作站。"
    "（现在还没有发送。）",
    "you:submitted": "✅ <b>收到了，谢谢你告诉我们。</b>\n编号：<code>{code}</code>\n转交：{station}\n"
    "工作站会在 <b>{window}</b> 内受理，并在 {action_window} 内联系你或来看你。"
    "\n请记住这个编号，可以用 /status {code} 查看进度。\n\n"
    "你可以随时停下来。想找人说说话，可以拨打 12355 青少年服务台，电话是免费的；"
    "有危险时马上打 110。",
    "you:submitted.triage": "✅ <b>收到了，谢谢你告诉我们。</b>\n编号：<code>{code}</code>\n"
    "转交：{station}（由他们安排当地的工作站）\n会在 <b>{window}</b> 内受理。"
    "\n请记住这个编号，可以用 /status {code} 查看进度。\n\n"
    "你可以随时停下来。想找人说说话，可以拨打 12355 青少年服务台，电话是免费的；"
    "有危险时马上打 110。",
    "you:submitted.urgent": "🚨 <b>你的求助已经作为最紧急的事转交了。</b>\n编号：<code>{code}</code>\n"
    "转交：{station}\n工作站会在 <b>{window}</b> 内受理。\n已经发送：你现在有危险、你在哪里。",
    "you:submitted.urgent.triage": "🚨 <b>你的求助已经作为最紧急的事转交了。</b>\n"
    "编号：<code>{code}</code>\n转交：{station}（由他们马上安排当地的工作站）\n"
    "会在 <b>{window}</b> 内受理。\n已经发送：你现在有危险、你在哪里。",
    "you:submitted.urgent.more": "<b>还没有发送</b>：你的年龄、性别、遇到的事、经过和联系方式。"
    "回答下面的问题，每个回答都会马上补充进去；不想回答可以点“不再补充”。"
    "你可以随时停下来；12355 青少年服务台的电话是免费的。",
    "you:urgent.done": "谢谢你，你补充的内容都已经转给工作站了。可以用 /status {code} 查看进度。\n"
    "如果情况变了，马上拨打 110、120 或免费的 12355。",
    "you:urgent.stopped": "好的，不再问了。你的求助 <code>{code}</code> 已经转给工作站，正在处理；"
    "你补充的内容也都发送了。可以用 /status {code} 查看进度。",
    "you:urgent.resume": "你的求助 <code>{code}</code> 已经转给工作站了。还要再补充一些吗？",
    "you:reporter.signed": "你的求助 <code>{code}</code> 已由 {station} 受理，工作人员会尽快帮你。",
    "you:reporter.first_action": "你的求助 <code>{code}</code>：工作人员已经{how}。",
    "you:reporter.resolved": "你的求助 <code>{code}</code>，{station} 已处理完毕。\n"
    "处理结果：{outcome}\n\n你觉得这样处理好吗？",
    "you:feedback.sorry": "对不起，没有帮好你。我们已经重新受理，并告诉了区县负责人。"
    "愿意的话，可以直接回复说说为什么（可以不写，不超过 {max} 字）。",
    "you:feedback.sorry_reopened": "对不起，没有帮好你。我们已经重新受理，并告诉了区县负责人。",
    "you:addinfo.prompt": "想补充到你的求助 <code>{code}</code> 的都可以发过来：文字、照片、语音、视频都行，"
    "可以发好几条。"
    "说完了点“完成”。\n你可以随时停下来；想找人说说话，可以拨打免费的 12355。有危险马上打 110。",
    "you:addinfo.saved": "✅ 收到了，已经补充到你的求助 <code>{code}</code>，工作站会看到。"
    "还想说的可以接着发；说完了点“完成”。",
    "you:addinfo.done": "好的，你补充的内容都已经转给工作站了。可以用 /status {code} 查看进度。",
    # words that raise the alarm (issue 12, item 5: flows/red_flags.py, flows/alarms.py)
    "redflag.advice": "⚠️ <b>您描述的情况可能十分紧急。</b>\n"
    "如果孩子现在有危险，请立即拨打 110（报警）；有人受伤，请拨打 120（急救）；"
    "孩子有轻生的念头或需要心理支持，可拨打 12355（青少年服务台）。\n"
    "我们会提醒工作站优先处理这份报告。",
    "redflag.line": "⚠️ <b>警示词</b>：{flags}",
    "redflag.item": "{words}（{category}）",
    "redflag.sep": "、",
    "redflag.self_harm": "自伤/自杀",
    "redflag.sexual_abuse": "性侵害",
    "redflag.severe_injury": "严重暴力/受伤",
    "redflag.young_alone": "幼儿无人看护",
    "redflag.confined": "被关/被锁",
    "redflag.trafficking": "拐卖/绑架",
    "redflag.violence": "暴力",
    "redflag.abandonment": "遗弃",
    "event.red_flags": "报告中有警示词",
    # the bot's command lists and /help per role (issue 12, item 4). A "cmd." text is what
    # Telegram shows next to the command in its menu: plain text (no HTML), at most 256
    # characters; /help shows the same words after the command and its "cmd.arg." argument.
    "cmd.start": "开始：报告儿童求助、查询进度或切换语言",
    "cmd.status": "查询您提交的报告进度",
    "cmd.language": "切换语言",
    "cmd.cancel": "取消正在填写的报告",
    "cmd.help": "显示您可以使用的命令",
    "cmd.mytickets": "待办工单（本站或辖区）",
    "cmd.ticket": "查看工单详情和处理记录",
    "cmd.leave": "退出登记，不再接收转介",
    "cmd.overdue": "超时工单，按超时级别排列",
    "cmd.open": "辖区未办结工单，最早的在前",
    "cmd.stats": "统计：收到、按时签收、办结、超时",
    "cmd.reassign": "改派工单到其他镇街工作站",
    "cmd.dashboard": "登录网页督导台",
    "cmd.console": "登录网页接线台，登记来电",
    "cmd.arg.code": "编号",
    "cmd.arg.period": "[today|week|month]",
    "help.title": "<b>使用说明</b>",
    "help.station": "<b>工作人员</b>",
    "help.supervisor": "<b>督导</b>",
    "help.operator": "<b>热线接线员</b>",
    "help.group": "<b>本群可用命令</b>（本站工作人员）",
    "help.group.private": "其他操作请在与机器人的私聊中进行。",
    "help.danger": "如果儿童正面临危险，请立即拨打 110（报警）或 120（急救）。",
    # policy questions, 政策咨询 (issue 12, item 7): flows.faq, flows.faq_steps
    "btn.faq": "📖 政策咨询",
    "btn.faq.topics": "📋 查看全部问题",
    "btn.faq.menu": "🏠 回到主菜单",
    "faq.prompt": "<b>政策咨询</b>\n请直接输入您想了解的问题（例如“留守儿童”“生活补贴怎么申请”），或点击“查看全部问题”。",
    "faq.topics": "<b>政策咨询</b>（第 {page}/{pages} 页）\n请点击下面的问题查看解答，也可以直接输入您想了解的问题，例如“留守儿童”“生活补贴怎么申请”。",
    "faq.found": "下面这些问题可能和您问的有关，请点击查看：",
    "faq.not_found": "没有找到与您的问题相关的解答。可以换个说法再试，或在下面的问题中查找；也可以拨打 12355 青少年服务台咨询。",
    "faq.gone": "这个问题已经更新或下线，请在下面重新选择。",
    "faq.empty": "政策咨询暂未开通：这里还没有可以提供的解答。\n如有疑问，请拨打 12355 青少年服务台，或联系您所在乡镇（街道）的未成年人保护工作站。",
    "faq.answer": "<b>{question}</b>\n\n{answer}",
    "faq.source": "依据：{title}，{date}",
    "faq.date": "{y}年{m}月{d}日",
    "faq.link": "原文：{url}",
    "faq.chinese_only": "（这条解答只有中文版本。）",
    "faq.station": "📍 如需了解具体条件或办理，请联系<b>{station}</b>（您在这里提交的报告由该站处理），也可以拨打 12355 青少年服务台咨询。",
    "faq.station_phone": "📍 如需了解具体条件或办理，请联系<b>{station}</b>（您在这里提交的报告由该站处理），电话 {phone}；也可以拨打 12355 青少年服务台咨询。",
    "faq.station_any": "📍 如需了解具体条件或办理，请联系您所在乡镇（街道）的未成年人保护工作站，或村（居）委会的儿童主任；也可以拨打 12355 青少年服务台咨询。",
    # one child, one ticket: possible duplicates, 合并 and its undoing (issue 12, item 8)
    "referral.duplicate": "⚠️ 可能重复：与 <code>{code}</code>（提交于 {at}）",
    "referral.duplicate.urgent": "这份报告比它更紧急，不能并入：请按这份报告自己的时限处理。",
    "referral.merged": "🔗 已合并到 <code>{code}</code>（提交于 {at}），按该工单的时限处理。",
    "btn.merge": "🔗 合并",
    "btn.unmerge": "↩️ 撤销合并 {code}",
    "merge.ok": "已合并：<code>{code}</code> 并入 <code>{into}</code>，按 <code>{into}</code> 的时限处理；"
    "报告人都会收到 <code>{into}</code> 的后续进展。",
    "merge.already": "这份报告已经合并到 <code>{into}</code>。",
    "merge.none": "这份报告没有可以合并的工单（按钮已过时）。",
    "merge.not_open": "<code>{into}</code> 当前为“{state}”，不能合并到它。",
    "merge.more_urgent": "这份报告比 <code>{into}</code> 更紧急，不能并入：请按这份报告自己的时限处理。",
    "unmerge.usage": "用法：/unmerge 编号（被合并的报告的编号）",
    "unmerge.not_merged": "工单 <code>{code}</code> 没有被合并。",
    "unmerge.ok": "已撤销合并：<code>{code}</code> 重新单独处理，当前为“{state}”，下一时限：{due}。",
    "notify.unmerged": "↩️ <b>撤销合并 <code>{code}</code></b>\n督导撤销了它与 <code>{into}</code> 的合并，"
    "请单独处理。\n当前：{state}\n下一时限：{due}",
    "ticket.merged_reports": "<b>合并进来的报告</b>",
    "ticket.merged_report": "<code>{code}</code> · 提交于 {at}\n报告人：{reporter}\n情况：{concerns}\n"
    "儿童：{age}，{sex}\n经过：{story}\n附件：{files} 个",
    "event.duplicate_suspected": "可能重复",
    "event.merged": "合并到另一工单",
    "event.merged_in": "一份报告合并进来",
    "event.unmerged": "撤销合并",
    "event.unmerged_out": "撤销合并，移出一份报告",
    "reporter.merged": "您提交的报告 <code>{code}</code> 和另一份报告说的是同一个孩子，工作站会把两份报告"
    "放在一起处理。现在的进度：{state}。之后的进展我们会照常告诉您，也可以用 /status {code} 查看。",
    "you:reporter.merged": "你的求助 <code>{code}</code> 和另一份报告说的是同一件事，工作站会把它们放在一起"
    "处理。现在的进度：{state}。之后有什么进展，我们会告诉你；也可以用 /status {code} 查看。",
    "reporter.unmerged": "您提交的报告 <code>{code}</code> 经核实和另一份报告说的不是同一个孩子，现在由 "
    "{station} 单独处理。进度：{state}。可以用 /status {code} 查看。",
    "you:reporter.unmerged": "你的求助 <code>{code}</code> 现在由 {station} 单独处理。进度：{state}。"
    "可以用 /status {code} 查看。",
    "status.together": "一起处理的进度：{state}",
    "btn.files_of": "📎 {code} 的附件（{n}）",
    "cmd.unmerge": "撤销合并：被合并的报告重新单独处理",
}

EN: dict[str, str] = {
    "menu": "Hello, this is the <b>Voice for Protecting Children</b> help line. If a child is in "
    "difficulty or being harmed, report it here and we will pass it to the local "
    "child-protection workstation.\n\nPlease choose:",
    "btn.report": "📝 Report a child in need",
    "btn.status": "🔎 Check a report",
    "btn.language": "🌐 语言 Language",
    "menu.hint": "Please choose with the buttons below.",
    "language.prompt": "请选择语言 / Choose a language:",
    "language.set": "Language set to English.",
    "language.followed": "Switched to Traditional Chinese, as you write it. Send /language to "
    "change.",
    "unknown_command": "Unknown command {command}. Send /help to see what you can do.",
    "resume.prompt": "You have a report that is not submitted yet. Continue it or start over?",
    "btn.resume": "Continue",
    "btn.restart": "Start over",
    "cancelled": "Cancelled. Nothing was submitted and your answers were deleted.",
    "nothing_to_cancel": "There is no report in progress.",
    "stale": "That button belongs to an earlier message and no longer works. Please continue here:",
    "already": "Already recorded, no need to press again.",
    "use_buttons": "Please answer with the buttons in the message above.",
    "unsupported": "This step cannot take this kind of message ({kind}); please answer as "
    "asked below.",
    "kind.sticker": "sticker",
    "kind.voice": "voice message",
    "kind.photo": "photo",
    "kind.video": "video",
    "kind.document": "file",
    "kind.contact": "contact",
    "kind.location": "location",
    "kind.other": "other",
    "btn.back": "« Back",
    "flood.notice": "You are sending very fast: please pause for a minute. What you send "
    "meanwhile is not acted on, so send it again later if you need to; what you filled in is "
    "kept, and the steps of reporting a child in danger are still taken at once.\n"
    "If a child is in danger now, call 110 (police), 120 (ambulance) or 12355 (youth helpline).",
    "flood.quota": "This chat has already filed {n} reports in the last hour, so this one was not "
    "filed yet. Your answers are kept: press \u201cSubmit\u201d again a little later.\n"
    "If a child is in danger now, call 110, 120 or 12355.",
    "flood.quota#one": "This chat has already filed a report in the last hour, so this one was "
    "not filed yet. Your answers are kept: press \u201cSubmit\u201d again a little later.\n"
    "If a child is in danger now, call 110, 120 or 12355.",
    "update_failed": "Sorry, we could not process what you just sent. Please send it again; if that does not work, send /start to begin again."
    "\nIf a child is in danger now, call 110 (police), 120 (ambulance) or 12355 (youth helpline) at once.",
    "danger.prompt": "<b>Is the child in danger right now?</b>",
    "btn.danger.yes": "Yes",
    "btn.danger.no": "No",
    "btn.danger.unsure": "Not sure",
    "danger.call": "⚠️ <b>Call 110 (police) or 120 (ambulance) now!</b>\n"
    "A child, or anyone who needs someone to talk to, can also call 12355 (youth helpline). "
    "Stay with the child if it is safe for you.\n\n"
    "Tell us where the child is: as soon as the place is chosen, we pass your report to the "
    "local workstation as <b>most urgent</b>. (Nothing has been sent yet.)",
    "danger.call_now": "⚠️ <b>Call 110 (police) or 120 (ambulance) now!</b> Or 12355 (youth "
    "helpline).\nWe are passing your report to the local workstation as most urgent right now.",
    "danger.call_on_submit": "⚠️ <b>This is urgent: call 110 (police) or 120 (ambulance) now</b>, "
    "or 12355 (youth helpline).\nPlease go on; once you confirm the report we pass it to the "
    "local workstation as most urgent at once. (Nothing has been sent yet.)",
    "reporter.prompt": "<b>Who are you to the child?</b>",
    "role.child": "I am the child",
    "role.guardian": "Parent or guardian",
    "role.relative": "Relative",
    "role.neighbour": "Neighbour or friend",
    "role.teacher": "Teacher or school",
    "role.medical": "Doctor or nurse",
    "role.committee": "Village/community committee or social worker",
    "role.other": "Other",
    "place.prompt": "<b>Where is the child?</b>\nChoose the city, or type the place "
    "(e.g. “从化区街口街道”, or a village or community name).",
    "place.county": "<b>{city}</b>: choose the district or county.",
    "place.township": "<b>{county}</b>: choose the town or street (page {page}/{pages}).",
    "place.unknown_county": "I don't know the district",
    "place.unknown_township": "I don't know the town/street",
    "place.confirm_one": "Is it here?\n<b>{place}</b>",
    "place.confirm_many": "Several places match. Please choose:",
    "place.none_of_these": "None of these, use the list",
    "place.yes": "✅ Yes",
    "place.not_found": "Could not find “{text}”. Try another spelling, or choose city, "
    "district and town from the list:",
    "place.too_long": "That address is too long. Type just the town, street, village or "
    "community name (up to {max} characters).",
    "btn.prev": "◀ Previous",
    "btn.next": "Next ▶",
    "age.prompt": "<b>How old is the child, roughly?</b>",
    "age.0-2": "0–2",
    "age.3-5": "3–5",
    "age.6-11": "6–11",
    "age.12-14": "12–14",
    "age.15-17": "15–17",
    "age.unknown": "Don't know",
    "sex.prompt": "<b>Is the child a girl or a boy?</b>",
    "sex.f": "Girl",
    "sex.m": "Boy",
    "sex.unknown": "Don't know",
    "concerns.prompt": "<b>What is happening to the child?</b> Choose all that apply, "
    "then press “Done”.",
    "concerns.done": "Done ✔",
    "concerns.need_one": "Please choose at least one.",
    "concern.no_carer": "No carer / left alone",
    "concern.physical": "Physical harm or abuse",
    "concern.sexual": "Sexual harm",
    "concern.bullying": "Bullying",
    "concern.basic_needs": "Hunger or basic needs",
    "concern.illness": "Illness or no medical care",
    "concern.disability": "Disability or rehabilitation",
    "concern.out_of_school": "Out of school",
    "concern.distress": "Distress or self-harm risk",
    "concern.missing": "Missing or living on the street",
    "concern.labour": "Forced labour",
    "concern.other": "Other",
    "story.prompt": "<b>Briefly, what happened?</b>\nWhen, where, how the child is, what you "
    "saw or heard (up to {max} characters). You may also send photos.",
    "story.too_long": "That is too long ({length} characters). Please shorten it to {max} "
    "and send it again.",
    "story.too_short": "Please describe a little more in words.",
    "story.photo_saved": "Photo received ({count}/{max}). Please also describe in words what "
    "happened.",
    "story.photo_limit": "At most {max} photos or files; this one was not kept. Please describe in words "
    "what happened.",
    "story.file_saved": "Your {kind} is received ({count}/{max}). Please also describe in a few "
    "words what happened.",
    "contact.prompt": "<b>Leave a way to reach you?</b>\nThe workstation may need to ask you "
    "about the case. Your contact is shown only to the staff handling it. You may also stay "
    "anonymous.",
    "btn.contact.phone": "📞 Leave a phone number",
    "btn.contact.anon": "🔒 Stay anonymous",
    "contact.phone_prompt": "Press the button below to share your number, or type a phone number.",
    "btn.share_phone": "📱 Share my phone number",
    "contact.bad_phone": "That does not look like a phone number. Type 7–15 digits, or choose "
    "to stay anonymous.",
    "contact.not_own": "Please share your own number, or type it.",
    "consent.prompt": "May the workstation call you back?",
    "btn.yes": "Yes",
    "btn.no": "No",
    "contact.saved": "Phone number noted: {phone}",
    "contact.or_anon": "Rather not leave a number? You can report anonymously.",
    "contact.anon_ok": "All right: an anonymous report, no phone number.",
    "summary.title": "<b>Please check your report:</b>",
    "summary.danger": "In danger",
    "summary.reporter": "Reporter",
    "summary.place": "Place",
    "summary.age": "Age",
    "summary.sex": "Sex",
    "summary.concerns": "Concerns",
    "summary.story": "What happened",
    "summary.photos": "Photos",
    "summary.contact": "Contact",
    "summary.anonymous": "anonymous",
    "summary.callback_yes": " (call back: yes)",
    "summary.callback_no": " (call back: no)",
    "btn.confirm": "✅ Submit",
    "btn.change": "✏️ Change an answer",
    "btn.cancel": "✖ Cancel",
    "edit.prompt": "Which answer do you want to change?",
    "submitted": "✅ <b>Report submitted.</b>\nCode: <code>{code}</code>\nSent to: {station}\n"
    "The workstation will take it on within <b>{window}</b> and call or visit within "
    "{action_window}.\nKeep the code; send /status {code} to check progress.",
    "submitted.triage": "✅ <b>Report submitted.</b>\nCode: <code>{code}</code>\nSent to: "
    "{station} (they will find the local workstation)\nExpect it to be taken on "
    "within <b>{window}</b>.\nKeep the code; send /status {code} to check progress.",
    "queue.county": "{name} minor protection centre",
    "queue.city": "{name} minor protection centre",
    "already_submitted": "This report was already submitted, code <code>{code}</code>.",
    "submitted.urgent": "🚨 <b>Your report was passed on as most urgent.</b>\nCode: <code>{code}</code>\n"
    "Sent to: {station}\nThe workstation must take it on within <b>{window}</b>.\n"
    "Sent so far: the child is in danger now, the place, who you are to the child.",
    "submitted.urgent.triage": "🚨 <b>Your report was passed on as most urgent.</b>\n"
    "Code: <code>{code}</code>\nSent to: {station} (who find the local workstation at once)\n"
    "To be taken on within <b>{window}</b>.\n"
    "Sent so far: the child is in danger now, the place, who you are to the child.",
    "submitted.urgent.more": "<b>Not sent yet</b>: the child's age and sex, what happened, and how "
    "to reach you. Please answer the questions below: each answer is added to the report at once. "
    "Press \u201cStop adding\u201d whenever you want.",
    "urgent.added": "✅ Added to report <code>{code}</code>: {what}.",
    "urgent.done": "Thank you: everything you added has been passed to the workstation. Check "
    "progress with /status {code}.\nIf things change, call 110, 120 or 12355 at once.",
    "urgent.stopped": "All right, nothing more will be asked. Report <code>{code}</code> is with the "
    "workstation and what you added has been sent. Check progress with /status {code}.",
    "urgent.resume": "Your report <code>{code}</code> is with the workstation. Add more to it?",
    "btn.add_more": "Add more",
    "btn.stop_adding": "Stop adding",
    "field.pending": "(to follow)",
    "status.prompt": "Please type the report code (e.g. <code>ABCD2345</code>).",
    "status.none": "No report with code {code} was filed from this chat. You can only check "
    "reports filed here.",
    "status.list_empty": "You have not filed any report from this chat yet.",
    "status.list": "<b>Your reports:</b>",
    "status.line": "<code>{code}</code> · {created} · {state}",
    "status.detail": "<b>Report <code>{code}</code></b>\nFiled: {created}\nHandled by: "
    "{station}\nStatus: {state}",
    "state.submitted": "submitted",
    "state.dispatched": "sent to the workstation, waiting to be signed for",
    "state.triage": "waiting to be routed by the district or city",
    "state.acknowledged": "signed for by the workstation",
    "state.in_progress": "being handled",
    "state.resolved": "resolved",
    "state.closed": "closed",
    "state.returned": "returned for re-routing",
    "state.reopened": "reopened",
    "state.merged": "merged",
    "state.invalid": "invalid",
    "join.usage": "Usage: /join CODE",
    "join.ok.station": "✅ You joined <b>{scope}</b>. New referrals will come here; /mytickets "
    "lists the station's open tickets.",
    "join.ok.supervisor": "✅ You joined <b>{scope}</b> as a supervisor; /mytickets lists open "
    "tickets in your area.",
    "join.ok.operator": "✅ You joined <b>{scope}</b> as a hotline operator. Send /console for a "
    "sign-in link to the web console, where you enter calls (a hotline system may also use an "
    "API token from the administrator); this bot sends you no referrals or supervisor notices.",
    "leave.ok.operator": "You left <b>{scope}</b>; your API tokens and web sign-ins no longer "
    "work.",
    "operator.no_tickets": "Hotline operators do not work tickets in the bot: send /console to "
    "open the web console, enter calls and follow the reports you entered.",
    # web pages: the one-time sign-in link
    "signin.link": "🔐 Sign-in link for the {page}:\n{url}\n\nIt works once, for {minutes} "
    "minutes; do not forward it. Open it and press “Sign in”.",
    "signin.link#one": "🔐 Sign-in link for the {page}:\n{url}\n\nIt works once, for {minutes} "
    "minute; do not forward it. Open it and press “Sign in”.",
    "signin.page.dashboard": "dashboard",
    "signin.page.console": "console",
    "signin.private": "Sign-in links are sent in a private chat only: send /{command} to me there.",
    "signin.not_set": "The web pages are not set up yet (HUTONG_PUBLIC_URL is not set); please "
    "ask the administrator.",
    "signin.dashboard_only": "The web dashboard is for supervisors. Station staff work their "
    "tickets here with /mytickets.",
    "signin.console_only": "The web console is for hotline operators.",
    "join.ok.group": "✅ This group is now bound to <b>{scope}</b>; new referrals will come "
    "here too.",
    "join.unknown": "That invitation code is not valid. Ask the administrator for a new one.",
    "join.used": "That invitation code was already used; each code works once. Ask the "
    "administrator for a new one.",
    "join.expired": "That invitation code has expired. Ask the administrator for a new one.",
    "join.already": "You are already enrolled at <b>{scope}</b>. Send /leave first to change.",
    "leave.ok": "You left <b>{scope}</b> and will no longer receive referrals.",
    "staff.only": "This is for enrolled staff only.",
    "priority.P0": "🔴 P0 immediate",
    "priority.P1": "🟠 P1 urgent",
    "priority.P2": "🟢 P2 general",
    "referral": "🆕 <b>New referral <code>{code}</code></b> · {priority}\n"
    "Place: {place}\nConcerns: {concerns}\nChild: {age}, {sex}\nReporter: {reporter}\n"
    "What happened: {story}\n\nSign for by: {sign_due}\nFirst action by: {action_due}\n"
    "Resolve by: {resolve_due}",
    "referral.triage": "📥 <b>To route <code>{code}</code></b> · {priority}\n"
    "Place: {place}\nConcerns: {concerns}\nChild: {age}, {sex}\nReporter: {reporter}\n"
    "What happened: {story}\n\nPlease route it to a township station by {sign_due}.",
    "referral.signed": "✅ Signed for by {name} at {at}",
    "btn.sign": "✍️ Sign for",
    "btn.return": "↩️ Return",
    "btn.details": "📄 Details",
    "sign.ok": "You signed for <code>{code}</code>. Call the reporter or visit (first action) "
    "by {due}.",
    "sign.taken": "This ticket was already signed for by {name}.",
    "sign.not_open": "This ticket is “{state}” and cannot be signed for.",
    "refused": "You are not allowed to act on this ticket.",
    "reporter.signed": "Your report <code>{code}</code> was taken on by {station}; staff will "
    "act on it soon.",
    "mytickets.none": "No open tickets.",
    "mytickets.title": "<b>Open tickets</b> (next deadline first):",
    "mytickets.line": "{priority} <code>{code}</code> · {state} · due {due}",
    "ticket.usage": "Usage: /ticket CODE",
    "ticket.none": "No ticket {code}, or you may not see it.",
    "ticket.detail": "<b>Ticket <code>{code}</code></b> · {priority} · {state}\n"
    "Handled by: {owner}\nPlace: {place}\nConcerns: {concerns}\nChild: {age}, {sex}\n"
    "Reporter: {reporter}\nWhat happened: {story}\n\nSign for by: {sign_due}\n"
    "First action by: {action_due}\nResolve by: {resolve_due}",
    "ticket.contact": "Reporter's phone: {phone} ({consent})",
    "ticket.contact_hidden": "Reporter's contact: shown after sign-for",
    "ticket.anonymous": "Reporter: anonymous",
    "ticket.history": "<b>History</b>",
    "ticket.event": "{at} · {kind}{note}",
    "consent.yes": "may call back",
    "consent.no": "do not call back",
    "event.submitted": "submitted",
    "event.dispatched": "sent to the station",
    "event.triage": "put in the routing queue",
    "event.signed": "signed for",
    "event.refused": "refused an unauthorised action",
    "event.contact_viewed": "reporter contact viewed",
    "event.viewed": "viewed (API or web)",
    "event.not_notified": "referral reached nobody",
    "event.delivery_failed": "a message could not be delivered",
    "event.addition": "the reporter added information",
    "event.many_reports": "many reports from this chat within an hour",
    "addition.title": "📎 <b>Added to <code>{code}</code></b> · {priority}",
    "addition.phone": "the reporter left a phone number (shown in the details after signing for it)",
    "addition.anonymous": "the reporter stays anonymous",
    "addition.photos": "the reporter added photos (see the details)",
    "btn.note": "📝 Add a note",
    "btn.first": "📞 First contact/visit",
    "btn.extend": "⏳ Ask for more time",
    "btn.resolve": "✅ Resolve",
    "btn.redispatch": "📤 Route to a town/street",
    "btn.reject_return": "↩️ Reject the return",
    "btn.approve": "Approve",
    "btn.deny": "Deny",
    "btn.call": "Phone call",
    "btn.visit": "Home visit",
    "work.menu": "Ticket <code>{code}</code> · {state}",
    "work.ask_note": "Type the note for <code>{code}</code> (up to {max} characters). /cancel to "
    "drop it.",
    "work.note_saved": "Note recorded.",
    "work.ask_first": "Was the first action a phone call or a home visit?",
    "work.first_saved": "First action recorded. Resolve by {due}.",
    "work.first_done": "The first action is already recorded.",
    "work.ask_ext_days": "How many more days?",
    "work.ask_ext_reason": "Why do you need {days} more days? (up to {max} characters). /cancel "
    "to drop it.",
    "work.ask_ext_reason#one": "Why do you need {days} more day? (up to {max} characters). "
    "/cancel to drop it.",
    "work.ext_sent": "Request sent to the county supervisor.",
    "work.ext_pending": "A request for more time is already waiting for a decision.",
    "work.ask_outcome": "Choose the outcome:",
    "work.ask_resolution": "Type the resolution note (up to {max} characters). /cancel to drop it.",
    "work.resolved": "Ticket <code>{code}</code> resolved.",
    "work.ask_return": "Why return it?",
    "work.ask_return_text": "Explain the return (up to {max} characters). /cancel to drop it.",
    "work.returned": "Returned; the county will route it again.",
    "work.too_long": "That is too long ({length} characters); keep it under {max}.",
    "work.too_short": "Please type a few words.",
    "work.cancelled": "Dropped.",
    "work.not_now": "This ticket is “{state}”; that cannot be done now.",
    "work.pick_township": "Route <code>{code}</code> to which town or street? (page {page}/{pages})",
    "work.redispatched": "Routed to {station}.",
    "work.return_rejected": "Return rejected; the ticket goes back to {station}.",
    "work.decided": "That request was already decided.",
    "work.ext_approved": "Approved {days} more days; resolve by {due}.",
    "work.ext_approved#one": "Approved {days} more day; resolve by {due}.",
    "work.ext_denied": "Request denied.",
    "reason.area": "Not our area",
    "reason.duplicate": "Duplicate",
    "reason.other": "Other",
    "outcome.helped_on_site": "Child helped on site",
    "outcome.police": "Referred to police",
    "outcome.medical": "Referred to medical care",
    "outcome.education": "Referred to school or education bureau",
    "outcome.financial": "Financial assistance applied",
    "outcome.placed": "Placed in care",
    "outcome.not_located": "Could not locate",
    "outcome.not_cp": "Not a child protection matter",
    "outcome.other": "Other",
    "notify.extension": "⏳ <b>More time asked <code>{code}</code></b>\n{station} asks for {days} "
    "more days.\nReason: {reason}\nResolve by now: {due}",
    "notify.extension#one": "⏳ <b>More time asked <code>{code}</code></b>\n{station} asks for "
    "{days} more day.\nReason: {reason}\nResolve by now: {due}",
    "notify.returned": "↩️ <b>Returned <code>{code}</code></b>\n{station} returned this ticket."
    "\nReason: {reason}\nRoute it again, or reject the return.",
    "notify.ext_approved": "⏳ More time for <code>{code}</code> approved; resolve by {due}.",
    "notify.ext_denied": "⏳ More time for <code>{code}</code> denied; resolve by {due}.",
    "notify.return_rejected": "↩️ The return of <code>{code}</code> was rejected; please go on "
    "with it.",
    "notify.reopened": "⚠️ <b>Ticket <code>{code}</code> reopened</b>: the reporter is not "
    "satisfied with the outcome.",
    "reporter.first_action": "Your report <code>{code}</code>: staff have made a {how}.",
    "reporter.how.call": "phone call",
    "reporter.how.visit": "home visit",
    "reporter.resolved": "Your report <code>{code}</code> has been dealt with by {station}.\nOutcome: "
    "{outcome}\n\nAre you satisfied with how it was handled?",
    "btn.fb.sat": "Satisfied",
    "btn.fb.ok": "Mostly satisfied",
    "btn.fb.unsat": "Not satisfied",
    "feedback.thanks": "Thank you for your feedback.",
    "feedback.sorry": "We are sorry. The report is taken on again and the county is told. "
    "If you like, reply with what went wrong (optional, up to {max} characters).",
    "feedback.sorry_reopened": "We are sorry. The report is taken on again and the county is told.",
    "feedback.comment_saved": "Thank you, your comment is recorded.",
    "feedback.already": "You already gave feedback, thank you.",
    "event.note": "note",
    "event.first_action": "first action",
    "event.extension_requested": "more time asked",
    "event.extension_approved": "more time approved",
    "event.extension_denied": "more time denied",
    "event.resolved": "resolved",
    "event.returned": "returned",
    "event.return_rejected": "return rejected",
    "event.redispatched": "routed again",
    "event.feedback": "reporter feedback",
    "event.feedback_comment": "reporter comment",
    "event.reopened": "reopened",
    "event.closed": "closed",
    "work.private_only": "Please do this in your private chat with the bot.",
    "ticket.contact_private": "Reporter's contact: open the ticket in your private chat with the bot",
    "sla.reminder": "⏰ <b>Please sign for</b> <code>{code}</code> · {priority}\nSign for by: {due}",
    "sla.breach": "🚨 <b>Not signed for in time</b> <code>{code}</code> · {priority}\nStation: {owner}\nSign for by: {due} (passed)\nPlace: {place}",
    "sla.city": "🚨🚨 <b>Not signed for, raised to the city</b> <code>{code}</code> · {priority}\nStation: {owner}\nSign for by: {due}\nPlace: {place}",
    "sla.repeat": "🚨 <b>Still not signed for (reminder {n})</b> <code>{code}</code> · {priority}\nStation: {owner}\nSign for by: {due}",
    "sla.reverted": "⚠️ Ticket <code>{code}</code> was signed for but nobody called or visited by {due}; it is waiting to be signed for again.",
    "sla.resolve_overdue": "⏰ <b>Overdue</b> <code>{code}</code> · {priority}\nStation: {owner}\nResolve by: {due} (passed)",
    "sla.not_notified": "the referral reached nobody: raised at once",
    "digest.title": "📋 <b>Daily digest</b>: {count} overdue tickets in your area",
    "digest.title#one": "📋 <b>Daily digest</b>: {count} overdue ticket in your area",
    "digest.line": "{priority} <code>{code}</code> · {state} · {owner} · overdue since {since}",
    "digest.more": "… and {n} more; see /overdue.",
    "event.reminder": "reminder to sign for",
    "event.undelivered": "a notice reached nobody",
    "event.escalated": "escalated",
    "event.escalation_repeat": "reminded again",
    "event.reverted": "no action after sign-for: un-signed",
    "event.resolve_overdue": "resolve deadline passed",
    "overdue.none": "No overdue tickets in your area.",
    "overdue.title": "<b>Overdue tickets</b> (oldest first)",
    "overdue.level": "<b>{level}</b>",
    "overdue.level1": "County level (not signed for)",
    "overdue.level2": "City level (not signed for)",
    "overdue.resolve": "Past the resolve deadline",
    "overdue.line": "{priority} <code>{code}</code> · {owner} · since {since}",
    "open.none": "No open tickets in your area.",
    "open.title": "<b>Open tickets</b> ({count}, oldest first)",
    "open.line": "{priority} <code>{code}</code> · {state} · {owner} · {created}",
    "stats.usage": "Usage: /stats [today|week|month]",
    "stats.title": "<b>Statistics</b> ({period}, {scope})",
    "stats.period.today": "today",
    "stats.period.week": "last 7 days",
    "stats.period.month": "last 30 days",
    "stats.body": "Received: {received}\nSigned for on time: {on_time}\nMedian time to sign for: {median}\nResolved: {resolved}\nReopened: {reopened}\nOverdue now: county {l1}, city {l2}, past resolve deadline {lr}",
    "stats.none": "—",
    "reassign.usage": "Usage: /reassign CODE",
    "supervisor.only": "This is for supervisors only.",
    # staff data placement and cancelled invitations (issue 8, item 6)
    "place.elsewhere": "Case details are not shown here. Use your private chat with the bot, or your station's own group.",
    "place.private": "Case details are not shown here. Use your private chat with the bot.",
    "join.cancelled": "That invitation code was cancelled by the administrator. Ask the administrator for a new one.",
    # retention and erasure (issue 8)
    "erased.text": "(erased)",
    "erased.contact": "Reporter's contact: (erased)",
    "ticket.erased": "Personal data erased on {at} (retention period, or on request).",
    "event.erased": "personal data erased",
    "progress.submitted": "received",
    "progress.dispatched": "sent to the workstation, waiting to be taken on",
    "progress.triage": "finding the workstation in charge",
    "progress.acknowledged": "taken on, being handled",
    "progress.in_progress": "being handled",
    "progress.resolved": "dealt with",
    "progress.closed": "finished",
    "progress.returned": "finding the right workstation again",
    "progress.reopened": "taken on again, being handled",
    "progress.merged": "handled together with another report about the same child",
    "progress.invalid": "not taken on",
    "btn.add_info": "📎 Add to this report",
    "addinfo.prompt": "Send what you want to add to report <code>{code}</code>: words, photos, "
    "voice messages, videos or files, as many messages as you like. Press “Done” when you have "
    "finished.\nIf a child is in danger now, call 110 or 120.",
    "addinfo.saved": "✅ Added to report <code>{code}</code>; the workstation will see it. Send "
    "more if you like, or press “Done”.",
    "addinfo.done": "All right: everything you added is with the workstation. Send /status "
    "{code} to check progress.",
    "addinfo.closed": "Report <code>{code}</code> has been dealt with and cannot be added to. If "
    "there is something new, send /start to file a new report; if a child is in danger, call "
    "110 now.",
    "addinfo.too_short": "Please write a little more, or send a photo or a voice message.",
    "btn.addinfo.done": "Done ✔",
    "summary.info": "Added",
    "addition.file": "The reporter added a {kind}: open the ticket's details in a private chat "
    "and press 📎.",
    "event.reporter_added": "reporter added information",
    "btn.files": "📎 Attachments ({n})",
    "files.caption": "Ticket <code>{code}</code> · attachment {i}/{n} ({kind})",
    "files.none": "Ticket <code>{code}</code> has no attachments.",
    "event.files_viewed": "attachments viewed",
    "role.child.staff": "🧒 <b>The child asks for help</b> (reporting about themselves)",
    "role.child.staff.plain": "🧒 The child asks for help (reporting about themselves)",
    "you:place.prompt": "Thank you for telling us; you did the right thing. You can stop at any "
    "time (send /cancel). If you want to talk to someone, call 12355, the youth helpline; the "
    "call is free.\n\n<b>Where are you now?</b>\nChoose your city, or type the address (for "
    "example “从化区街口街道” or a village or neighbourhood name).",
    "you:role.child": "Me",
    "you:age.prompt": "<b>How old are you?</b>",
    "you:age.unknown": "I'd rather not say",
    "you:sex.prompt": "<b>Are you a girl or a boy?</b>",
    "you:sex.unknown": "I'd rather not say",
    "you:concerns.prompt": "<b>What is happening to you?</b> You can pick more than one, then "
    "press “Done”.",
    "you:story.prompt": "<b>Can you tell us what happened?</b>\nWhen, where, how you are now: "
    "as much as you like (up to {max} characters). You can send photos too. You don't have to "
    "say anything you don't want to.",
    "you:story.too_short": "Could you write a little more? A few sentences are enough.",
    "you:contact.prompt": "<b>Leave a phone number?</b>\nSomeone from the workstation may call to "
    "ask how you are. Only the people helping you see it. You don't have to.",
    "you:btn.contact.anon": "🔒 No phone number",
    "you:contact.phone_prompt": "Press the button below to share your phone number, or type it.",
    "you:contact.not_own": "Please share your own number, or type it.",
    "you:contact.or_anon": "Rather not leave a number? That's fine.",
    "you:contact.anon_ok": "All right, no phone number.",
    "you:consent.prompt": "May someone from the workstation call you?",
    "you:summary.title": "<b>Is this right?</b>",
    "you:cancelled": "All right, stopped: nothing was sent, and what you wrote is deleted. If you "
    "want to talk to someone, call 12355 any time; it is free.",
    "you:danger.call_on_submit": "⚠️ <b>This is urgent: call 110 (police) or 120 (ambulance) "
    "now</b>, or 12355 (free).\nPlease go on answering; when you press “Submit” we pass it on "
    "at once as most urgent. (Nothing is sent yet.)",
    "you:submitted": "✅ <b>We have it. Thank you for telling us.</b>\nCode: <code>{code}</code>\n"
    "Sent to: {station}\nThe workstation will take it on within <b>{window}</b> and call or "
    "come to see you within {action_window}.\nKeep the code; send /status {code} to see how it "
    "goes.\n\nYou can stop at any time. To talk to someone, call 12355, the youth helpline; "
    "it is free. If you are in danger, call 110 at once.",
    "you:submitted.triage": "✅ <b>We have it. Thank you for telling us.</b>\nCode: "
    "<code>{code}</code>\nSent to: {station} (they will find the local workstation)\nIt will "
    "be taken on within <b>{window}</b>.\nKeep the code; send /status {code} to see how it "
    "goes.\n\nYou can stop at any time. To talk to someone, call 12355, the youth helpline; "
    "it is free. If you are in danger, call 110 at once.",
    "you:submitted.urgent": "🚨 <b>Your call for help was passed on as most urgent.</b>\nCode: "
    "<code>{code}</code>\nSent to: {station}\nThe workstation will take it on within "
    "<b>{window}</b>.\nSent so far: you are in danger now, and where you are.",
    "you:submitted.urgent.triage": "🚨 <b>Your call for help was passed on as most urgent.</b>\n"
    "Code: <code>{code}</code>\nSent to: {station} (who find the local workstation at once)\n"
    "It will be taken on within <b>{window}</b>.\nSent so far: you are in danger now, and "
    "where you are.",
    "you:submitted.urgent.more": "<b>Not sent yet</b>: your age, whether you are a girl or a "
    "boy, what happened, and how to reach you. Each answer below is added at once; press "
    "“Stop adding” whenever you want. You can stop at any time; 12355 is free.",
    "you:urgent.done": "Thank you: everything you added is with the workstation. Send "
    "/status {code} to see how it goes.\nIf things change, call 110, 120 or 12355 (free) at "
    "once.",
    "you:urgent.stopped": "All right, no more questions. Your call for help <code>{code}</code> "
    "is with the workstation, and what you added was sent too. Send /status {code} to see how "
    "it goes.",
    "you:urgent.resume": "Your call for help <code>{code}</code> is with the workstation. Add "
    "more to it?",
    "you:reporter.signed": "Your call for help <code>{code}</code> was taken on by {station}; "
    "they will help you as soon as they can.",
    "you:reporter.first_action": "Your call for help <code>{code}</code>: staff have made a {how}.",
    "you:reporter.resolved": "Your call for help <code>{code}</code> has been dealt with by "
    "{station}.\nOutcome: {outcome}\n\nWas that all right for you?",
    "you:feedback.sorry": "We are sorry we did not help you well. It is taken on again and the "
    "county is told. If you like, reply with what went wrong (optional, up to {max} characters).",
    "you:feedback.sorry_reopened": "We are sorry we did not help you well. It is taken on again "
    "and the county is told.",
    "you:addinfo.prompt": "Send anything you want to add to <code>{code}</code>: words, photos, "
    "voice messages or "
    "videos, as many as you like. Press “Done” when you have finished.\nYou can stop at any "
    "time; to talk to someone, call 12355 (free). If you are in danger, call 110 now.",
    "you:addinfo.saved": "✅ Got it: added to your call for help <code>{code}</code>; the "
    "workstation will see it. Send more if you like, or press “Done”.",
    "you:addinfo.done": "All right: everything you added is with the workstation. Send "
    "/status {code} to see how it goes.",
    # words that raise the alarm (issue 12, item 5: flows/red_flags.py, flows/alarms.py)
    "redflag.advice": "⚠️ <b>What you describe may be very urgent.</b>\n"
    "If the child is in danger now, call 110 (police); if someone is hurt, call 120 "
    "(ambulance); if the child thinks of ending their life or needs support, call 12355 "
    "(youth helpline).\nWe will ask the station to deal with this report first.",
    "redflag.line": "⚠️ <b>Alarm words</b>: {flags}",
    "redflag.item": "{words} ({category})",
    "redflag.sep": ", ",
    "redflag.self_harm": "self-harm/suicide",
    "redflag.sexual_abuse": "sexual abuse",
    "redflag.severe_injury": "severe violence/injury",
    "redflag.young_alone": "young child alone",
    "redflag.confined": "locked in",
    "redflag.trafficking": "trafficking/abduction",
    "redflag.violence": "violence",
    "redflag.abandonment": "abandonment",
    "event.red_flags": "alarm words in the report",
    # the bot's command lists and /help per role (issue 12, item 4)
    "cmd.start": "Start: report a child in need, check a report or change language",
    "cmd.status": "Check a report you filed",
    "cmd.language": "Change language",
    "cmd.cancel": "Cancel the report you are filling in",
    "cmd.help": "Show the commands you can use",
    "cmd.mytickets": "Open tickets of your station or area",
    "cmd.ticket": "One ticket's details and history",
    "cmd.leave": "Leave: end your enrolment and referrals",
    "cmd.overdue": "Overdue tickets, by level",
    "cmd.open": "Open tickets in your area, oldest first",
    "cmd.stats": "Statistics: received, signed for on time, resolved, overdue",
    "cmd.reassign": "Re-dispatch a ticket to another township station",
    "cmd.dashboard": "Sign in to the web dashboard",
    "cmd.console": "Sign in to the web console to enter calls",
    "cmd.arg.code": "CODE",
    "cmd.arg.period": "[today|week|month]",
    "help.title": "<b>How to use</b>",
    "help.station": "<b>Station staff</b>",
    "help.supervisor": "<b>Supervisors</b>",
    "help.operator": "<b>Hotline operators</b>",
    "help.group": "<b>Commands in this group</b> (the station's staff)",
    "help.group.private": "Everything else: in your private chat with the bot.",
    "help.danger": "If a child is in danger now, call 110 (police) or 120 (ambulance).",
    # policy questions, 政策咨询 (issue 12, item 7): flows.faq, flows.faq_steps
    "btn.faq": "📖 Policy questions",
    "btn.faq.topics": "📋 All questions",
    "btn.faq.menu": "🏠 Main menu",
    "faq.prompt": "<b>Policy questions</b>\nType what you want to know (e.g. \u201cleft-behind children\u201d, \u201capply for the allowance\u201d), or press \u201cAll questions\u201d.",
    "faq.topics": "<b>Policy questions</b> (page {page}/{pages})\nPress a question to read the answer, or type what you want to know, e.g. \u201cleft-behind children\u201d or \u201capply for the allowance\u201d.",
    "faq.found": "These questions may be what you asked about; press one to read it:",
    "faq.not_found": "No answer was found for your question. Try other words, or look through the questions below; you can also call 12355, the youth helpline.",
    "faq.gone": "That question was updated or withdrawn; please choose again below.",
    "faq.empty": "Policy questions are not available yet: no answers have been added here.\nIf you have a question, call 12355 (youth helpline) or contact the minors' protection workstation of your township (sub-district).",
    "faq.answer": "<b>{question}</b>\n\n{answer}",
    "faq.source": "Source: {title}, {date}",
    "faq.date": "{y}/{m}/{d}",
    "faq.link": "Full text: {url}",
    "faq.chinese_only": "(This answer is available in Chinese only.)",
    "faq.station": "📍 For the conditions in your case or to apply, contact <b>{station}</b> (the station handling the report you filed here), or call 12355, the youth helpline.",
    "faq.station_phone": "📍 For the conditions in your case or to apply, contact <b>{station}</b> (the station handling the report you filed here), phone {phone}; or call 12355, the youth helpline.",
    "faq.station_any": "📍 For the conditions in your case or to apply, contact the minors' protection workstation (未成年人保护工作站) of your township or sub-district, or the children's director (儿童主任) of your village or residents' committee; or call 12355, the youth helpline.",
    # one child, one ticket: possible duplicates, merging and its undoing (issue 12, item 8)
    "referral.duplicate": "⚠️ Possible duplicate: of <code>{code}</code> (filed {at})",
    "referral.duplicate.urgent": "This report is more urgent than that one and cannot be "
    "merged into it: work it on its own deadlines.",
    "referral.merged": "🔗 Merged into <code>{code}</code> (filed {at}); its deadlines apply.",
    "btn.merge": "🔗 Merge",
    "btn.unmerge": "↩️ Un-merge {code}",
    "merge.ok": "Merged: <code>{code}</code> into <code>{into}</code>, whose deadlines apply; "
    "every reporter hears what happens next on <code>{into}</code>.",
    "merge.already": "This report is already merged into <code>{into}</code>.",
    "merge.none": "There is no ticket to merge this report into (the button is out of date).",
    "merge.not_open": "<code>{into}</code> is now “{state}”: nothing can be merged into it.",
    "merge.more_urgent": "This report is more urgent than <code>{into}</code> and cannot be "
    "merged into it: work it on its own deadlines.",
    "unmerge.usage": "Usage: /unmerge CODE (the code of the merged report)",
    "unmerge.not_merged": "Ticket <code>{code}</code> is not merged.",
    "unmerge.ok": "Un-merged: <code>{code}</code> is worked on its own again, now “{state}”; "
    "next deadline: {due}.",
    "notify.unmerged": "↩️ <b>Un-merged <code>{code}</code></b>\nA supervisor undid its merge "
    "into <code>{into}</code>: work it on its own.\nNow: {state}\nNext deadline: {due}",
    "ticket.merged_reports": "<b>Reports merged into this one</b>",
    "ticket.merged_report": "<code>{code}</code> · filed {at}\nReporter: {reporter}\n"
    "Concerns: {concerns}\nChild: {age}, {sex}\nWhat happened: {story}\nAttachments: {files}",
    "event.duplicate_suspected": "possible duplicate",
    "event.merged": "merged into another ticket",
    "event.merged_in": "a report merged into it",
    "event.unmerged": "merge undone",
    "event.unmerged_out": "merge undone: a report taken out",
    "reporter.merged": "Your report <code>{code}</code> is about the same child as another "
    "report, so the workstation is handling the two together. Where it stands now: {state}. "
    "We will keep telling you what happens, and /status {code} shows it too.",
    "you:reporter.merged": "Your call for help <code>{code}</code> is about the same thing as "
    "another report, so the workstation is handling them together. Where it stands now: "
    "{state}. We will tell you what happens next; /status {code} shows it too.",
    "reporter.unmerged": "Your report <code>{code}</code> turned out not to be about the same "
    "child as the other report: {station} is now handling it on its own. Where it stands: "
    "{state}. /status {code} shows it.",
    "you:reporter.unmerged": "Your call for help <code>{code}</code> is now handled on its own "
    "by {station}. Where it stands: {state}. /status {code} shows it.",
    "status.together": "Where the reports handled together stand: {state}",
    "btn.files_of": "📎 {code}'s attachments ({n})",
    "cmd.unmerge": "Un-merge: a merged report worked on its own again",
}

# Texts whose Traditional form is not the conversion of the Simplified one.
ZH_HANT_OWN: dict[str, str] = {
    "language.set": "已切換為繁體中文。",
}
ZH_HANT: dict[str, str] = {**hant.derive(ZH), **ZH_HANT_OWN}

CATALOGUES: Final[dict[str, dict[str, str]]] = {"zh": ZH, "zh-Hant": ZH_HANT, "en": EN}
# Texts that count something, and the value that counts: a catalogue may hold "KEY#one" (and
# other CLDR plural categories) beside "KEY" for the forms its language needs.
PLURAL_BY: Final = {
    "flood.quota": "n",
    "signin.link": "minutes",
    "work.ask_ext_reason": "days",
    "work.ext_approved": "days",
    "notify.extension": "days",
    "digest.title": "count",
}
# The language menu: each locale named in its own script.
LANGUAGE_NAMES: Final = {"zh": "简体中文", "zh-Hant": "繁體中文", "en": "English"}


def normalise_locale(locale: str | None) -> str:
    return locale if locale in CATALOGUES else DEFAULT_LOCALE


def guess_locale(app_language: str | None) -> str:
    """Simplified Chinese unless the person's app is set to English or Traditional Chinese."""
    code = (app_language or "").lower().replace("_", "-")
    if code.startswith("en"):
        return "en"
    if code in _HANT_CODES or code.startswith("zh-hant"):
        return "zh-Hant"
    return DEFAULT_LOCALE


def voiced(key: str, *, child: bool) -> str:
    """The key to say ``key`` with: its second-person, gentler variant ("you:KEY") when the
    reader is the child the report is about and the catalogue has one."""
    return f"you:{key}" if child and f"you:{key}" in ZH else key


def local_name(locale: str, name: str) -> str:
    """A place's or station's name (kept in Simplified in the directory) as this reader
    writes it: converted for Traditional readers, the same for everyone else."""
    return hant.to_hant(name) if normalise_locale(locale) == "zh-Hant" else name


def t(locale: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``locale`` (falling back to Chinese), values HTML-escaped."""
    return render(locale, key, values)


def phrase(key: str, **values: object) -> dict[str, Any]:
    """A catalogue text named in a stored message (a notice for several readers), rendered
    in each reader's own language when it is sent: a priority's label, a queue's name."""
    return {"t": key, "v": values}


def render(locale: str, key: str, values: Mapping[str, object]) -> str:
    """The text for ``key`` with stored values: a plain value is escaped exactly once, a
    ``phrase`` is rendered in this locale (its own values escaped once) and set in as is."""
    locale = normalise_locale(locale)
    catalogue = CATALOGUES[locale]
    template = catalogue.get(key) or ZH[key]
    counted = PLURAL_BY.get(key)
    if counted is not None and counted in values:
        # "1 overdue ticket", "2 overdue tickets": the variant for the count's CLDR plural
        # category ("one", "few", ...) if the catalogue has one, else the plain text.
        form = Locale.parse(BABEL_LOCALES[locale]).plural_form(_number(values[counted]))
        template = catalogue.get(f"{key}#{form}") or template
    if not values:
        return template
    return template.format(**{k: _value(locale, v) for k, v in values.items()})


def _number(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return 0.0


def _value(locale: str, value: object) -> str:
    if isinstance(value, dict) and "t" in value:
        return render(locale, str(value["t"]), value.get("v") or {})
    return html.escape(str(value), quote=False)


def duration(locale: str, minutes: float) -> str:
    """A deadline window in words, in the largest whole unit: 15 分钟, 2 hours, 1 day,
    3 日 (Babel's CLDR unit words, so "1 day" but "2 days")."""
    if minutes != int(minutes):
        return _unit(locale, minutes, "minute")
    minutes = int(minutes)
    if minutes % 1440 == 0:
        return _unit(locale, minutes // 1440, "day")
    if minutes % 60 == 0:
        return _unit(locale, minutes // 60, "hour")
    return _unit(locale, minutes, "minute")


def days(locale: str, n: int) -> str:
    """A number of days in words: 3 天, 1 day."""
    return _unit(locale, n, "day")


def _unit(locale: str, n: float, unit: str) -> str:
    babel_locale = BABEL_LOCALES[normalise_locale(locale)]
    return format_unit(n, f"duration-{unit}", locale=babel_locale, length="long")
