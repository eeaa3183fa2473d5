"""Youth initiatives on Telegram, as conversations: /initiatives, one-button sign-up, the
reserve list and its promotion, lead notices, /team (contacts for the lead and the secretariat
only), /propose → secretariat review → the proposer told, and /announce_initiative."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

import handlers.youth_propose
from models.audit import AuditLog
from models.dialogs import Dialog
from models.youth import Initiative, InitiativeStatus
from models.youth_signups import YouthSignup
from tests.events_support import DAYTIME, patient, secretariat, tg_member  # noqa: F401
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot, running_bot
from tests.youth_support import admin, open_initiative, young_year

pytestmark = pytest.mark.usefixtures("patient")


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, **DAYTIME) as running:
        yield running


def has(user: VirtualUser, text: str) -> bool:
    return any(text in body for body in user.texts())


async def setup_initiative(bot: RunningBot, *, size: int = 2) -> tuple[VirtualUser, Initiative]:
    lead_user, lead = await tg_member(bot, name="ლიდერი ლაშა", birth_year=young_year(22))
    async with bot.rt.db.session() as session:
        secretary = await admin(session, telegram=False)
        initiative = await open_initiative(session, lead=lead, by=secretary, size=size)
    return lead_user, initiative


async def test_youth_sees_the_open_initiative_and_signs_up_with_one_button(
    bot: RunningBot,
) -> None:
    lead_user, initiative = await setup_initiative(bot)
    user, member = await tg_member(
        bot, name="ნინო ჯაფარიძე", birth_year=young_year(19), village="კართუბანი"
    )
    await user.send("/initiatives")
    listing = (await user.reply()).text
    assert f"Y{initiative.id} · სკოლის ეზოს გამწვანება" in listing
    assert "თავისუფალია 2 ადგილი 2-დან" in listing and "ჩაწერა" in listing
    await user.press(f"Y{initiative.id} · სკოლის ეზოს გამწვანება")
    await user.press("✋ ჩაწერა")
    await bot.tg.wait_until(lambda: has(user, "✅ თქვენ გუნდში ხართ."))
    # The lead hears at once, with name and village.
    await bot.tg.wait_until(lambda: has(lead_user, "✋ ახალი მონაწილე: ნინო ჯაფარიძე (კართუბანი)"))
    assert has(lead_user, "თავისუფალი ადგილები: 1 / 2")
    # Optional extras: a skill and a "why me" line.
    await user.press("სოციალური მედია")
    await bot.tg.wait_until(lambda: any(["✓ სოციალური მედია"] in m.buttons for m in user.inbox))
    await user.press("✍️ რატომ მე — ერთი წინადადება")
    await bot.tg.wait_until(lambda: has(user, "დაწერეთ ერთი მოკლე წინადადება"))
    await user.send("ვიცი ინსტაგრამი და მიყვარს ხეები")
    await bot.tg.wait_until(lambda: has(user, "მადლობა, ლიდერი ამას ნახავს."))
    async with bot.rt.db.session() as session:
        row = (await session.execute(select(YouthSignup))).scalars().one()
    assert row.member_id == member.id and row.channel == "telegram"
    assert row.skills == ["social_media"] and row.why == "ვიცი ინსტაგრამი და მიყვარს ხეები"


async def test_full_team_puts_the_next_on_the_reserve_list_and_a_withdrawal_promotes(
    bot: RunningBot,
) -> None:
    lead_user, initiative = await setup_initiative(bot, size=1)
    first, _ = await tg_member(bot, name="პირველი", birth_year=young_year(18))
    second, _ = await tg_member(bot, name="მეორე", birth_year=young_year(18))
    for user in (first, second):
        await user.send("/initiatives")
        await user.reply()
        await user.press(f"Y{initiative.id} · სკოლის ეზოს გამწვანება")
    await first.press("✋ ჩაწერა")
    await bot.tg.wait_until(lambda: has(first, "✅ თქვენ გუნდში ხართ."))
    await second.send("/initiatives")
    assert "გუნდი სავსეა — სარეზერვო სიაში: 0" in (await second.reply()).text
    await second.press(f"Y{initiative.id} · სკოლის ეზოს გამწვანება")
    await second.press("⏳ სარეზერვო სიაში ჩაწერა")
    await bot.tg.wait_until(lambda: has(second, "სარეზერვო სიაში ხართ, რიგით 1."))
    await bot.tg.wait_until(lambda: has(lead_user, "⏳ სარეზერვო სიაში ჩაეწერა: მეორე"))
    await first.press("გასვლა")
    await bot.tg.wait_until(lambda: has(second, "კარგი ამბავი: ადგილი გათავისუფლდა"))
    await bot.tg.wait_until(lambda: has(lead_user, "↩️ გავიდა: პირველი"))
    await bot.tg.wait_until(lambda: has(lead_user, "⬆️ სარეზერვო სიიდან გუნდში გადავიდა: მეორე"))
    async with bot.rt.db.session() as session:
        status = (await session.get(Initiative, initiative.id, populate_existing=True)).status  # type: ignore[union-attr]
    assert status == InitiativeStatus.FULL


async def test_only_the_lead_and_the_secretariat_see_the_team_contacts(bot: RunningBot) -> None:
    lead_user, initiative = await setup_initiative(bot)
    member_user, member = await tg_member(
        bot, name="ანა", birth_year=young_year(20), village="ნინიგორი"
    )
    await member_user.send("/initiatives")
    await member_user.reply()
    await member_user.press(f"Y{initiative.id} · სკოლის ეზოს გამწვანება")
    await member_user.press("✋ ჩაწერა")
    await bot.tg.wait_until(lambda: has(lead_user, "✋ ახალი მონაწილე: ანა"))
    lead_user.skip_unread()
    await lead_user.send(f"/team Y{initiative.id}")
    team = (await lead_user.reply()).text
    assert "1. ანა · ნინიგორი · " + str(member.phone) in team
    # A teammate asks for the same list: no contacts.
    member_user.skip_unread()
    await member_user.send(f"/team Y{initiative.id}")
    refusal = (await member_user.reply()).text
    assert "მხოლოდ ინიციატივის ლიდერი და სამდივნო" in refusal
    assert str(member.phone) not in refusal
    secretary_user, _ = await secretariat(bot)
    await secretary_user.send(f"/team Y{initiative.id}")
    assert str(member.phone) in (await secretary_user.reply()).text


async def test_propose_then_secretariat_approves_and_the_proposer_is_told(bot: RunningBot) -> None:
    secretary_user, _ = await secretariat(bot)
    user, _ = await tg_member(bot, name="ლუკა", birth_year=young_year(17))
    await user.send("/propose")
    await user.replies(2)
    await user.send("ნაგვის შეგროვება მდინარის პირას")
    await user.reply()
    await user.send("ვასუფთავებთ ლაგოდეხისწყლის ნაპირს.")
    await user.reply()
    await user.press("კაბალი")
    await user.reply()
    await user.send("ბევრი")  # not a number
    assert "დაწერეთ რიცხვი 1-დან 200-მდე" in (await user.reply()).text
    await user.send("6")
    await user.reply()
    await user.press("ეკოლოგია")
    await bot.tg.wait_until(lambda: any(["✓ ეკოლოგია"] in m.buttons for m in user.inbox))
    await user.press("მზადაა ➡️")
    await user.reply()
    await user.send("31.02.2099")  # no such day
    assert "თარიღი ვერ გავიგე" in (await user.reply()).text
    await user.send("20.12.2099")
    await user.reply()
    await user.send("05.01.2100")
    await user.reply()
    await user.press("დიახ")
    summary = (await user.reply()).text
    assert "„ნაგვის შეგროვება მდინარის პირას“ · გუნდი: 6" in summary
    await user.press("📨 გაგზავნა")
    await bot.tg.wait_until(lambda: has(user, "გაეგზავნა სამდივნოს"))
    card = await secretary_user.reply()
    assert "📬 ახალგაზრდის ახალი შეთავაზება" in card.text and "ავტორი: ლუკა" in card.text
    assert "სად: კაბალი" in card.text and "უნარები: ეკოლოგია" in card.text
    assert secretary_user.buttons(card) == [
        ["✅ დამტკიცება"],
        ["✏️ ცვლილებების თხოვნა"],
        ["❌ უარყოფა"],
    ]
    await secretary_user.press("✅ დამტკიცება")
    await bot.tg.wait_until(
        lambda: has(user, "🎉 თქვენი ინიციატივა „ნაგვის შეგროვება მდინარის პირას“ დამტკიცდა!")
    )
    async with bot.rt.db.session() as session:
        initiative = (await session.execute(select(Initiative))).scalars().one()
    assert initiative.status == InitiativeStatus.OPEN and initiative.target_size == 6
    assert initiative.skills == ["ecology"] and initiative.allows_non_youth


async def test_secretariat_declines_with_a_reason_the_proposer_reads_it(bot: RunningBot) -> None:
    secretary_user, _ = await secretariat(bot)
    user, proposer = await tg_member(bot, birth_year=young_year(20))
    async with bot.rt.db.session() as session:
        from handlers.youth_notify import proposal_to_secretariat
        from models.base import utcnow
        from models.youth import propose_initiative
        from tests.youth_support import draft

        initiative = await propose_initiative(
            session=session, draft=draft(), proposer=proposer, now=utcnow()
        )
        await proposal_to_secretariat(bot.rt, session, initiative)
    bot.rt.delivery.wake()
    await secretary_user.reply()
    await secretary_user.press("❌ უარყოფა")
    assert "დაწერეთ უარის მიზეზი" in (await secretary_user.reply()).text
    await secretary_user.send("იგივე უკვე კეთდება მუნიციპალიტეტის მიერ")
    await bot.tg.wait_until(lambda: has(secretary_user, "უარყოფილია; ავტორს მიზეზი ეცნობა"))
    await bot.tg.wait_until(lambda: has(user, "მიზეზი: იგივე უკვე კეთდება მუნიციპალიტეტის მიერ"))


async def test_a_member_cannot_review_proposals_even_with_a_forged_button(
    bot: RunningBot,
) -> None:
    user, proposer = await tg_member(bot, birth_year=young_year(20))
    await user.send("/proposals")
    assert "მხოლოდ სამდივნოსთვისაა" in (await user.reply()).text
    async with bot.rt.db.session() as session:
        from models.base import utcnow
        from models.youth import propose_initiative
        from tests.youth_support import draft

        initiative = await propose_initiative(
            session=session, draft=draft(), proposer=proposer, now=utcnow()
        )
    await user.send("/initiatives")
    listing = await user.reply()
    await user.press_data(f"yr:a:{initiative.id}", message=listing)
    await bot.tg.wait_until(lambda: user.callback_answers[-1])
    async with bot.rt.db.session() as session:
        again = await session.get(Initiative, initiative.id)
        refused = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "access.refused")))
            .scalars()
            .all()
        )
    assert again is not None and again.status == InitiativeStatus.PROPOSED
    assert any(a.target == f"yr:a:{initiative.id}" for a in refused)


async def test_announcement_reaches_youth_in_their_language_only(bot: RunningBot) -> None:
    _, initiative = await setup_initiative(bot)
    secretary_user, _ = await secretariat(bot)
    young_az, _ = await tg_member(bot, language="az", birth_year=young_year(21))
    young_ka, _ = await tg_member(bot, birth_year=young_year(16))
    elder, _ = await tg_member(bot, birth_year=1960)
    await secretary_user.send(f"/announce_initiative Y{initiative.id}")
    assert f"Y{initiative.id} გამოცხადდა" in (await secretary_user.reply()).text
    await bot.tg.wait_until(
        lambda: (
            has(young_az, "🌱 Gənclər təşəbbüsü: Greening the school yard")
            or has(young_az, "🌱 Gənclər təşəbbüsü: სკოლის ეზოს გამწვანება")
        )
    )
    await bot.tg.wait_until(
        lambda: has(young_ka, "🌱 ახალგაზრდული ინიციატივა: სკოლის ეზოს გამწვანება")
    )
    assert has(young_ka, f"SIGNUP Y{initiative.id}")
    assert not elder.texts()

    # The announcement carries the sign-up button: one press signs up (as in /initiatives).
    await young_ka.press("✋ ჩაწერა")
    await bot.tg.wait_until(lambda: has(young_ka, "✅ თქვენ გუნდში ხართ."))
    await young_az.press("✋ Qoşulmaq")
    await bot.tg.wait_until(lambda: has(young_az, "✅ Siz komandadasınız."))
    async with bot.rt.db.session() as session:
        rows = (await session.execute(select(YouthSignup))).scalars().all()
    assert len(rows) == 2 and all(r.initiative_id == initiative.id for r in rows)


async def join(bot: RunningBot, user: VirtualUser, initiative: Initiative) -> None:
    await user.send("/initiatives")
    await user.reply()
    await user.press(f"Y{initiative.id} · სკოლის ეზოს გამწვანება")
    await user.press("✋ ჩაწერა")
    await bot.tg.wait_until(lambda: has(user, "✅ თქვენ გუნდში ხართ."))
    await bot.tg.wait_until(lambda: has(user, "გსურთ, დაამატოთ, რატომ თქვენ"))


async def test_the_lead_starts_then_finishes_and_the_team_is_told(bot: RunningBot) -> None:
    lead_user, initiative = await setup_initiative(bot)
    member_user, _ = await tg_member(bot, name="ანა", birth_year=young_year(20))
    await join(bot, member_user, initiative)
    await bot.tg.wait_until(lambda: has(lead_user, "✋ ახალი მონაწილე: ანა"))
    # A teammate may not move it on.
    member_user.skip_unread()
    await member_user.send(f"/finish_initiative Y{initiative.id}")
    assert "მხოლოდ ინიციატივის ლიდერი ან სამდივნო" in (await member_user.reply()).text
    # Finishing skips "running": refused, the statuses named.
    lead_user.skip_unread()
    await lead_user.send(f"/finish_initiative Y{initiative.id}")
    refusal = (await lead_user.reply()).text
    assert "სტატუსი ახლა არის „ღიაა ჩაწერისთვის“ — „დასრულებულია“" in refusal
    # The card has a Start button for the lead.
    await lead_user.send("/initiatives")
    await lead_user.reply()
    await lead_user.press(f"Y{initiative.id} · სკოლის ეზოს გამწვანება")
    await lead_user.press("▶️ დაწყება")
    await bot.tg.wait_until(lambda: has(member_user, "▶️ ინიციატივა „სკოლის ეზოს გამწვანება“"))
    await bot.tg.wait_until(lambda: any(["🏁 დასრულება"] in m.buttons for m in lead_user.inbox))
    lead_user.skip_unread()
    await lead_user.send(f"/finish_initiative Y{initiative.id}")
    done = (await lead_user.reply()).text
    assert f"🏁 Y{initiative.id} დასრულდა." in done and "შეტყობინება მიიღებს: 1" in done
    await bot.tg.wait_until(lambda: has(member_user, "მადლობა მონაწილეობისთვის!"))
    async with bot.rt.db.session() as session:
        again = await session.get(Initiative, initiative.id, populate_existing=True)
        actions = [
            a.action
            for a in (await session.execute(select(AuditLog))).scalars()
            if a.target and a.target.startswith(f"youth:{initiative.id}")
        ]
    assert again is not None and again.status == InitiativeStatus.FINISHED
    assert "youth.started" in actions and "youth.finished" in actions
    assert "access.refused" in actions  # the teammate's try


async def test_the_lead_adds_an_azerbaijani_text_members_read_it(bot: RunningBot) -> None:
    lead_user, initiative = await setup_initiative(bot)
    reader_az, _ = await tg_member(bot, language="az", birth_year=young_year(18))
    reader_ru, _ = await tg_member(bot, language="ru", birth_year=young_year(18))
    await lead_user.send(f"/initiative_text Y{initiative.id} az")
    assert "პირველ ხაზზე სახელი" in (await lead_user.reply()).text
    await lead_user.send("Məktəb həyətinin yaşıllaşdırılması\nMəktəbin həyətində ağac əkirik.")
    assert "ტექსტი ენაზე AZ შენახულია" in (await lead_user.reply()).text
    await reader_az.send("/initiatives")
    assert "Məktəb həyətinin yaşıllaşdırılması" in (await reader_az.reply()).text
    await reader_az.press(f"Y{initiative.id} · Məktəb həyətinin yaşıllaşdırılması")
    await bot.tg.wait_until(lambda: has(reader_az, "Məktəbin həyətində ağac əkirik."))
    await reader_ru.send("/initiatives")  # no Russian text: Georgian (ru → ka)
    assert "სკოლის ეზოს გამწვანება" in (await reader_ru.reply()).text


async def test_a_long_why_line_is_shortened_and_the_member_told(bot: RunningBot) -> None:
    _, initiative = await setup_initiative(bot)
    user, _ = await tg_member(bot, birth_year=young_year(19))
    await join(bot, user, initiative)
    await user.press("✍️ რატომ მე — ერთი წინადადება")
    await bot.tg.wait_until(lambda: has(user, "დაწერეთ ერთი მოკლე წინადადება"))
    await user.send("მიყვარს ხეები. " * 20)
    await bot.tg.wait_until(lambda: has(user, "ტექსტი 200 სიმბოლოზე გრძელი იყო"))
    async with bot.rt.db.session() as session:
        row = (await session.execute(select(YouthSignup))).scalars().one()
    assert len(row.why) == 200 and row.why.startswith("მიყვარს ხეები. მიყვარს")


async def start_proposal_at_skills(bot: RunningBot) -> VirtualUser:
    user, _ = await tg_member(bot, name="ლუკა", birth_year=young_year(17))
    await user.send("/propose")
    await user.replies(2)
    for answer in ("ხეების დარგვა", "ვრგავთ ხეებს."):
        await user.send(answer)
        await user.reply()
    await user.press("მთელი მუნიციპალიტეტი")
    await user.reply()
    await user.send("5")
    await user.reply()  # the skills buttons
    return user


@pytest.fixture
def slow_dialog_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the gap between reading the dialog row and writing it (as a busy server does)."""
    original = handlers.youth_propose._locked_dialog

    async def slow(session: AsyncSession, address: str) -> Dialog | None:
        found = await original(session, address)
        await asyncio.sleep(0.3)
        return found

    monkeypatch.setattr(handlers.youth_propose, "_locked_dialog", slow)


@pytest.mark.usefixtures("slow_dialog_read")
async def test_fast_taps_in_propose_lose_no_answer(bot: RunningBot) -> None:
    user = await start_proposal_at_skills(bot)
    await asyncio.gather(
        user.press("ეკოლოგია"), user.press("სოციალური მედია"), user.press("დიზაინი")
    )

    async def chosen() -> list[str]:
        async with bot.rt.db.session() as session:
            dialog = (await session.execute(select(Dialog))).scalars().one()
        return sorted(dialog.data.get("skills", []))

    async def all_three() -> bool:
        return await chosen() == ["design", "ecology", "social_media"]

    for _ in range(50):
        if await all_three():
            break
        await asyncio.sleep(0.2)
    assert await chosen() == ["design", "ecology", "social_media"]


@pytest.mark.usefixtures("slow_dialog_read")
async def test_a_double_tap_on_send_sends_one_proposal(bot: RunningBot) -> None:
    secretary_user, _ = await secretariat(bot)
    user = await start_proposal_at_skills(bot)
    await user.press("მზადაა ➡️")
    await user.reply()
    await user.send("20.12.2099")
    await user.reply()
    await user.send("05.01.2100")
    await user.reply()
    await user.press("არა")
    await user.reply()
    await asyncio.gather(user.press("📨 გაგზავნა"), user.press("📨 გაგზავნა"))
    await bot.tg.wait_until(lambda: has(user, "გაეგზავნა სამდივნოს"))
    await bot.tg.wait_until(
        lambda: (
            len(user.callback_answers) >= 2
            and all(a is not None for a in user.callback_answers[-2:])
        )
    )
    await secretary_user.reply()
    async with bot.rt.db.session() as session:
        proposals = (await session.execute(select(Initiative))).scalars().all()
    assert len(proposals) == 1
    assert sum("გაეგზავნა სამდივნოს" in text for text in user.texts()) == 1


async def test_secretariat_sees_participation_by_community_gender_and_age(
    bot: RunningBot,
) -> None:
    _, initiative = await setup_initiative(bot, size=5)
    girl, _ = await tg_member(bot, gender="female", community="kabali", birth_year=young_year(16))
    boy, _ = await tg_member(bot, gender="male", birth_year=young_year(27))
    for user in (girl, boy):
        await join(bot, user, initiative)
    girl.skip_unread()
    await girl.send("/youthstats")  # members do not see the numbers
    assert "მხოლოდ სამდივნოსთვისაა" in (await girl.reply()).text
    secretary_user, _ = await secretariat(bot)
    await secretary_user.send("/youthstats")
    stats = (await secretary_user.reply()).text
    assert "ახალგაზრდების ჩართულობა: 2 ჩაწერა, 2 ადამიანი" in stats
    assert "ღიაა ჩაწერისთვის: 1" in stats
    assert "კაბალი: 1" in stats and "ქ. ლაგოდეხი: 1" in stats
    assert "ქალი: 1" in stats and "კაცი: 1" in stats
    assert "0-17: 1" in stats and "25-29: 1" in stats


async def test_the_lead_makes_the_team_larger_and_the_reserve_is_promoted(bot: RunningBot) -> None:
    """✏️ on the card → 👥 team size → a number: the first on the reserve list is in the team
    and told, and the lead is told who joined; a number below the team is refused; the change
    is audited."""
    lead_user, initiative = await setup_initiative(bot, size=1)
    first, _ = await tg_member(bot, name="პირველი", birth_year=young_year(18))
    second, _ = await tg_member(bot, name="მეორე", birth_year=young_year(18))
    await join(bot, first, initiative)
    await second.send("/initiatives")
    await second.reply()
    await second.press(f"Y{initiative.id} · სკოლის ეზოს გამწვანება")
    await second.press("⏳ სარეზერვო სიაში ჩაწერა")
    await bot.tg.wait_until(lambda: has(second, "სარეზერვო სიაში ხართ, რიგით 1."))
    await bot.tg.wait_until(lambda: has(lead_user, "⏳ სარეზერვო სიაში ჩაეწერა: მეორე"))
    lead_user.skip_unread()
    await lead_user.send("/initiatives")
    await lead_user.reply()
    await lead_user.press(f"Y{initiative.id} · სკოლის ეზოს გამწვანება")
    await lead_user.press("✏️ შეცვლა")
    await bot.tg.wait_until(lambda: has(lead_user, "გუნდის ზომა: 1 (გუნდშია: 1, რეზერვში: 1)"))
    lead_user.skip_unread()
    await lead_user.press("👥 გუნდის ზომა")
    assert "რამდენი ადამიანი უნდა იყოს გუნდში" in (await lead_user.reply()).text
    await lead_user.send("ბევრი")
    assert "დაწერეთ რიცხვი 1-დან 200-მდე" in (await lead_user.reply()).text
    await lead_user.send("3")
    answers = [m.text for m in await lead_user.replies(2)]  # in either order
    [saved] = [text for text in answers if "შენახულია" in text]
    assert f"✅ Y{initiative.id}: შენახულია." in saved
    [joined] = [text for text in answers if text != saved]  # the lead is told who joined
    assert joined.startswith("⬆️ სარეზერვო სიიდან გუნდში გადავიდა: მეორე (")
    assert "რეზერვიდან გუნდში გადავიდა: 1" in saved
    assert "გუნდის ზომა: 3 (გუნდშია: 2, რეზერვში: 0)" in saved
    await bot.tg.wait_until(lambda: has(second, "კარგი ამბავი: ადგილი გათავისუფლდა"))
    # Smaller than the team: refused, nothing changes.
    await lead_user.press("👥 გუნდის ზომა")
    await lead_user.reply()
    await lead_user.send("1")
    refused = (await lead_user.reply()).text
    assert "გუნდში უკვე 2 ადამიანია" in refused and "გუნდის ზომა: 3" in refused
    async with bot.rt.db.session() as session:
        again = await session.get(Initiative, initiative.id, populate_existing=True)
        updates = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "youth.updated")))
            .scalars()
            .all()
        )
    assert again is not None and again.target_size == 3
    assert again.status == InitiativeStatus.OPEN
    assert [u.details["changes"] for u in updates] == [{"target_size": [1, 3]}]


async def test_the_secretariat_moves_the_dates_and_the_team_hears(bot: RunningBot) -> None:
    _, initiative = await setup_initiative(bot)
    member_user, _ = await tg_member(bot, name="ანა", language="en", birth_year=young_year(20))
    await join_en(bot, member_user, initiative)
    secretary_user, _ = await secretariat(bot)
    await secretary_user.send(f"/edit_initiative Y{initiative.id}")
    await secretary_user.reply()
    await secretary_user.press("📅 ჩაწერის ვადა")
    assert "ჩაწერის ახალი ბოლო დღე" in (await secretary_user.reply()).text
    await secretary_user.send("31.02.2099")
    assert "თარიღი ვერ გავიგე" in (await secretary_user.reply()).text
    await secretary_user.send("01.01.2020")
    assert "ეს თარიღი უკვე გავიდა" in (await secretary_user.reply()).text
    await secretary_user.press("🚀 დაწყების თარიღი")
    await secretary_user.reply()
    await secretary_user.send("07.01.2100")  # Orthodox Christmas: saved, with the warning
    saved = (await secretary_user.reply()).text
    assert "შენახულია" in saved and "7 იანვარი 2100 უქმე დღეა (შობა)" in saved
    await secretary_user.press("📅 ჩაწერის ვადა")
    await secretary_user.reply()
    await secretary_user.send("20.12.2099")
    assert "შენახულია" in (await secretary_user.reply()).text
    await bot.tg.wait_until(
        lambda: (
            has(member_user, "📅 New dates — Greening the school yard")
            and has(member_user, "sign up by 20.12.2099, starts 07.01.2100")
        )
    )
    # Community and helpers by buttons.
    await secretary_user.press("📍 თემი")
    await secretary_user.press("კაბალი")
    await bot.tg.wait_until(lambda: has(secretary_user, "სად: კაბალი"))
    await secretary_user.press("🤝 არაახალგაზრდა დამხმარეები: ჩართვა/გამორთვა")
    await bot.tg.wait_until(lambda: has(secretary_user, "არაახალგაზრდა დამხმარეები: დიახ"))
    async with bot.rt.db.session() as session:
        again = await session.get(Initiative, initiative.id, populate_existing=True)
    assert again is not None and again.allows_non_youth
    assert again.signup_deadline.astimezone(bot.rt.settings.tz).date().isoformat() == "2099-12-20"


async def join_en(bot: RunningBot, user: VirtualUser, initiative: Initiative) -> None:
    await user.send("/initiatives")
    await user.reply()
    await user.press(f"Y{initiative.id} · Greening the school yard")
    await user.press("✋ Sign up")
    await bot.tg.wait_until(lambda: has(user, "✅ You are on the team."))


async def test_a_teammate_cannot_edit_even_with_a_forged_button(bot: RunningBot) -> None:
    _, initiative = await setup_initiative(bot)
    member_user, _ = await tg_member(bot, name="ანა", birth_year=young_year(20))
    await join(bot, member_user, initiative)
    member_user.skip_unread()
    await member_user.send(f"/edit_initiative Y{initiative.id}")
    assert "მხოლოდ ინიციატივის ლიდერი ან სამდივნო" in (await member_user.reply()).text
    await member_user.press_data(f"ye:h:{initiative.id}")
    await bot.tg.wait_until(lambda: member_user.callback_answers[-1])
    async with bot.rt.db.session() as session:
        again = await session.get(Initiative, initiative.id, populate_existing=True)
        refused = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "access.refused")))
            .scalars()
            .all()
        )
    assert again is not None and not again.allows_non_youth
    assert [a.target for a in refused] == [f"youth:{initiative.id}:edit"] * 2
