"""The member inbox: what nothing understood reaches the secretariat, and the answer goes back
on the member's own channel."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from models.audit import AuditLog
from models.inbound import InboundMessage
from tests.broadcast_helpers import delivery_bot, member_for
from tests.harness import RunningBot


async def inbound(bot: RunningBot) -> list[InboundMessage]:
    async with bot.rt.db.session() as session:
        return list((await session.execute(select(InboundMessage))).scalars())


async def test_a_villager_sms_question_is_answered_by_sms(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        nino = bot.tg.user()
        await member_for(bot, nino, role="secretariat", phone=False)
        await member_for(bot, name="გელა ხუციშვილი", telegram=False, phone="+995599600001",
                         community="pona", sms_script="latin")  # fmt: skip
        # Gela texts something no keyword understands: a hint back, and the secretariat is told.
        [hint] = await bot.sms("+995599600001", "ფონაში ხიდი ჩამოინგრა, როდის შეაკეთებენ?")
        assert "HELP" in hint
        notice = await nino.reply()
        assert notice.text.startswith("📨 ახალი შეტყობინება სამდივნოსთვის")
        assert "გელა ხუციშვილი (ფონა) · SMS" in notice.text
        assert "ფონაში ხიდი ჩამოინგრა" in notice.text
        assert nino.buttons(notice) == [["↩ პასუხი", "✓ დასრულდა"]]
        await nino.press("↩ პასუხი")
        assert "გელა ხუციშვილი" in (await nino.reply()).text
        await nino.send("მუნიციპალიტეტს ვაცნობეთ, ხიდს ამ კვირაში შეაკეთებენ.")
        assert "პასუხი გაეგზავნა" in (await nino.reply()).text
        replies = await bot.sms_replies("+995599600001", 2, timeout=15)
        # Gela reads Latin SMS: the answer comes romanized, and as a reply (no STOP line).
        assert replies[-1] == (
            "LAG-is samdivno: munitsipalitets vatsnobet, khids am kvirashi sheaketeben."
        )
        [question] = await inbound(bot)
        assert question.status == "answered" and question.answer is not None
        async with bot.rt.db.session() as session:
            actions = [a.action for a in (await session.execute(select(AuditLog))).scalars()]
        assert "inbox.answer" in actions


async def test_a_telegram_message_waits_in_inbox_and_the_answer_comes_in_the_chat(
    db_url: str,
) -> None:
    async with delivery_bot(db_url) as bot:
        nino = bot.tg.user()
        await member_for(bot, nino, role="secretariat", phone=False)
        ali = bot.tg.user(language_code="az")
        await member_for(bot, ali, name="Əli Məmmədov", community="kabali", language="az")
        await ali.send("Qrant üçün müraciət nə vaxt bitir?")
        await ali.reply()  # "passed to the secretariat"
        await nino.reply()  # the notice
        await nino.send("/inbox")
        title, item = await nino.replies(2)
        assert title.text == "პასუხს ელოდება: 1"
        assert "Əli Məmmədov (კაბალი) · Telegram" in item.text
        await nino.press("↩ პასუხი")
        await nino.reply()
        await nino.send("Müraciətlər dekabrın 15-dək qəbul olunur.")
        answer = await ali.reply()
        assert answer.text == "LAG katibliyi: Müraciətlər dekabrın 15-dək qəbul olunur."
        assert "პასუხი გაეგზავნა — Əli Məmmədov" in (await nino.reply()).text
        await nino.send("/inbox")
        assert (await nino.reply()).text == "შემოსულები ცარიელია: პასუხის მოლოდინში არაფერია."


async def test_done_closes_a_message_without_an_answer_and_twice_is_refused(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        nino, tamar = bot.tg.user(), bot.tg.user()
        await member_for(bot, nino, role="secretariat", phone=False)
        await member_for(bot, tamar, role="secretariat", phone=False)
        await member_for(bot, telegram=False, phone="+995599600002")
        await bot.sms("+995599600002", "madloba!")
        await nino.reply()
        await tamar.reply()
        await nino.press("✓ დასრულდა")
        assert "დაიხურა პასუხის გარეშე" in (await nino.reply()).text
        await tamar.press("↩ პასუხი")  # Tamar's notice is stale now
        await bot.tg.wait_until(
            lambda: bool(tamar.callback_answers) and tamar.callback_answers[-1], timeout=15
        )
        assert "უკვე უპასუხეს ან დაიხურა" in str(tamar.callback_answers[-1])
        [message] = await inbound(bot)
        assert message.status == "closed"


async def test_members_cannot_use_secretariat_commands(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        villager = bot.tg.user()
        await member_for(bot, villager)
        for command in ("/broadcast", "/broadcasts", "/report 1", "/scheduled", "/inbox"):
            await villager.send(command)
            assert (await villager.reply()).text == "ეს ბრძანება მხოლოდ სამდივნოსთვისაა."
        await villager.press_data("bc:send", message=villager.last())  # a forged button
        await bot.tg.wait_until(
            lambda: villager.callback_answers and villager.callback_answers[-1], timeout=15
        )
        assert "სამდივნოსთვის" in str(villager.callback_answers[-1])
        targets: list[str] = []
        for _ in range(100):  # commands are audited right after their refusal is sent
            async with bot.rt.db.session() as session:
                query = select(AuditLog.target).where(AuditLog.action == "access.refused")
                targets = sorted((await session.execute(query)).scalars())
            if len(targets) == 6:
                break
            await asyncio.sleep(0.05)
        assert targets == sorted(
            ["/broadcast", "/broadcasts", "/report", "/scheduled", "/inbox", "/broadcast"]
        )
