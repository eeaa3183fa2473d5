"""/broadcast end to end: the secretariat composes, previews and sends; villagers receive it
in their language on their channel; the confirmation is edited live."""

from __future__ import annotations

from sqlmodel import select

from models.audit import AuditLog
from models.broadcasts import Broadcast
from models.outbox import OutStatus
from tests.broadcast_helpers import delivery_bot, member_for, outbox, wait_rows
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot

KA_TEXT = "ხვალ, 10 საათზე, კაბალის თემის ცენტრში შეხვედრაა გრანტების შესახებ. გელოდებით!"
RU_TEXT = "Завтра в 10:00 в центре общины Кабали встреча о грантах. Ждём вас!"


async def test_secretariat_sends_a_broadcast_to_kabali_in_two_languages(db_url: str) -> None:
    async with delivery_bot(db_url) as bot:
        nino = bot.tg.user(language_code="ka")
        await member_for(bot, nino, role="secretariat", name="ნინო ბერიძე", phone=False)
        ali_tg = bot.tg.user(language_code="az")
        ali = await member_for(bot, ali_tg, community="kabali", language="az")
        olga = await member_for(bot, telegram=False, phone="+995599500001",
                                community="kabali", language="ru")  # fmt: skip
        gela = await member_for(bot, telegram=False, phone="+995599500002",
                                community="kabali", sms_script="latin")  # fmt: skip
        await member_for(bot, telegram=False, phone="+995599500003", community="pona")
        await member_for(bot, telegram=False, phone="+995599500004", community="kabali",
                         consent_announcements=False)  # fmt: skip

        await nino.send("/broadcast")
        assert "ქართულად" in (await nino.reply()).text
        await nino.send(KA_TEXT)
        screen = await nino.reply()
        assert "✓ ქართული" in screen.text and "— Русский" in screen.text
        await step(bot, nino, "+ Русский", "ენაზე: Русский")
        await nino.send(RU_TEXT)
        screen = await nino.reply()
        assert "✓ Русский" in screen.text
        await step(bot, nino, "გაგრძელება ➜", "ვის გავუგზავნოთ?")
        # everyone: Nino and Ali on Telegram, three by SMS, one without consent
        assert "მიმღები: 5 — Telegram 2 · SMS 3 · მიუწვდომელი 0 · გამოწერილი 1" in nino.last().text
        await nino.press("თემები")
        await bot.tg.wait_until(lambda: ["კაბალი", "კართუბანი"] in nino.buttons(), timeout=15)
        await step(bot, nino, "კაბალი", "აუდიტორია: კაბალი")
        assert "მიმღები: 3 — Telegram 1 · SMS 2 · მიუწვდომელი 0 · გამოწერილი 1" in nino.last().text
        await nino.press("« უკან")
        await bot.tg.wait_until(
            lambda: any("✓ თემები" in row for row in nino.buttons()), timeout=15
        )
        await step(bot, nino, "გაგრძელება ➜", "როგორ გავგზავნოთ?")
        await step(bot, nino, "ჩვეულებრივი", "როდის გავგზავნოთ?")
        await nino.press("ახლავე")
        ka_preview, ru_preview, summary = await nino.replies(3)
        assert ka_preview.text.startswith("— ქართული: Telegram 0, SMS 1 —")
        assert "UCS-2 ამ სიმბოლოს გამო: «ხ» (GEORGIAN LETTER XAN)" in ka_preview.text
        assert "SMS (ლათინური): 1 ნაწილი, GSM-7 — 1 მიმღები" in ka_preview.text
        assert ru_preview.text.startswith("— Русский: Telegram 1, SMS 1 —")  # az reads Russian
        assert "SMS: 2 შეტყობინება, 3 ნაწილი ≈ 0.15 USD" in summary.text
        assert nino.buttons(summary) == [["✓ გაგზავნა"], ["✕ გაუქმება"]]

        await nino.press("✓ გაგზავნა")
        az_message = await ali_tg.reply()
        assert az_message.text == RU_TEXT + "\n\nОтписаться от сообщений: /stop"
        [olga_sms] = await bot.sms_replies("+995599500001", 1, timeout=15)
        assert olga_sms == RU_TEXT + "\nОтписаться: STOP"
        [gela_sms] = await bot.sms_replies("+995599500002", 1, timeout=15)
        assert gela_sms.startswith("khval, 10 saatze, kabalis temis tsentrshi shekhvedraa")
        assert gela_sms.endswith("shesatsqvetad: STOP")
        assert bot.tw.messages_to("+995599500003") == []  # Pona is not in the audience
        assert bot.tw.messages_to("+995599500004") == []  # opted out
        await bot.tg.wait_until(lambda: "დასრულდა ✓" in summary_text(nino), timeout=10)
        assert "3/3" in summary_text(nino)
        async with bot.rt.db.session() as session:
            [broadcast] = (await session.execute(select(Broadcast))).scalars().all()
            audit = (
                await session.execute(
                    select(AuditLog).where(AuditLog.action == "broadcast.publish")
                )
            ).scalar_one()
        assert broadcast.recipients == 3 and broadcast.reach["opted_out"] == 1
        assert audit.details["recipients"] == 3
        rows = await wait_rows(bot, broadcast_id=broadcast.id)
        assert {r.member_id for r in rows} == {ali.id, olga.id, gela.id}


async def step(bot: RunningBot, user: VirtualUser, label: str, expect: str) -> None:
    """Press a button and wait for the screen it leads to."""
    await user.press(label)
    await bot.tg.wait_until(lambda: expect in user.last().text, timeout=15)


def summary_text(user: object) -> str:
    assert isinstance(user, VirtualUser)
    return next(m.text for m in reversed(user.inbox) if "#1" in m.text)


async def test_going_over_the_sms_budget_needs_a_second_confirmation(db_url: str) -> None:
    async with delivery_bot(db_url, sms_monthly_budget=0.01, sms_price_per_part=0.05) as bot:
        nino = bot.tg.user()
        await member_for(bot, nino, role="secretariat", phone=False)
        await member_for(bot, telegram=False, phone="+995599500010")
        await nino.send("/broadcast")
        await nino.reply()
        await nino.send("საერთო კრება ორშაბათს")
        await nino.reply()
        await through_to_preview(bot, nino)
        *_, summary = await nino.replies(2)
        assert "⚠ ეს დაგზავნა თვის SMS ბიუჯეტს გადააჭარბებს" in summary.text
        await nino.press("✓ გაგზავნა")
        await bot.tg.wait_until(lambda: "ნამდვილად გავგზავნოთ?" in nino.last().text, timeout=15)
        assert "0.00 USD + ეს დაგზავნა 0.05 USD > ბიუჯეტი 0.01 USD" in nino.last().text
        assert await outbox(bot) == []  # nothing queued before the second yes
        await nino.press("დიახ, მაინც გაგზავნე")
        await bot.sms_replies("+995599500010", 1, timeout=15)
        async with bot.rt.db.session() as session:
            broadcast = (await session.execute(select(Broadcast))).scalar_one()
        assert broadcast.over_budget


async def test_a_running_broadcast_can_be_stopped(db_url: str) -> None:
    async with delivery_bot(db_url, telegram_rate_per_second=5) as bot:
        nino = bot.tg.user()
        await member_for(bot, nino, role="secretariat", phone=False)
        for _ in range(30):  # 6 s at 5 msg/s
            await member_for(bot, bot.tg.user(), phone=False)
        await nino.send("/broadcast")
        await nino.reply()
        await nino.send("ტესტი")
        await nino.reply()
        await through_to_preview(bot, nino)
        await nino.replies(2)
        await nino.press("✓ გაგზავნა")
        await bot.tg.wait_until(lambda: sum(bot.tg.send_count_by_chat().values()) >= 5, timeout=15)
        await nino.press("■ გაგზავნის შეჩერება")
        await bot.tg.wait_until(lambda: "შეჩერდა" in summary_text(nino), timeout=10)
        rows = await wait_rows(bot, broadcast_id=1)
        cancelled = [r for r in rows if r.status == OutStatus.CANCELLED]
        delivered = [r for r in rows if r.status == OutStatus.DELIVERED]
        assert len(rows) == 31  # everyone: the thirty and Nino herself
        assert cancelled and delivered and len(cancelled) + len(delivered) == 31
        counts = bot.tg.send_count_by_chat()
        for row in rows:
            if int(row.address) != nino.id:  # Nino's chat also has the previews
                assert counts.get(int(row.address), 0) == (row.status == OutStatus.DELIVERED)


async def through_to_preview(bot: RunningBot, user: VirtualUser) -> None:
    """Everyone, normal, now: from the languages screen to the preview."""
    await step(bot, user, "გაგრძელება ➜", "ვის გავუგზავნოთ?")
    await step(bot, user, "გაგრძელება ➜", "როგორ გავგზავნოთ?")
    await step(bot, user, "ჩვეულებრივი", "როდის გავგზავნოთ?")
    await user.press("ახლავე")
