"""kill -9 in the middle of a broadcast: the real `lagbot run` process is SIGKILLed while it
sends, then started again. Everyone gets the message, and only rows that were in flight at
the moment of the crash (claimed, in the database's `sending` state) can arrive twice."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import col, select

from bot.db import Database
from bot.delivery import MAX_UNRECORDED
from bot.runtime import Runtime
from models.outbox import PENDING_STATUSES, OutboxMessage, OutStatus
from tests.conftest import make_settings
from tests.factories import make_member
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_user import VirtualUser
from tests.fakes.twilio_api import FakeTwilio
from tests.harness import TEST_TOKEN
from tests.process import LagbotProcess, fakes_env

pytestmark = pytest.mark.e2e

VILLAGERS = 180
SMS_ONLY = 20


async def step(tg: FakeTelegram, user: VirtualUser, label: str, expect: str) -> None:
    await user.press(label, timeout=20)
    await tg.wait_until(lambda: expect in user.last().text, timeout=20)


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        query = select(OutboxMessage).where(col(OutboxMessage.broadcast_id).is_not(None))
        return list((await session.execute(query)).scalars())


async def test_a_broadcast_killed_mid_way_resumes_and_nobody_gets_it_twice(db_url: str) -> None:
    with FakeTelegram(token=TEST_TOKEN) as tg, FakeTwilio() as tw:
        nino = tg.user(language_code="ka")
        villagers = [tg.user() for _ in range(VILLAGERS)]
        phones = [f"+9955997{i:05d}" for i in range(SMS_ONLY)]
        rt = Runtime(make_settings(db_url))
        await rt.prepare_data()  # the communities
        async with rt.db.session() as session:
            await make_member(session, telegram=nino.id, phone=False, role="secretariat")
            for user in villagers:
                await make_member(session, telegram=user.id, phone=False)
            for phone in phones:
                await make_member(session, telegram=False, phone=phone)
        await rt.db.dispose()
        env = fakes_env(
            db_url, tg, tw,
            telegram_rate_per_second=60, sms_rate_per_second=10,
            delivery_claim_lease_seconds=2,
            sms_quiet_weekdays="00:00-00:00", sms_quiet_weekends="00:00-00:00",
        )  # fmt: skip
        db = Database(db_url)
        lagbot = LagbotProcess(env)
        try:
            lagbot.start(timeout=120)
            await nino.send("/broadcast")
            await nino.reply(timeout=20)
            await nino.send("ხვალ საერთო კრებაა 11:00-ზე")
            await nino.reply(timeout=20)
            await step(tg, nino, "გაგრძელება ➜", "ვის გავუგზავნოთ?")
            await step(tg, nino, "გაგრძელება ➜", "როგორ გავგზავნოთ?")
            await step(tg, nino, "ჩვეულებრივი", "როდის გავგზავნოთ?")
            await nino.press("ახლავე", timeout=20)
            await nino.replies(2, timeout=20)
            await nino.press("✓ გაგზავნა", timeout=20)
            villager_ids = {u.id for u in villagers}
            await tg.wait_until(
                lambda: (
                    sum(n for c, n in tg.send_count_by_chat().items() if c in villager_ids) >= 60
                ),
                timeout=30,
            )
            lagbot.kill()  # SIGKILL: no cleanup at all
            at_crash = await rows(db)
            in_flight = {r.address for r in at_crash if r.status == OutStatus.SENDING}
            pending = [r for r in at_crash if r.status in PENDING_STATUSES]
            assert pending, "the broadcast was still running when the process died"

            lagbot.start(timeout=120)
            for _ in range(600):
                final = await rows(db)
                if not any(r.status in PENDING_STATUSES for r in final):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"still sending after restart:\n{lagbot.log()}")
            # The second process finishes the confirmation the first one was editing.
            await tg.wait_until(
                lambda: any("დაგზავნა #1 დასრულდა ✓" in m.text for m in nino.inbox), timeout=20
            )
        finally:
            if lagbot.proc is not None and lagbot.proc.poll() is None:
                assert lagbot.terminate() == 0, lagbot.log()
            await db.dispose()

        counts = tg.send_count_by_chat()
        twice = []
        for user in villagers:
            got = counts.get(user.id, 0)
            assert got >= 1, f"villager {user.id} never got the broadcast"
            if got > 1:
                twice.append(str(user.id))
        for phone in phones:
            got = len(tw.messages_to(phone))
            assert got >= 1, f"{phone} never got the broadcast"
            if got > 1:
                twice.append(phone)
        assert set(twice) <= in_flight  # only rows in flight at the crash
        # The engine's bound on unwritten sends holds per lane (Telegram's and Twilio's).
        twice_sms = [a for a in twice if a.startswith("+")]
        assert len(twice_sms) <= MAX_UNRECORDED, twice_sms
        assert len(twice) - len(twice_sms) <= MAX_UNRECORDED, twice
        assert {r.status for r in final} <= {OutStatus.DELIVERED, OutStatus.SENT}
