"""Helpers for the dashboard's tests: a browser-like HTTP client that keeps cookies and
fills in the CSRF token the page gave it, and ways to sign in as secretariat or board."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from bot.runtime import Runtime
from bot.web import build_asgi
from models.dashboard import WebAccount, account_for_member, issue_login_link, standalone_account
from models.members import Member

T = TypeVar("T")
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """Cookies across requests, and every form posted with the token of the last page seen."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""
        self.last: httpx.Response | None = None

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.get(url, **kwargs)
        found = CSRF_RE.search(response.text)
        if found:
            self.csrf = html.unescape(found.group(1))
        self.last = response
        return response

    async def post(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        csrf: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        form = dict(data or {})
        form.setdefault("csrf", self.csrf if csrf is None else csrf)
        response = await self.client.post(url, data=form, **kwargs)
        found = CSRF_RE.search(response.text)
        if found:
            self.csrf = html.unescape(found.group(1))
        self.last = response
        return response

    async def open_link(self, url: str) -> httpx.Response:
        """What a person does with a one-time link: open it, then press "Sign in"."""
        path = url[url.index("/admin/") :]
        page = await self.get(path)
        assert page.status_code == 200, page.text
        return await self.post(path)

    async def sign_in(self, rt: Runtime, account: WebAccount) -> None:
        async with rt.db.session() as session:
            fresh = await session.get(WebAccount, account.id)
            assert fresh is not None
            token = await issue_login_link(session=session, account=fresh, via="cli")
        response = await self.open_link(f"http://testserver/admin/link/{token}")
        assert response.status_code == 303, response.text
        await self.get("/admin")


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 3.0) -> T:
    """The first truthy result of `check`, polling (work done after a reply was sent)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.05)


def text_of(response: httpx.Response) -> str:
    """The page's visible text, roughly (tags dropped, entities decoded, spaces folded)."""
    no_tags = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.text, flags=re.S)
    no_tags = re.sub(r"<[^>]+>", " ", no_tags)
    return re.sub(r"\s+", " ", html.unescape(no_tags)).strip()


def browser_for(rt: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=build_asgi(rt)), base_url="http://testserver"
    )


@pytest.fixture
async def browser(rt: Runtime) -> AsyncIterator[Browser]:
    async with browser_for(rt) as client:
        yield Browser(client)


@pytest.fixture
async def second_browser(rt: Runtime) -> AsyncIterator[Browser]:
    async with browser_for(rt) as client:
        yield Browser(client)


async def admin_account(
    rt: Runtime, name: str = "Secretariat", role: str = "secretariat"
) -> WebAccount:
    async with rt.db.session() as session:
        return await standalone_account(session=session, name=name, role=role)


async def member_account(rt: Runtime, member: Member) -> WebAccount:
    async with rt.db.session() as session:
        fresh = await session.get(Member, member.id)
        assert fresh is not None
        return await account_for_member(session=session, member=fresh)


@pytest.fixture
async def secretariat(rt: Runtime, browser: Browser) -> Browser:
    """A browser signed in as a stand-alone secretariat account."""
    await browser.sign_in(rt, await admin_account(rt))
    return browser


@pytest.fixture
async def board(rt: Runtime, second_browser: Browser) -> Browser:
    """A browser signed in as a read-only board account."""
    await second_browser.sign_in(rt, await admin_account(rt, "Board", "board"))
    return second_browser
