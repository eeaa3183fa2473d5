"""Saved audiences as conversations: the secretariat saves one in /broadcast and picks it again
in /newpoll (same counts), /audiences lists, renames and deletes them; members are refused;
names are checked (empty, too long, taken) with the answer in the secretary's language."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from bot.i18n import t
from models.audiences import Audience, SavedAudience, save_audience
from models.audit import AuditLog
from tests.broadcast_helpers import delivery_bot, member_for
from tests.factories import community_id
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot

NAME = "კაბალის წევრები"


async def step(bot: RunningBot, user: VirtualUser, label: str, expect: str) -> str:
    """Press a button and wait for the screen it leads to; its text."""
    await user.press(label)
    await bot.tg.wait_until(lambda: expect in user.last().text, timeout=15)
    return user.last().text


async def typed(user: VirtualUser, text: str, replies: int = 1) -> list[str]:
    """Send text; the texts of the next `replies` new bot messages."""
    user.skip_unread()
    await user.send(text)
    return [m.text for m in await user.replies(replies, timeout=10)]


async def audit(bot: RunningBot, action: str) -> list[AuditLog]:
    async with bot.rt.db.session() as session:
        query = select(AuditLog).where(AuditLog.action == action).order_by(col(AuditLog.id))
        return list((await session.execute(query)).scalars())


def reach_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("მიმღები:"))


async def test_secretariat_saves_an_audience_in_broadcast_and_reuses_it_in_newpoll(
    db_url: str,
) -> None:
    async with delivery_bot(db_url) as bot:
        nino = bot.tg.user()
        secretary = await member_for(bot, nino, role="secretariat", phone=False)
        await member_for(bot, bot.tg.user(), community="kabali", phone=False)
        await member_for(bot, telegram=False, phone="+995599500101", community="kabali")
        await member_for(bot, telegram=False, phone="+995599500102", community="kabali",
                         consent_announcements=False)  # fmt: skip
        await member_for(bot, telegram=False, phone="+995599500103", community="pona")

        await nino.send("/broadcast")
        await nino.reply()
        await nino.send("ხვალ შეხვედრაა თემის ცენტრში")
        await nino.reply()
        await step(bot, nino, "გაგრძელება ➜", "ვის გავუგზავნოთ?")
        assert ["📂 შენახული", "💾 შენახვა როგორც…"] in nino.buttons()
        await nino.press("თემები")
        screen = await step(bot, nino, "კაბალი", "აუდიტორია: კაბალი")
        in_broadcast = reach_line(screen)
        assert in_broadcast == "მიმღები: 2 — Telegram 1 · SMS 1 · მიუწვდომელი 0 · გამოწერილი 1"
        await step(bot, nino, "« უკან", "აუდიტორია: კაბალი")
        await step(bot, nino, "💾 შენახვა როგორც…", "დაწერეთ ამ აუდიტორიის სახელი")

        refusal, again = await typed(nino, "   ", replies=2)
        assert refusal == "სახელი ცარიელია. დაწერეთ აუდიტორიის სახელი."
        assert "დაწერეთ ამ აუდიტორიის სახელი" in again  # still asking
        [refusal, _] = await typed(nino, "ა" * 41, replies=2)
        assert refusal.startswith("სახელი გრძელია: 41 სიმბოლო, შეიძლება არაუმეტეს 40-ისა.")
        saved, picker = await typed(nino, f"  {NAME} ", replies=2)
        assert saved == f"✅ აუდიტორია შენახულია: „{NAME}“"
        assert "აუდიტორია: კაბალი" in picker and "გაგრძელება ➜" in nino.last().labels
        await step(bot, nino, "✕ გაუქმება", "დაგზავნა გაუქმდა")

        await nino.send("/newpoll")
        await nino.reply()
        await nino.send("როდის შევხვდეთ?")
        await nino.reply()
        await nino.send("ორშაბათს\nსამშაბათს")
        await nino.reply()
        await step(bot, nino, "✅ მზადაა", "ნაბიჯი 3/8")
        await step(bot, nino, "ერთი პასუხი", "ნაბიჯი 4/8")
        screen = await step(bot, nino, "🕶 ანონიმური", "ნაბიჯი 5/8")
        assert "აუდიტორია: ყველა" in screen
        await nino.press("📂 შენახული")
        await bot.tg.wait_until(lambda: NAME in nino.last().labels, timeout=15)
        screen = await step(bot, nino, NAME, "აუდიტორია: კაბალი")
        assert reach_line(screen) == in_broadcast  # the same members, counted the same way
        assert "შემდეგი ➜" in nino.last().labels  # back on the main screen, still editable
        await step(bot, nino, "ასაკი: ნებისმიერი", "აუდიტორია: კაბალი · მხოლოდ ახალგაზრდები")
        await step(bot, nino, "💾 შენახვა როგორც…", "დაწერეთ ამ აუდიტორიის სახელი")
        [taken] = await typed(nino, NAME)  # /newpoll answers above its screen, in one message
        assert taken.startswith(f"„{NAME}“ უკვე არსებობს. აირჩიეთ სხვა სახელი.\n\nნაბიჯი 5/8")

        async with bot.rt.db.session() as session:
            kabali = await community_id(session, "kabali")
            [row] = (await session.execute(select(SavedAudience))).scalars().all()
        assert (row.name, row.filter, row.created_by) == (NAME, {"communities": [kabali]},
                                                          secretary.id)  # fmt: skip
        [saved_audit] = await audit(bot, "audience.save")
        assert saved_audit.actor_member_id == secretary.id and saved_audit.target == NAME


async def test_audiences_lists_counts_renames_and_deletes_after_a_confirmation(
    db_url: str,
) -> None:
    async with delivery_bot(db_url) as bot:
        nino = bot.tg.user()
        secretary = await member_for(bot, nino, role="secretariat", phone=False)
        await member_for(bot, telegram=False, community="kabali", birth_year=2005)
        await member_for(bot, bot.tg.user(), community="pona", phone=False)
        async with bot.rt.db.session() as session:
            kabali = await community_id(session, "kabali")
            for name, audience in (("ახალგაზრდები", Audience(youth=True)),
                                   ("კაბალი", Audience(communities=[kabali]))):  # fmt: skip
                await save_audience(session=session, name=name, audience=audience, actor=None)

        await nino.send("/audiences")
        listing = (await nino.reply()).text
        assert "1. ახალგაზრდები: მხოლოდ ახალგაზრდები\n   მიმღები: 1 — Telegram 0 · SMS 1" in listing
        assert "2. კაბალი: კაბალი\n   მიმღები: 1 — Telegram 0 · SMS 1" in listing
        assert nino.buttons() == [["✎ 1", "🗑 1"], ["✎ 2", "🗑 2"]]

        await nino.press("✎ 2")
        assert "ახალი სახელი „კაბალი“-სთვის" in (await nino.reply()).text
        [taken] = await typed(nino, "ახალგაზრდები")
        assert taken == "„ახალგაზრდები“ უკვე არსებობს. აირჩიეთ სხვა სახელი."
        [renamed] = await typed(nino, "კაბალის თემი")
        assert renamed == "✅ გადარქმეულია: „კაბალი“ → „კაბალის თემი“"

        await nino.press("🗑 1")
        assert "წავშალოთ შენახული აუდიტორია „ახალგაზრდები“?" in (await nino.reply()).text
        await nino.press("არა, დატოვე")
        await bot.tg.wait_until(lambda: "არაფერი წაშლილა" in nino.last().text, timeout=10)
        await nino.press("🗑 1")
        await nino.reply()
        await nino.press("🗑 დიახ, წაშალე")
        await bot.tg.wait_until(lambda: "🗑 წაიშალა: „ახალგაზრდები“" in nino.last().text)

        async with bot.rt.db.session() as session:
            names = [s.name for s in (await session.execute(select(SavedAudience))).scalars()]
        assert names == ["კაბალის თემი"]
        [rename] = await audit(bot, "audience.rename")
        [delete] = await audit(bot, "audience.delete")
        assert rename.actor_member_id == delete.actor_member_id == secretary.id
        assert rename.details["before"] == "კაბალი" and delete.target == "ახალგაზრდები"
        nino.skip_unread()
        await nino.send("/audiences")
        assert "1. კაბალის თემი" in (await nino.reply()).text


@pytest.mark.parametrize("role", ["member", "board"])
async def test_only_the_secretariat_may_manage_saved_audiences(db_url: str, role: str) -> None:
    async with delivery_bot(db_url) as bot:
        giorgi = bot.tg.user()
        member = await member_for(bot, giorgi, role=role, phone=False)
        async with bot.rt.db.session() as session:
            await save_audience(session=session, name="ყველა", audience=Audience(), actor=None)
        await giorgi.send("/audiences")
        assert (await giorgi.reply()).text == t("core.not_allowed", "ka")
        [refused] = await audit(bot, "access.refused")
        assert refused.actor_member_id == member.id and "/audiences" in refused.target
        assert await audit(bot, "audience.delete") == []


@pytest.mark.parametrize("language", ["ka", "az", "ru", "en"])
async def test_a_bad_name_is_explained_in_the_secretarys_language(
    db_url: str, language: str
) -> None:
    async with delivery_bot(db_url) as bot:
        leyla = bot.tg.user(language_code=language)
        await member_for(bot, leyla, role="secretariat", phone=False, language=language)
        async with bot.rt.db.session() as session:
            for name in ("Kabali", "Pona"):
                await save_audience(session=session, name=name, audience=Audience(), actor=None)
        await leyla.send("/audiences")
        await leyla.reply()
        await leyla.press("✎ 1")
        assert (await leyla.reply()).text == t(
            "audiences.ask_rename", language, name="Kabali", limit=40
        )
        answers = [
            (await typed(leyla, "   "))[0],
            (await typed(leyla, "k" * 41))[0],
            (await typed(leyla, "PONA"))[0],  # taken, whatever the letter case
        ]
        assert answers == [
            t("audiences.err_name_empty", language),
            t("audiences.err_name_long", language, limit=40, length=41),
            t("audiences.err_name_taken", language, name="PONA"),
        ]
        if language != "ka":
            assert answers[0] != t("audiences.err_name_empty", "ka")
        [renamed] = await typed(leyla, "Kabali youth")
        assert renamed == t("audiences.renamed", language, before="Kabali", name="Kabali youth")
