"""A running lagbot, in this test's event loop, wired to the fake Telegram and Twilio servers.

async with running_bot(db_url) as bot:
    user = bot.tg.user(language_code="ka")
    await user.send("/start")
    reply = await user.reply()
    answers = await bot.sms("+995599123456", "HELP")

With `running_bot(db_url, gateway=True)` the fake SMS Gateway for Android phone is wired in
too: `bot.gw` is the fake, and `await bot.gateway_sms(phone, text)` texts the local SIM
(a signed `sms:received` webhook) and returns the replies the phone sent back.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from bot.runner import _Server, _start_telegram, _stop_telegram
from bot.runtime import Runtime
from bot.settings import Settings
from bot.web import build_asgi
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

LAG_NUMBER = "+995322000000"  # the LAG's own number, as Twilio's `To`
TEST_TOKEN = "123456:TEST-token-for-lagbot"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningBot:
    rt: Runtime
    tg: FakeTelegram
    tw: FakeTwilio
    base_url: str
    gateway: FakeSmsGateway | None = None

    @property
    def gw(self) -> FakeSmsGateway:
        assert self.gateway is not None, "start the bot with running_bot(db_url, gateway=True)"
        return self.gateway

    @property
    def settings(self) -> Settings:
        return self.rt.settings

    async def sms(
        self, phone: str, text: str, *, expect: int = 1, timeout: float = 5.0, **kwargs: Any
    ) -> list[str]:
        """A villager texts the bot (signed like Twilio); returns the `expect` new SMS replies."""
        before = len(self.tw.messages_to(phone))
        response = await self.tw.send_inbound(
            self.base_url + "/sms/inbound", from_=phone, to=LAG_NUMBER, body=text, **kwargs
        )
        assert response.status_code == 200, response.text
        if expect == 0:
            await asyncio.sleep(0.2)
            return [m.body for m in self.tw.messages_to(phone)[before:]]
        return (await self.sms_replies(phone, before + expect, timeout=timeout))[before:]

    async def sms_replies(self, phone: str, count: int, *, timeout: float = 5.0) -> list[str]:
        """Wait until `count` SMS in all went to `phone`; returns all of their bodies."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            bodies = [m.body for m in self.tw.messages_to(phone)]
            if len(bodies) >= count:
                return bodies
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} SMS to {phone}, got {bodies!r}")
            self.rt.delivery.wake("sms")
            await asyncio.sleep(0.02)

    async def sms_inbox(self, phone: str) -> list[str]:
        return [m.body for m in self.tw.messages_to(phone)]

    async def gateway_sms(
        self, phone: str, text: str, *, expect: int = 1, timeout: float = 5.0, **kwargs: Any
    ) -> list[str]:
        """A villager texts the local SIM; returns the `expect` new SMS the phone sent back."""
        before = len(self.gw.messages_to(phone))
        responses = await self.gw.receive_sms(phone, text, **kwargs)
        assert responses, "no sms:received webhook is registered with the fake phone"
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
        if expect == 0:
            await asyncio.sleep(0.2)
            return [m.text or "" for m in self.gw.messages_to(phone)[before:]]
        return (await self.gateway_replies(phone, before + expect, timeout=timeout))[before:]

    async def gateway_replies(self, phone: str, count: int, *, timeout: float = 5.0) -> list[str]:
        """Wait until `count` SMS in all went to `phone` through the phone; all their texts."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            texts = [m.text or "" for m in self.gw.messages_to(phone)]
            if len(texts) >= count:
                return texts
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} SMS to {phone} via the phone: {texts!r}")
            self.rt.delivery.wake("sms")
            await asyncio.sleep(0.02)


def bot_settings(
    db_url: str, tg: FakeTelegram, tw: FakeTwilio, port: int, **extra: Any
) -> Settings:
    from tests.conftest import make_settings

    values: dict[str, Any] = {
        "telegram_bot_token": tg.token,
        "telegram_api_base_url": tg.base_url,
        "twilio_account_sid": tw.account_sid,
        "twilio_auth_token": tw.auth_token,
        "twilio_from": "LAG",
        "twilio_api_base_url": tw.base_url,
        "public_base_url": f"http://127.0.0.1:{port}",
        "http_port": port,
        "telegram_poll_timeout": 1,
    }
    values.update(extra)
    return make_settings(db_url, **values)


def gateway_settings(gw: FakeSmsGateway) -> dict[str, Any]:
    return {
        "sms_gateway_url": gw.base_url,
        "sms_gateway_username": gw.username,
        "sms_gateway_password": gw.password,
        "sms_gateway_signing_key": gw.signing_key,
    }


@contextlib.asynccontextmanager
async def running_bot(
    db_url: str, *, gateway: bool | FakeSmsGateway = False, **settings_overrides: Any
) -> AsyncIterator[RunningBot]:
    """Start Runtime + Telegram polling + the web server in this loop; stop them after.

    `gateway=True` adds the fake SMS Gateway for Android phone (its settings first, so
    `settings_overrides` may still change them, e.g. `sms_outbound_provider="gateway"`);
    pass a running FakeSmsGateway instead to keep one phone across several bot runs.
    """
    with contextlib.ExitStack() as stack:
        gw: FakeSmsGateway | None = None
        if isinstance(gateway, FakeSmsGateway):
            gw = gateway
        elif gateway:
            gw = stack.enter_context(FakeSmsGateway())
        if gw is not None:
            settings_overrides = {**gateway_settings(gw), **settings_overrides}
        async with _running_bot(db_url, gw, **settings_overrides) as running:
            yield running


@contextlib.asynccontextmanager
async def _running_bot(
    db_url: str, gw: FakeSmsGateway | None, **settings_overrides: Any
) -> AsyncIterator[RunningBot]:
    with FakeTelegram(token=TEST_TOKEN) as tg, FakeTwilio() as tw:
        port = free_port()
        settings = bot_settings(db_url, tg, tw, port, **settings_overrides)
        rt = Runtime(settings)
        server = _Server(
            uvicorn.Config(
                build_asgi(rt), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
            )
        )
        await rt.start()
        serve_task = asyncio.create_task(server.serve())
        try:
            await _start_telegram(rt)
            while not server.started:
                await asyncio.sleep(0.01)
            yield RunningBot(rt, tg, tw, f"http://127.0.0.1:{port}", gw)
        finally:
            await _stop_telegram(rt)
            server.should_exit = True
            await serve_task
            await rt.stop()
