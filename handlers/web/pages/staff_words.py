"""Words of the staff pages' frame and of signing in (zh, en). The console and the
dashboard keep their own words beside them."""

from __future__ import annotations

from typing import Final

WORDS: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "site": "护童之声 · 工作人员",
        "language": "English",
        "signin.title": "登录",
        "signin.lead": "请在机器人里发送 /dashboard（督导）或 /console（热线接线员）获取一次性登录"
        "链接。",
        "signin.link": "点击下面的按钮登录。这个链接只能用一次。",
        "signin.button": "登录",
        "signin.token": "或使用 API 令牌登录",
        "signin.token.label": "API 令牌",
        "signin.failed": "登录链接无效、已过期或已经用过。请在机器人里重新获取。",
        "signin.token_failed": "令牌无效或已停用。",
        "signin.not_yours": "网页端只供督导和热线接线员使用。站点工作人员请在机器人里处理工单。",
        "signin.expired": "页面已过期，请再试一次。",
        "signin.busy": "尝试次数太多，请 {minutes} 分钟后再试。",
        "signout": "退出登录",
        "signed_in_as": "{role} · {scope}",
        "role.supervisor": "督导",
        "role.operator": "热线接线员",
        "wrong_role.title": "无权访问",
        "wrong_role": "这个页面不对您的角色开放。",
        "wrong_role.home": "回到我的页面",
    },
    "en": {
        "site": "Hutong · Staff",
        "language": "中文",
        "signin.title": "Sign in",
        "signin.lead": "Send /dashboard (supervisors) or /console (hotline operators) to the bot "
        "for a one-time sign-in link.",
        "signin.link": "Press the button to sign in. This link works once.",
        "signin.button": "Sign in",
        "signin.token": "Or sign in with an API token",
        "signin.token.label": "API token",
        "signin.failed": "The sign-in link is invalid, expired or used. Ask the bot for a new one.",
        "signin.token_failed": "The token is invalid or revoked.",
        "signin.not_yours": "The web pages are for supervisors and hotline operators. Station "
        "staff work their tickets in the bot.",
        "signin.expired": "The page expired; please try again.",
        "signin.busy": "Too many attempts; try again in {minutes} minutes.",
        "signout": "Sign out",
        "signed_in_as": "{role} · {scope}",
        "role.supervisor": "Supervisor",
        "role.operator": "Hotline operator",
        "wrong_role.title": "Not for you",
        "wrong_role": "This page is not open to your role.",
        "wrong_role.home": "Back to my page",
    },
}
