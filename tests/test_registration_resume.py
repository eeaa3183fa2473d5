"""Registration survives a restart: the draft is in the database, not in memory."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.members import Member
from tests.harness import running_bot
from tests.registration_helpers import PATIENCE, patient_fakes  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("patient_fakes")

PHONE = "+995599771122"


async def _wait_text(bot: object, user: object, text: str) -> str:
    from tests.fakes.telegram_api import FakeTelegram
    from tests.fakes.telegram_user import VirtualUser

    assert isinstance(user, VirtualUser)
    tg: FakeTelegram = bot.tg  # type: ignore[attr-defined]
    message = await tg.wait_until(
        lambda: next((m for m in reversed(user.inbox) if text in m.body), None),
        PATIENCE,
        lambda: f"no message with {text!r}: {user.texts()[-2:]!r}",
    )
    return message.body


async def test_a_restart_in_the_middle_of_registration_resumes(db_url: str) -> None:
    async with running_bot(db_url) as bot:
        nino = bot.tg.user(5001, language_code="ka")
        await nino.send("/start")
        await nino.press("ქართული")
        await nino.press("✅ ვეთანხმები")
        await nino.press("კი")
        await _wait_text(bot, nino, "სახელი და გვარი?")
        await nino.send("ნინო ბერიძე")
        await _wait_text(bot, nino, "თქვენი მობილურის ნომერი")
        # the villager on SMS is half-way too
        await bot.sms(PHONE, "JOIN")
        await bot.sms(PHONE, "1")
        consent = (await bot.sms(PHONE, "2"))[0]  # Latin letters chosen
        assert "tanakhma khart" in consent and consent.isascii()
    async with running_bot(db_url) as bot:  # a new process on the same database
        nino = bot.tg.user(5001, language_code="ka")
        await nino.send("599 12 34 56")  # the answer to the question asked before the restart
        await _wait_text(bot, nino, "რომელ თემში")
        await nino.send("/start")  # a second /start continues instead of starting over
        resumed = await _wait_text(bot, nino, "განვაგრძოთ")
        assert "რომელ თემში" in resumed
        await nino.press("კაბალი")
        await nino.press("განჯალა")
        await nino.press("კერძო")
        await _wait_text(bot, nino, "დაბადების წელი?")
        await nino.send("1975")
        await nino.press("არა, გამოტოვება")
        await nino.press("✅ მზადაა")
        summary = await _wait_text(bot, nino, "შეამოწმეთ")
        assert "ნინო ბერიძე" in summary and "+995599123456" in summary
        await nino.press("✅ დადასტურება")
        await _wait_text(bot, nino, "გილოცავთ")
        # the SMS villager continues where they were: the consent question
        replies = await bot.sms(PHONE, "KI")
        assert "SMS" in replies[0] and "STOP" in replies[0]  # now the announcements question
        async with bot.rt.db.session() as session:
            members = (await session.execute(select(Member))).scalars().all()
    assert [(m.name, m.phone, m.village) for m in members] == [
        ("ნინო ბერიძე", "+995599123456", "განჯალა")
    ]
