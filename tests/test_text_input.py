"""Characters no database keeps (NUL, lone surrogates, other controls) are dropped where text
enters lagbot, so a villager's odd message is answered instead of failing a transaction."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from bot.text_input import scrub, scrub_json
from models.inbound import InboundMessage
from tests.broadcast_helpers import delivery_bot, member_for
from tests.harness import RunningBot
from tests.registration_helpers import patient_fakes  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("patient_fakes")


def test_scrub_keeps_every_script_emoji_and_line_breaks() -> None:
    assert scrub("ნინო\x00 ბერიძე") == "ნინო ბერიძე"
    assert scrub("a\tb\nc\r\n") == "a\tb\nc\r\n"
    assert scrub("Əli 🐝\x07\x1b[0m\x7f") == "Əli 🐝[0m"
    assert scrub("x\ud800y") == "xy"
    assert scrub_json({"a": ["\x00", {"b": "c\x00"}], "n": 1}) == {"a": ["", {"b": "c"}], "n": 1}


async def test_a_telegram_question_with_a_nul_byte_reaches_the_inbox_without_it(
    db_url: str,
) -> None:
    async with delivery_bot(db_url) as bot:
        ali = bot.tg.user(language_code="az")
        await member_for(bot, ali, name="Əli Məmmədov", community="kabali", language="az")
        await ali.send("Qrant\x00 nə vaxt bitir?")
        await ali.reply()  # "passed to the secretariat", not an error
        async with bot.rt.db.session() as session:
            rows = (await session.execute(select(InboundMessage))).scalars().all()
        assert [r.text for r in rows] == ["Qrant nə vaxt bitir?"]


async def test_an_sms_with_control_characters_is_answered_and_stored_clean(
    bot: RunningBot,
) -> None:
    [languages] = await bot.sms("+995599445588", "JOIN\x00\x01")
    assert "1 ქართული" in languages
    async with bot.rt.db.session() as session:
        rows = await session.execute(select(InboundMessage).order_by(col(InboundMessage.id)))
        assert [r.text for r in rows.scalars()] == ["JOIN"]
