"""Two-way SMS through a local SIM: villagers text the phone running SMS Gateway for Android.

Every test runs the whole bot with the fake phone (`running_bot(db_url, gateway=True)`):
webhooks are signed and posted by the fake exactly as the app does, and lagbot answers
through the phone's API with the official client.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import col, select

from bot.outbound import Outgoing, queue_for_member
from handlers.gateway import register_webhooks
from models.inbound import InboundMessage
from models.members import Member
from models.outbox import OutboxMessage, OutStatus
from tests.factories import make_member
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.harness import RunningBot, running_bot

VILLAGER = "+995599123456"
EVENTS = {"sms:received", "sms:sent", "sms:delivered", "sms:failed", "system:ping"}


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, gateway=True) as running:
        yield running


async def inbound_rows(bot: RunningBot) -> list[InboundMessage]:
    async with bot.rt.db.session() as session:
        result = await session.execute(select(InboundMessage).order_by(col(InboundMessage.id)))
        return list(result.scalars())


async def _post(bot: RunningBot, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(bot.base_url + "/sms/gateway", content=body, headers=headers)


async def outbox_rows(bot: RunningBot, provider: str = "gateway") -> list[OutboxMessage]:
    async with bot.rt.db.session() as session:
        result = await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.provider == provider)
            .order_by(col(OutboxMessage.id))
        )
        return list(result.scalars())


# -- inbound: the same SMS handlers as Twilio's -------------------------------------------


async def test_villager_texts_help_to_the_sim_and_the_phone_answers(bot: RunningBot) -> None:
    replies = await bot.gateway_sms(VILLAGER, "HELP")
    assert "STOP" in replies[0] and "SMS" in replies[0]
    assert bot.tw.messages_to(VILLAGER) == []  # the answer went back the way the SMS came
    [row] = await inbound_rows(bot)
    assert (row.provider, row.address, row.text) == ("gateway", VILLAGER, "HELP")
    assert row.provider_message_id == bot.gw.deliveries[0].json()["id"]  # the event id


async def test_member_texts_stop_to_the_sim_and_announcements_stop(bot: RunningBot) -> None:
    async with bot.rt.db.session() as session:
        member = await make_member(session, telegram=False, phone=VILLAGER)
    [answer] = await bot.gateway_sms(VILLAGER, "სტოპ")
    assert answer  # confirmation, in Georgian, through the phone
    async with bot.rt.db.session() as session:
        fresh = await session.get(Member, member.id)
        assert fresh is not None and fresh.sms_opt_out_at is not None
        queued = await queue_for_member(
            session=session,
            settings=bot.settings,
            member=fresh,
            message=Outgoing(text="ახალი გრანტი"),
            kind="announcement",
        )
    assert queued == []


async def test_a_forged_webhook_is_refused_and_changes_nothing(bot: RunningBot) -> None:
    async with bot.rt.db.session() as session:
        member = await make_member(session, telegram=False, phone=VILLAGER)
    [forged] = await bot.gw.receive_sms(VILLAGER, "STOP", forge=True)
    assert forged.status_code == 403
    body = json.dumps({"event": "sms:received", "id": "x1", "payload": {}}).encode()
    unsigned = await _post(bot, body, {})
    assert unsigned.status_code == 403
    assert await inbound_rows(bot) == []
    async with bot.rt.db.session() as session:
        fresh = await session.get(Member, member.id)
        assert fresh is not None and fresh.sms_opt_out_at is None


async def test_a_webhook_signed_long_ago_is_refused_as_a_replay(bot: RunningBot) -> None:
    """The app re-signs every retry with a fresh X-Timestamp, so an old one is a replay."""
    [stale] = await bot.gw.receive_sms(VILLAGER, "HELP", timestamp=int(time.time()) - 3600)
    assert stale.status_code == 403
    [skewed_ok] = await bot.gw.receive_sms(VILLAGER, "HELP", timestamp=int(time.time()) - 300)
    assert skewed_ok.status_code == 200
    assert len(await inbound_rows(bot)) == 1


async def test_a_retried_webhook_is_processed_once_but_the_same_text_later_counts(
    bot: RunningBot,
) -> None:
    first = await bot.gateway_sms(VILLAGER, "HELP", event_id="evt-1", message_id="9f1c")
    assert len(first) == 1
    real_clock = bot.gw.clock
    bot.gw.clock = lambda: real_clock() + 120  # the app retries two minutes later, re-signed
    retried = await bot.gw.retry_last_webhook(resign=True)
    assert retried.status_code == 200  # acknowledged, so the app stops retrying
    replayed = await bot.gw.retry_last_webhook()  # byte-identical replay
    assert replayed.status_code == 200
    stamps = [d.headers["X-Timestamp"] for d in bot.gw.deliveries]
    assert stamps[1] != stamps[0] and stamps[2] == stamps[1]  # re-signed, then replayed
    await bot.gateway_replies(VILLAGER, 1)
    assert len(bot.gw.messages_to(VILLAGER)) == 1
    # Same text, same content-hash messageId, but a new event: the villager meant it.
    again = await bot.gateway_sms(VILLAGER, "HELP", event_id="evt-2", message_id="9f1c")
    assert len(again) == 1
    assert [r.provider_message_id for r in await inbound_rows(bot)] == ["evt-1", "evt-2"]


async def test_operator_balance_sms_goes_to_the_inbox_unanswered(bot: RunningBot) -> None:
    answers = await bot.gateway_sms("MAGTI", "Tqveni balansi: 0.40 GEL", expect=0)
    assert answers == [] and bot.gw.messages == []
    [row] = await inbound_rows(bot)
    assert (row.address, row.status) == ("MAGTI", "inbox")


# -- outbound: provider choice and delivery states -----------------------------------------


async def test_announcements_go_by_twilio_while_replies_go_by_the_phone(bot: RunningBot) -> None:
    async with bot.rt.db.session() as session:
        member = await make_member(session, telegram=False, phone=VILLAGER)
        await queue_for_member(
            session=session,
            settings=bot.settings,
            member=member,
            message=Outgoing(text="Info session in Kabali on Friday"),
            kind="announcement",
            urgent=True,
        )
    await bot.sms_replies(VILLAGER, 1)
    assert bot.gw.messages_to(VILLAGER) == []
    await bot.gateway_sms(VILLAGER, "HELP")
    assert len(bot.tw.messages_to(VILLAGER)) == 1


async def _announce(bot: RunningBot, phone: str, text: str = "Info session on Friday") -> None:
    async with bot.rt.db.session() as session:
        result = await session.execute(select(Member).where(Member.phone == phone))
        member = result.scalars().first() or await make_member(session, telegram=False, phone=phone)
        await queue_for_member(
            session=session,
            settings=bot.settings,
            member=member,
            message=Outgoing(text=text),
            kind="announcement",
            urgent=True,  # no quiet hours in tests
        )
    bot.rt.delivery.wake("sms")


async def test_delivery_reports_from_the_phone_move_outbox_rows(db_url: str) -> None:
    async with running_bot(db_url, gateway=True, sms_outbound_provider="gateway") as bot:
        bot.gw.auto_events = ["sms:sent", "sms:delivered"]
        await _announce(bot, VILLAGER)
        await bot.gateway_replies(VILLAGER, 1)
        [sent] = bot.gw.messages_to(VILLAGER)
        await bot.tg.wait_until(
            lambda: bot.gw.get(sent.id).state == "Delivered" and len(bot.gw.deliveries) >= 2
        )
        row = await _wait_row(bot, OutStatus.DELIVERED)
        assert row.provider_message_id == sent.id and row.segments == 1
        # A late, out-of-order "sent" never moves it back.
        await bot.gw.emit_state(sent.id, "sms:sent", update=False)
        assert (await outbox_rows(bot))[0].status == OutStatus.DELIVERED

        bot.gw.auto_events = []
        second = "+995599123457"
        await _announce(bot, second)
        await bot.gateway_replies(second, 1)
        [failed] = bot.gw.messages_to(second)
        [answer] = await bot.gw.emit_state(
            failed.id, "sms:failed", reason="RESULT_ERROR_NO_SERVICE"
        )
        assert answer.status_code == 200
        row = (await outbox_rows(bot))[1]
        assert (row.status, row.error_code) == (OutStatus.FAILED, "RESULT_ERROR_NO_SERVICE")


async def _wait_row(bot: RunningBot, status: str, index: int = 0) -> OutboxMessage:
    found: list[OutboxMessage] = []

    async def check() -> bool:
        found[:] = await outbox_rows(bot)
        return len(found) > index and found[index].status == status

    deadline = time.monotonic() + 5
    while not await check():
        assert time.monotonic() < deadline, [(r.status, r.error_code) for r in found]
        await _sleep()
    return found[index]


async def _sleep() -> None:
    import asyncio

    await asyncio.sleep(0.05)


async def test_a_500_from_the_phone_is_looked_up_then_sent_once(db_url: str) -> None:
    async with running_bot(db_url, gateway=True, sms_outbound_provider="gateway") as bot:
        bot.gw.fail_next(500)
        await _announce(bot, VILLAGER)
        await bot.gateway_replies(VILLAGER, 1, timeout=8)
        row = await _wait_row(bot, OutStatus.SENT)
        assert row.attempts == 2 and row.error_code == "500"
        assert len(bot.gw.messages_to(VILLAGER)) == 1


# -- webhook registration ------------------------------------------------------------------


async def test_starting_twice_registers_one_webhook_per_event(db_url: str) -> None:
    with FakeSmsGateway() as gw:
        async with running_bot(db_url, gateway=gw) as first:
            url = first.base_url + "/sms/gateway"
            assert {(h.event, h.url) for h in gw.webhooks} == {(e, url) for e in EVENTS}
            again = await register_webhooks(first.rt)
            assert again is not None and again[0] == []  # listed, nothing added
        async with running_bot(db_url, gateway=gw) as second:
            url = second.base_url + "/sms/gateway"  # a new address: the hooks follow it
            assert sorted(h.event for h in gw.webhooks) == sorted(EVENTS)
            assert {h.url for h in gw.webhooks} == {url}
            assert len(await second.gw.receive_sms(VILLAGER, "HELP")) == 1


# -- Android's SMS limit -------------------------------------------------------------------


async def test_a_broadcast_through_the_phone_respects_androids_window(db_url: str) -> None:
    """Stock Android, 30 parts per 30 min: bulk takes 25, a villager's question still goes."""
    async with running_bot(db_url, gateway=True, sms_outbound_provider="gateway") as bot:
        bot.gw.android_limit = (30, 1800)
        bot.gw.android_limit_action = "fail"
        phones = [f"+99559900{n:04d}" for n in range(27)]
        for phone in phones:
            await _announce(bot, phone)
        later = time.time() + 1700
        waiting: list[OutboxMessage] = []
        while len(waiting) < 2:
            await _sleep()
            rows = await outbox_rows(bot)
            waiting = [r for r in rows if r.next_attempt_at.timestamp() > later]
        assert len(bot.gw.messages) == 25
        assert all(r.status == OutStatus.QUEUED and r.attempts == 0 for r in waiting)
        # Mid-broadcast, a villager's message is still answered at once (a short, 1-part reply;
        # HELP grows with every capability's line, so it is not a stable size to budget for).
        [answer] = await bot.gateway_sms(VILLAGER, "START")
        assert "JOIN" in answer
        assert bot.gw.parts_total() <= 30
        assert all(m.state != "Failed" for m in bot.gw.messages)


async def test_the_phones_local_server_works_like_the_cloud_relay(db_url: str) -> None:
    """The app's local server (the API at the root of http://<phone>:8080) and its cloud relay
    (…/3rdparty/v1) are one API under two base URLs; the suite mostly drives the relay's."""
    with FakeSmsGateway() as phone:
        async with running_bot(db_url, gateway=phone, sms_gateway_url=phone.local_url) as bot:
            [answer] = await bot.gateway_sms(VILLAGER, "HELP")
            assert "STOP" in answer
            assert {w.url for w in phone.webhooks} == {bot.base_url + "/sms/gateway"}
    assert phone.messages_to(VILLAGER)[0].text == answer
