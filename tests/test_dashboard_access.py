"""Getting into the dashboard: one-time links, /weblogin, passwords, sessions, CSRF, roles."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.runtime import Runtime
from handlers.dashboard import make_link
from models.audit import AuditLog
from models.base import utcnow
from models.dashboard import WebLoginLink, WebSession
from models.members import Member, Role
from tests.dashboard_support import (
    Browser,
    admin_account,
    board,
    browser,
    eventually,
    member_account,
    second_browser,
    secretariat,
    text_of,
)
from tests.factories import make_member
from tests.harness import RunningBot

__all__ = ["board", "browser", "second_browser", "secretariat"]  # fixtures used here

PAGES = ["/admin", "/admin/members", "/admin/audit", "/admin/simulator", "/admin/account"]


def cli_args(**values: object) -> argparse.Namespace:
    defaults: dict[str, object] = {
        "member": None, "phone": None, "name": "admin", "role": "secretariat", "minutes": 30,
    }  # fmt: skip
    defaults.update(values)
    return argparse.Namespace(**defaults)


async def actions(rt: Runtime) -> list[str]:
    async with rt.db.session() as session:
        return list((await session.execute(select(AuditLog.action))).scalars())


async def test_fresh_install_first_login_with_the_cli_link(rt: Runtime, browser: Browser) -> None:
    url = await make_link(rt.settings, cli_args())
    assert "/admin/link/" in url
    # Opening the link only asks to confirm: a link preview must not spend it.
    page = await browser.get(url[url.index("/admin/") :])
    assert page.status_code == 200
    assert "admin" in text_of(page)
    signed_in = await browser.post(url[url.index("/admin/") :])
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/admin"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/admin" in cookie
    overview = await browser.get("/admin")
    assert overview.status_code == 200
    assert "მიმოხილვა" in text_of(overview)  # Georgian by default
    assert {"web.link_issued", "web.login"} <= set(await actions(rt))


async def test_a_link_works_once(rt: Runtime, browser: Browser, second_browser: Browser) -> None:
    url = await make_link(rt.settings, cli_args())
    assert (await browser.open_link(url)).status_code == 303
    path = url[url.index("/admin/") :]
    again = await second_browser.get(path)
    assert again.status_code == 410
    assert "უკვე გამოყენებულია" in text_of(again)
    assert (await second_browser.post(path)).status_code == 410


async def test_an_expired_link_is_refused(rt: Runtime, browser: Browser) -> None:
    url = await make_link(rt.settings, cli_args())
    async with rt.db.session() as session:
        await session.execute(
            update(WebLoginLink).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    page = await browser.get(url[url.index("/admin/") :])
    assert page.status_code == 410
    assert (await browser.post(url[url.index("/admin/") :])).status_code == 410


async def test_secretariat_gets_a_weblogin_link_in_telegram(bot: RunningBot) -> None:
    nino = bot.tg.user(first_name="Nino")
    async with bot.rt.db.session() as session:
        await make_member(session, telegram=nino.id, role=Role.SECRETARIAT, name="ნინო")
    await nino.send("/weblogin")
    message = await nino.reply()
    assert "10" in message.text and "/admin/link/" in message.text
    url = message.text.split("http", 1)[1].split()[0]
    assert url.startswith("://127.0.0.1")
    import httpx

    async with httpx.AsyncClient(base_url=bot.base_url) as client:
        web = Browser(client)
        assert (await web.open_link("http" + url)).status_code == 303
        overview = await web.get("/admin")
        assert "ნინო" in text_of(overview)


async def test_an_ordinary_member_cannot_ask_for_a_link(bot: RunningBot) -> None:
    villager = bot.tg.user()
    async with bot.rt.db.session() as session:
        await make_member(session, telegram=villager.id)
    await villager.send("/weblogin")
    answer = await villager.reply()
    assert "/admin/link/" not in answer.text

    async def refused() -> list[str]:
        async with bot.rt.db.session() as session:
            rows = await session.execute(
                select(AuditLog.target).where(AuditLog.action == "access.refused")
            )
            return list(rows.scalars())

    assert await eventually(refused) == ["/weblogin"]


async def test_signed_out_visitors_are_sent_to_the_login_page(browser: Browser) -> None:
    for path in [*PAGES, "/admin/members/1", "/admin/members.csv"]:
        response = await browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/login?next=")
    refused = await browser.post("/admin/simulator/wipe", {"csrf": "x"})
    assert refused.status_code == 403


async def test_board_reads_but_cannot_change(rt: Runtime, board: Browser) -> None:
    async with rt.db.session() as session:
        member = await make_member(session, name="Giorgi")
    for path in ["/admin", "/admin/members", f"/admin/members/{member.id}", "/admin/audit"]:
        page = await board.get(path)
        assert page.status_code == 200, path
        assert "მხოლოდ ნახვის" in text_of(page)
    for path in ["/admin/members.csv", "/admin/simulator", f"/admin/members/{member.id}/edit"]:
        assert (await board.get(path)).status_code == 403, path
    await board.get("/admin/account")
    changed = await board.post(f"/admin/members/{member.id}/role", {"role": "secretariat"})
    assert changed.status_code == 403
    async with rt.db.session() as session:
        fresh = await session.get(Member, member.id)
        assert fresh is not None and fresh.role == Role.MEMBER
        refused = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "access.refused")))
            .scalars()
            .all()
        )
    assert {r.target for r in refused} >= {
        "GET /admin/members.csv",
        f"POST /admin/members/{member.id}/role",
    }


async def test_forms_without_the_right_token_change_nothing(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        member = await make_member(session, name="Giorgi")
    target = f"/admin/members/{member.id}/role"
    assert (await secretariat.post(target, {"role": "board"}, csrf="")).status_code == 403
    assert (await secretariat.post(target, {"role": "board"}, csrf="forged")).status_code == 403
    foreign = await secretariat.post(
        target, {"role": "board"}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    async with rt.db.session() as session:
        fresh = await session.get(Member, member.id)
        assert fresh is not None and fresh.role == Role.MEMBER
    assert (await secretariat.post(target, {"role": "board"})).status_code == 303


async def test_a_member_demoted_in_the_bot_loses_the_dashboard(
    rt: Runtime, browser: Browser
) -> None:
    async with rt.db.session() as session:
        member = await make_member(session, role=Role.SECRETARIAT, name="Tamar")
    await browser.sign_in(rt, await member_account(rt, member))
    assert (await browser.get("/admin")).status_code == 200
    async with rt.db.session() as session:
        await session.execute(
            update(Member).where(col(Member.id) == member.id).values(role=Role.MEMBER)
        )
    assert (await browser.get("/admin")).status_code == 303


async def test_logout_ends_the_session(rt: Runtime, secretariat: Browser) -> None:
    out = await secretariat.post("/admin/logout")
    assert out.status_code == 303 and out.headers["location"] == "/admin/login"
    assert (await secretariat.get("/admin")).status_code == 303
    assert "web.logout" in await actions(rt)


async def test_an_idle_session_expires(rt: Runtime, secretariat: Browser) -> None:
    async with rt.db.session() as session:
        await session.execute(
            update(WebSession).values(last_seen_at=utcnow() - timedelta(hours=13))
        )
    response = await secretariat.get("/admin/members")
    assert response.status_code == 303
    assert "expired=1" in response.headers["location"]
    login = await secretariat.get(response.headers["location"])
    assert "ამოიწურა" in text_of(login)


async def test_password_login_after_setting_one(
    rt: Runtime, secretariat: Browser, second_browser: Browser
) -> None:
    await secretariat.get("/admin/account")
    short = await secretariat.post(
        "/admin/account/password", {"login": "nino", "password": "short", "confirm": "short"}
    )
    assert short.status_code == 400
    assert "მინიმუმ 10" in text_of(short)
    assert 'value="nino"' in short.text  # what was typed is kept
    saved = await secretariat.post(
        "/admin/account/password",
        {"login": "Nino", "password": "lagodekhi-2026", "confirm": "lagodekhi-2026"},
    )
    assert saved.status_code == 303
    await second_browser.get("/admin/login")
    wrong = await second_browser.post(
        "/admin/login", {"login": "nino", "password": "nope-nope-nope"}
    )
    assert wrong.status_code == 400 and "არასწორია" in text_of(wrong)
    right = await second_browser.post(
        "/admin/login", {"login": "nino", "password": "lagodekhi-2026", "next": "/admin/audit"}
    )
    assert right.status_code == 303 and right.headers["location"] == "/admin/audit"
    assert (await second_browser.get("/admin/audit")).status_code == 200
    assert "web.password_set" in await actions(rt)


async def test_password_login_is_rate_limited(
    rt: Runtime, secretariat: Browser, second_browser: Browser
) -> None:
    await secretariat.get("/admin/account")
    await secretariat.post(
        "/admin/account/password",
        {"login": "nino", "password": "lagodekhi-2026", "confirm": "lagodekhi-2026"},
    )
    await second_browser.get("/admin/login")
    for _ in range(5):
        wrong = await second_browser.post(
            "/admin/login", {"login": "nino", "password": "guess-guess"}
        )
        assert wrong.status_code == 400
    blocked = await second_browser.post(
        "/admin/login", {"login": "nino", "password": "lagodekhi-2026"}
    )
    assert blocked.status_code == 429
    assert "15 წუთში" in text_of(blocked)


async def test_login_form_needs_its_token(browser: Browser) -> None:
    await browser.get("/admin/login")
    refused = await browser.post("/admin/login", {"login": "x", "password": "y"}, csrf="bad")
    assert refused.status_code == 403


async def test_english_is_one_click_away(rt: Runtime, secretariat: Browser) -> None:
    switched = await secretariat.post(
        "/admin/language", {"language": "en", "next": "/admin/members"}
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/admin/members"
    page = await secretariat.get("/admin/members")
    assert "Members" in text_of(page) and "Export CSV" in text_of(page)


async def test_pages_carry_security_headers(secretariat: Browser) -> None:
    page = await secretariat.get("/admin")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


async def test_sign_out_everywhere_else(
    rt: Runtime, browser: Browser, second_browser: Browser
) -> None:
    account = await admin_account(rt)
    await browser.sign_in(rt, account)
    await second_browser.sign_in(rt, account)
    await browser.get("/admin/account")
    assert (await browser.post("/admin/account/signout-others")).status_code == 303
    assert (await second_browser.get("/admin")).status_code == 303
    assert (await browser.get("/admin")).status_code == 200


async def test_the_secretariat_disables_an_account_and_its_sessions_end(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    listing = text_of(await secretariat.get("/admin/accounts"))
    assert "Board" in listing and "Secretariat" in listing
    assert (await board.get("/admin/accounts")).status_code == 403
    async with rt.db.session() as session:
        from models.dashboard import WebAccount

        board_id = (
            await session.execute(select(WebAccount.id).where(WebAccount.name == "Board"))
        ).scalar_one()
    done = await secretariat.post(f"/admin/accounts/{board_id}/toggle")
    assert done.headers["location"] == "/admin/accounts?done=disabled"
    assert (await board.get("/admin")).status_code == 303  # signed out at once
    assert "web.account_disabled" in await actions(rt)
    with pytest.raises(SystemExit, match="disabled"):  # and no new link for it either
        await make_link(rt.settings, cli_args(name="Board", role="board"))
