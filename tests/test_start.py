"""The first conversation: /start, languages, /help, unknown text — on Telegram and SMS."""

from __future__ import annotations

from sqlmodel import select

from models.dialogs import get_dialog
from models.inbound import InboundMessage
from tests.harness import RunningBot


async def test_villager_starts_and_is_offered_four_languages(bot: RunningBot) -> None:
    villager = bot.tg.user(language_code="ka")
    await villager.send("/start")
    greeting = await villager.reply()
    assert "აირჩიეთ ენა" in greeting.text
    assert villager.buttons(greeting) == [["ქართული"], ["Azərbaycanca"], ["Русский"], ["English"]]


async def test_choosing_a_language_is_remembered(bot: RunningBot) -> None:
    villager = bot.tg.user(language_code="ru")
    await villager.send("/start")
    await villager.reply()
    await villager.press("Azərbaycanca")
    await bot.tg.wait_until(lambda: "Azərbaycanca ✓" in villager.last().text)
    async with bot.rt.db.session() as session:
        dialog = await get_dialog(session=session, channel="telegram", address=str(villager.id))
    assert dialog is not None and dialog.data["language"] == "az"


async def test_help_lists_commands_in_georgian_by_default(bot: RunningBot) -> None:
    villager = bot.tg.user(language_code=None)
    await villager.send("/help")
    text = (await villager.reply()).text
    assert text.startswith("ბრძანებები:")
    assert "/start" in text and "/help" in text


async def test_unknown_command_points_to_help(bot: RunningBot) -> None:
    villager = bot.tg.user()
    await villager.send("/nonsense")
    assert "/help" in (await villager.reply()).text


async def test_sms_help_lists_keywords(bot: RunningBot) -> None:
    replies = await bot.sms("+995599123456", "HELP")
    assert "SMS" in replies[0] and "STOP" in replies[0]


async def test_unknown_sms_gets_a_hint_and_is_kept(bot: RunningBot) -> None:
    replies = await bot.sms("+995599123457", "the bridge in Kabali is broken")
    assert "JOIN" in replies[0]
    async with bot.rt.db.session() as session:
        kept = (await session.execute(select(InboundMessage))).scalars().all()
    assert [m.text for m in kept] == ["the bridge in Kabali is broken"]
    assert kept[0].status == "inbox"


async def test_forged_sms_webhook_is_refused(bot: RunningBot) -> None:
    response = await bot.tw.send_inbound(
        bot.base_url + "/sms/inbound", from_="+995599123456", to="+995322000000", body="STOP",
        forge=True,
    )  # fmt: skip
    assert response.status_code == 403


async def test_a_retried_sms_webhook_is_processed_once(bot: RunningBot) -> None:
    await bot.sms("+995599123458", "HELP", message_sid="SM" + "a" * 32)
    again = await bot.sms("+995599123458", "HELP", message_sid="SM" + "a" * 32, expect=0)
    assert len(again) == 0
