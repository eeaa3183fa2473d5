"""A broadcast with one in ten sends failing, on both fakes: every row ends delivered or failed
with a reason, nobody is skipped, and nobody gets a message twice."""

from __future__ import annotations

import random

import pytest

from bot import delivery_outcomes
from models.audiences import Audience
from models.broadcasts import publish_broadcast
from models.outbox import OutboxMessage, OutStatus
from tests.broadcast_helpers import delivery_bot, member_for, wait_rows

TELEGRAM_FAULTS = [
    (500, None), (502, None), (429, 1), (400, "Bad Request: chat not found"),
    (500, None), (429, 1),
]  # fmt: skip
TWILIO_FAULTS = [(20500, True), (20503, False), (20429, False), (21211, False)]
PERMANENT_TELEGRAM = 400
PERMANENT_TWILIO = 21211


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery_outcomes, "BACKOFF_BASE", 0.05)


async def test_ten_percent_faults_lose_nothing_and_duplicate_nothing(db_url: str) -> None:
    chance = random.Random(4)
    async with delivery_bot(db_url, telegram_rate_per_second=100, sms_rate_per_second=50) as bot:
        bot.tw.auto_status = ["sent", "delivered"]
        telegram_users = [bot.tg.user() for _ in range(60)]
        for user in telegram_users:
            await member_for(bot, user, phone=False)
        phones = [f"+9955998{i:05d}" for i in range(40)]
        for phone in phones:
            await member_for(bot, telegram=False, phone=phone)
        broken_chats: set[int] = set()
        for user in chance.sample(telegram_users, 6):  # 10% of the Telegram sends fail…
            code, extra = TELEGRAM_FAULTS[len(broken_chats)]
            if code == 429:
                bot.tg.fail_next("sendMessage", 429, retry_after=int(extra or 1), chat_id=user.id)
            elif code == PERMANENT_TELEGRAM:
                bot.tg.fail_next("sendMessage", 400, str(extra), chat_id=user.id)
            else:
                bot.tg.fail_next("sendMessage", code, chat_id=user.id, times=2)
            broken_chats.add(user.id)
        broken_phones: dict[str, int] = {}
        for phone in chance.sample(phones, 4):  # …and 10% of the SMS
            code, accepted = TWILIO_FAULTS[len(broken_phones)]
            bot.tw.fail_next(code, to=phone, accept_anyway=accepted)
            broken_phones[phone] = code
        async with bot.rt.db.session() as session:
            broadcast = await publish_broadcast(
                session=session, settings=bot.settings, texts={"ka": "ტესტი: ყველას ერთხელ"},
                audience=Audience(), urgent=False, created_by=None,
            )  # fmt: skip
        bot.rt.delivery.wake()
        rows = await wait_rows(
            bot,
            lambda rs: (
                len(rs) == 100
                and all(r.status in (OutStatus.DELIVERED, OutStatus.FAILED) for r in rs)
            ),
            broadcast_id=broadcast.id,
            timeout=60,
        )
        failed = [r for r in rows if r.status == OutStatus.FAILED]
        assert all(r.error_reason for r in failed)
        assert sorted(r.error_code or "" for r in failed) == ["21211", "400"]
        telegram_counts = bot.tg.send_count_by_chat()
        for user in telegram_users:
            assert telegram_counts.get(user.id, 0) == (
                0 if user.id in _permanent(rows, "400") else 1
            )
        for phone in phones:
            expected = 0 if broken_phones.get(phone) == PERMANENT_TWILIO else 1
            assert len(bot.tw.messages_to(phone)) == expected, phone
        # Sent again: the three Telegram 5xx and Twilio's 503. A 429 or 20429 is waited out in
        # place; Twilio's 500 after accepting is found by the look-up and not sent again.
        assert len([r for r in rows if r.attempts > 1]) == 4


def _permanent(rows: list[OutboxMessage], code: str) -> set[int]:
    return {int(r.address) for r in rows if r.channel == "telegram" and r.error_code == code}
