"""SMS delivery against the fake Twilio: errors, look-up before re-send, reports, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import delivery_outcomes
from bot.outbound import quiet_until
from bot.settings import Settings
from models.members import Consent
from models.outbox import OutboxMessage, OutStatus, Priority, enqueue
from tests.broadcast_helpers import (
    delivery_bot,
    member_for,
    outbox,
    queue_bulk,
    reload,
    wait_rows,
)
from tests.conftest import make_settings

SMS_ONLY: dict[str, Any] = {"telegram": False}


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery_outcomes, "BACKOFF_BASE", 0.02)


async def test_a_5xx_after_twilio_accepted_the_sms_is_not_sent_twice(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        villager = await member_for(bot, phone="+995599400001", **SMS_ONLY)
        bot.tw.fail_next(500, accept_anyway=True)  # accepted and charged, then a 500
        await queue_bulk(bot, [villager], "Kreba khval 11 saatze", broadcast_id=1)
        [row] = await wait_rows(bot, broadcast_id=1)
        [sms] = bot.tw.messages_to("+995599400001")
        assert (row.status, row.provider_message_id) == (OutStatus.SENT, sms.sid)


async def test_a_5xx_before_twilio_accepted_the_sms_is_sent_again(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        villager = await member_for(bot, phone="+995599400002", **SMS_ONLY)
        bot.tw.fail_next(503)
        await queue_bulk(bot, [villager], "Training on Friday", broadcast_id=2)
        [row] = await wait_rows(bot, broadcast_id=2)
        assert len(bot.tw.messages_to("+995599400002")) == 1
        assert (row.status, row.attempts) == (OutStatus.SENT, 2)


async def test_twilio_throttling_is_waited_out_in_place(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        villager = await member_for(bot, phone="+995599400003", **SMS_ONLY)
        bot.tw.fail_next(20429)
        await queue_bulk(bot, [villager], "Grant results next week", broadcast_id=3)
        [row] = await wait_rows(bot, broadcast_id=3)
        assert (row.status, row.attempts) == (OutStatus.SENT, 1)
        assert len(bot.tw.messages_to("+995599400003")) == 1


async def test_a_number_that_replied_stop_to_twilio_is_opted_out(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        villager = await member_for(bot, phone="+995599400004", **SMS_ONLY)
        bot.tw.opt_out("+995599400004")
        await queue_bulk(bot, [villager], "Assembly on Monday", broadcast_id=4)
        [row] = await wait_rows(bot, broadcast_id=4)
        assert (row.status, row.error_code) == (OutStatus.SKIPPED, "21610")
        assert (await reload(bot, villager)).sms_opt_out_at is not None
        async with bot.rt.db.session() as session:
            consents = (await session.execute(select(Consent))).scalars().all()
        assert [(c.kind, c.given, c.channel) for c in consents] == [
            ("announcements_sms", False, "sms")
        ]
        # The next broadcast does not even try.
        await queue_bulk(bot, [await reload(bot, villager)], "Next one", broadcast_id=5)
        assert await outbox(bot, broadcast_id=5) == []


async def test_an_invalid_number_fails_and_is_marked(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        villager = await member_for(bot, phone="+995599400005", **SMS_ONLY)
        bot.tw.fail_next(21614, to="+995599400005")
        await queue_bulk(bot, [villager], "Assembly on Monday", broadcast_id=6)
        [row] = await wait_rows(bot, broadcast_id=6)
        assert (row.status, row.error_code) == (OutStatus.FAILED, "21614")
        assert row.error_reason is not None and "not a valid mobile number" in row.error_reason
        assert "+995599400005" not in row.error_reason  # Twilio quotes it; we keep it masked
        assert (await reload(bot, villager)).sms_invalid_at is not None


async def test_status_callbacks_move_rows_forward_only(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        villager = await member_for(bot, phone="+995599400006", **SMS_ONLY)
        await queue_bulk(bot, [villager], "Monitoring visit on Tuesday", broadcast_id=7)
        [row] = await wait_rows(bot, broadcast_id=7)
        sid = bot.tw.messages_to("+995599400006")[0].sid
        for status in ("delivered", "sent", "delivered", "undelivered"):  # late and repeated
            response = await bot.tw.advance(sid, status, update=False)
            assert response is not None and response.status_code == 200
        [row] = await outbox(bot, broadcast_id=7)
        assert row.status == OutStatus.DELIVERED


async def test_reports_that_arrive_before_the_send_is_recorded_are_not_lost(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        villagers = [await member_for(bot, phone=f"+99559940010{i}", **SMS_ONLY) for i in range(5)]
        bot.tw.auto_status = ["sent", "delivered"]
        bot.tw.auto_status_delay = 0.0
        await queue_bulk(bot, villagers, "Results of the vote", broadcast_id=8)
        rows = await wait_rows(
            bot, lambda rs: len(rs) == 5 and all(r.status == "delivered" for r in rs),
            broadcast_id=8,
        )  # fmt: skip
        assert len(rows) == 5


async def test_an_sms_without_a_final_report_after_a_day_is_no_report(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        villager = await member_for(bot, phone="+995599400007", **SMS_ONLY)
        await queue_bulk(bot, [villager], "Assembly on Monday", broadcast_id=9)
        [row] = await wait_rows(bot, broadcast_id=9)
        assert row.status == OutStatus.SENT
        assert await bot.rt.delivery.mark_stale_reports() == set()  # not a day yet
        tomorrow = datetime.now(UTC) + timedelta(days=1, minutes=1)
        assert await bot.rt.delivery.mark_stale_reports(now=tomorrow) == {9}
        [row] = await outbox(bot, broadcast_id=9)
        assert row.status == OutStatus.NO_REPORT


TBILISI_NIGHT = {"sms_quiet_weekdays": "00:00-23:59", "sms_quiet_weekends": "00:00-23:59"}


async def test_at_night_bulk_sms_wait_but_urgent_ones_and_replies_go(db_url: str) -> None:
    async with delivery_bot(db_url, **TBILISI_NIGHT) as bot:
        normal = await member_for(bot, phone="+995599400008", **SMS_ONLY)
        urgent = await member_for(bot, phone="+995599400009", **SMS_ONLY)
        await queue_bulk(bot, [normal], "Sakhelmdzghvanelo", broadcast_id=10)
        await queue_bulk(bot, [urgent], "Storm warning", broadcast_id=11, urgent=True)
        async with bot.rt.db.session() as session:  # queued in the evening, still waiting
            await enqueue(
                session=session,
                channel="sms",
                provider="twilio",
                address="+995599400008",
                text="evening bulk",
                priority=Priority.BULK,
            )
            await enqueue(
                session=session,
                channel="sms",
                provider="twilio",
                address="+995599400008",
                text="an answer",
                priority=Priority.REPLY,
            )
        await bot.sms_replies("+995599400009", 1, timeout=15)
        await bot.sms_replies("+995599400008", 1, timeout=15)
        [deferred] = await outbox(bot, broadcast_id=10)
        assert deferred.status == OutStatus.QUEUED and deferred.next_attempt_at > datetime.now(UTC)
        assert [m.body for m in bot.tw.messages_to("+995599400008")] == ["an answer"]
        async with bot.rt.db.session() as session:
            evening = (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.text == "evening bulk")
                )
            ).scalar_one()
        assert evening.status == OutStatus.QUEUED


def at(local: str) -> datetime:
    return datetime.fromisoformat(local + "+04:00")


@pytest.mark.parametrize(
    ("moment", "until"),
    [
        ("2026-11-26T21:59", None),  # Thursday evening, before 22:00
        ("2026-11-26T22:00", "2026-11-27T08:00"),  # Thursday night → Friday 08:00
        ("2026-11-27T07:30", "2026-11-27T08:00"),
        ("2026-11-27T21:00", None),  # Friday is a weekday: 22:00
        ("2026-11-27T23:00", "2026-11-28T09:00"),  # → Saturday morning is a weekend one
        ("2026-11-28T20:30", "2026-11-29T09:00"),  # Saturday: quiet from 20:00
        ("2026-11-29T20:30", "2026-11-30T08:00"),  # Sunday night → Monday 08:00
        ("2026-11-30T12:00", None),
    ],
)
def test_quiet_hours_in_tbilisi(moment: str, until: str | None) -> None:
    settings: Settings = make_settings("sqlite+aiosqlite:///unused.sqlite3")
    expected = at(until) if until else None
    assert quiet_until(settings, at(moment)) == expected
