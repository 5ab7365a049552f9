"""The web intake (/report) and status page (/status): server-rendered, CSRF-protected,
limited per client address; every bad form is shown again with its answers, files nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from factories import JIEKOU
from sqlmodel import col, select

from flows import hant
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from handlers.web.api.context import Api
from handlers.web.app import init_app
from handlers.web.pages.csrf import COOKIE
from storage.db import Database
from storage.models import TEXT_MAX, Ticket

FORM: dict[str, Any] = {
    "danger": "no",
    "reporter": "neighbour",
    "place": "从化区街口街道",
    "age": "6-11",
    "sex": "f",
    "concerns": ["no_carer"],
    "story": "孩子三天没有人照顾了",
    "phone": "",
}


@pytest.fixture
async def client(aiohttp_client: Any, db: Database, directory: Directory, clock: Any) -> Any:
    api = Api(directory=directory, policy=DEFAULT_POLICY)
    return await aiohttp_client(init_app(db=db, clock=clock, api=api))


async def tickets(db: Database) -> list[Ticket]:
    async with db.unit() as session:
        return list((await session.exec(select(Ticket).order_by(col(Ticket.id)))).all())


async def open_form(client: Any, lang: str = "zh") -> tuple[str, str]:
    """The page's CSRF token and submission id (the cookie stays in the client's jar)."""
    resp = await client.get(f"/report?lang={lang}")
    assert resp.status == 200
    html = await resp.text()
    token = re.search(r'name="csrf" value="([^"]+)"', html)
    submission = re.search(r'name="submission" value="([0-9a-f]{32})"', html)
    assert token and submission
    return token.group(1), submission.group(1)


def form_data(token: str, submission: str, **changes: Any) -> list[tuple[str, str]]:
    fields = {**FORM, **changes, "csrf": token, "submission": submission}
    data: list[tuple[str, str]] = []
    for name, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            data.append((name, v))
    return data


async def send(client: Any, **changes: Any) -> Any:
    token, submission = await open_form(client)
    return await client.post(
        "/report", data=form_data(token, submission, **changes), allow_redirects=False
    )


async def test_the_form_says_where_to_call_and_protects_itself(client: Any) -> None:
    resp = await client.get("/report")
    html = await resp.text()
    assert "110" in html and "12355" in html and "<script" not in html
    assert "孩子现在有危险吗" in html and "我就是这个孩子" in html
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    cookie = resp.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    english = await (await client.get("/report?lang=en")).text()
    assert "Is the child in danger right now?" in english and 'lang="en"' in english


async def test_a_filed_form_gives_the_code_and_the_way_to_follow_it(
    client: Any, db: Database
) -> None:
    resp = await send(client)
    assert resp.status == 303
    location = resp.headers["Location"]
    assert location.startswith("/report/filed?code=")
    [ticket] = await tickets(db)
    assert (ticket.reporter_channel, ticket.station_code, ticket.priority) == ("web", JIEKOU, "P1")
    page = await (await client.get(location)).text()
    assert ticket.code in page and f"/status?code={ticket.code}" in page
    status = await client.get(f"/status?code={ticket.code}")
    assert status.status == 200
    assert "已转给工作站，等待受理" in await status.text()


async def test_a_form_sent_twice_files_one_ticket(client: Any, db: Database) -> None:
    token, submission = await open_form(client)
    for _ in range(2):
        resp = await client.post(
            "/report", data=form_data(token, submission), allow_redirects=False
        )
        assert resp.status == 303
    assert len(await tickets(db)) == 1


async def test_without_the_csrf_token_nothing_is_filed_and_answers_are_kept(
    client: Any, db: Database
) -> None:
    _, submission = await open_form(client)
    data = [(k, v) for k, v in form_data("forged", submission) if k != "csrf"]
    resp = await client.post("/report", data=[*data, ("csrf", "x" * 43)], allow_redirects=False)
    assert resp.status == 403
    html = await resp.text()
    assert "页面已过期" in html and FORM["story"] in html
    assert await tickets(db) == []
    client.session.cookie_jar.clear()  # a cross-site post: the browser sends no cookie
    resp = await client.post("/report", data=form_data("x" * 43, submission), allow_redirects=False)
    assert resp.status == 403 and await tickets(db) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"danger": ""}, "danger"),
        ({"reporter": "alien"}, "reporter"),
        ({"place": ""}, "place"),
        ({"story": "长" * (TEXT_MAX + 1)}, "story"),
        ({"phone": "call me"}, "phone"),
        ({"concerns": ["aliens"]}, "concerns"),
        ({"age": "100"}, "age"),
    ],
)
async def test_a_wrong_answer_shows_the_form_again_and_files_nothing(
    client: Any, db: Database, changes: dict[str, Any], field: str
) -> None:
    resp = await send(client, **changes)
    assert resp.status == 422
    html = await resp.text()
    assert f'id="err-{field}"' in html
    assert await tickets(db) == []


async def test_what_was_typed_is_shown_escaped(client: Any, db: Database) -> None:
    story = '<script>alert("x")</script> & <b>'
    resp = await send(client, danger="", story=story)
    html = await resp.text()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;" in html


async def test_words_naming_several_stations_offer_a_choice(client: Any, db: Database) -> None:
    token, submission = await open_form(client)
    resp = await client.post(
        "/report", data=form_data(token, submission, place="新城社区"), allow_redirects=False
    )
    assert resp.status == 422
    html = await resp.text()
    codes = re.findall(r'name="place_code" value="([0-9]{12})"', html)
    assert "440117001001" in codes and len(codes) > 1
    data = [*form_data(token, submission, place="新城社区"), ("place_code", "440117001001")]
    resp = await client.post("/report", data=data, allow_redirects=False)
    assert resp.status == 303
    [ticket] = await tickets(db)
    assert ticket.station_code == JIEKOU and ticket.place_code == "440117001001"


async def test_forms_are_limited_per_client_address(client: Any, db: Database) -> None:
    statuses = [(await send(client)).status for _ in range(6)]
    assert statuses == [303] * 5 + [429]
    assert len(await tickets(db)) == 5


async def test_status_of_an_unknown_code_says_so(client: Any) -> None:
    resp = await client.get("/status?code=ZZZZZZZZ&lang=en")
    assert resp.status == 404
    assert "No report has this code." in await resp.text()
    assert (await client.get("/status")).status == 200
    assert (await client.get("/status?code=%3Cscript%3E")).status == 404


async def test_every_way_to_a_status_counts_against_the_address(client: Any) -> None:
    """The receipt page shows a status too: it must not be a way around the limit."""
    statuses = []
    for i in range(21):
        path = "/report/filed?code=ZZZZZZZZ" if i % 2 else "/status?code=ZZZZZZZZ"
        statuses.append((await client.get(path, allow_redirects=False)).status)
    assert statuses[:20] == [404 if i % 2 == 0 else 303 for i in range(20)]
    assert (await client.get("/status?code=ZZZZZZZZ")).status == 429


def visible_text(html: str) -> str:
    """What a reader sees in the page's language: no tags, no style sheet, not the links to
    the other languages (each named in its own script)."""
    html = re.sub(r"<style.*?</style>|<nav class=\"languages\">.*?</nav>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


async def test_the_form_and_its_receipt_come_in_traditional_chinese(
    client: Any, db: Database
) -> None:
    resp = await client.get("/report?lang=zh-Hant")
    html = await resp.text()
    assert 'lang="zh-Hant"' in html and "孩子現在有危險嗎" in html
    assert hant.simplified_only(visible_text(html)) == set()
    # The other two languages are offered, each named in its own script.
    assert 'href="/report?lang=zh" hreflang="zh-CN" lang="zh-CN">简体中文</a>' in html
    assert 'href="/report?lang=en" hreflang="en" lang="en">English</a>' in html

    token, submission = await open_form(client, "zh-Hant")
    sent = await client.post(
        "/report?lang=zh-Hant",
        data=[*form_data(token, submission), ("lang", "zh-Hant")],
        allow_redirects=False,
    )
    assert sent.status == 303 and sent.headers["Location"].endswith("&lang=zh-Hant")
    [ticket] = await tickets(db)
    assert ticket.locale == "zh-Hant"
    page = visible_text(await (await client.get(sent.headers["Location"])).text())
    assert "從化區街口街道未成年人保護工作站" in page  # the station's name, converted
    assert hant.simplified_only(page) == set()
