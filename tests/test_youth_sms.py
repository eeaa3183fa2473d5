"""Youth initiatives by SMS, as villagers type them: YOUTH, SIGNUP Y4 (in four scripts),
LEAVE Y4, the reserve list, the lead told at once, and a clear answer for every mistake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from models.members import Member
from models.youth import Initiative
from models.youth_signups import YouthSignup
from tests.events_support import DAYTIME, patient, secretariat, sms_member, tg_member  # noqa: F401
from tests.harness import RunningBot, running_bot
from tests.youth_support import admin, open_initiative, young_year

pytestmark = pytest.mark.usefixtures("patient")


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, **DAYTIME) as running:
        yield running


async def lead_and_initiative(bot: RunningBot, *, size: int = 2) -> tuple[Member, Initiative]:
    lead = await sms_member(bot, name="ლიდერი", birth_year=young_year(24))
    async with bot.rt.db.session() as session:
        secretary = await admin(session, telegram=False, phone=False)
        initiative = await open_initiative(session, lead=lead, by=secretary, size=size)
    return lead, initiative


async def test_youth_lists_open_initiatives_with_codes(bot: RunningBot) -> None:
    _, initiative = await lead_and_initiative(bot)
    villager = await sms_member(bot, birth_year=young_year(18))
    [reply] = await bot.sms(villager.phone or "", "YOUTH")
    assert f"Y{initiative.id} სკოლის ეზოს გამწვანება — ადგილი: 2" in reply
    assert f"ჩასაწერად: SIGNUP Y{initiative.id}" in reply


async def test_signup_by_sms_tells_the_lead_and_leave_withdraws(bot: RunningBot) -> None:
    lead, initiative = await lead_and_initiative(bot)
    villager = await sms_member(bot, name="ელენე", village="ჭიაური", birth_year=young_year(19))
    code = f"Y{initiative.id}"
    [reply] = await bot.sms(villager.phone or "", f"SIGNUP {code} მიყვარს ბუნება")
    assert reply.startswith("ჩაწერილი ხართ: სკოლის ეზოს გამწვანება")
    assert f"LEAVE {code}" in reply
    [notice] = await bot.sms_replies(lead.phone or "", 1)
    assert "✋ ახალი მონაწილე: ელენე (ჭიაური)" in notice
    async with bot.rt.db.session() as session:
        row = (await session.execute(select(YouthSignup))).scalars().one()
    assert row.channel == "sms" and row.why == "მიყვარს ბუნება"
    [left] = await bot.sms(villager.phone or "", f"LEAVE {code}")
    assert left == "თქვენ გახვედით: სკოლის ეზოს გამწვანება"
    notices = await bot.sms_replies(lead.phone or "", 2)
    assert "↩️ გავიდა: ელენე (ჭიაური)" in notices[1]


@pytest.mark.parametrize(
    "text",
    [
        "signup {code}",
        "ჩაწერა {code}",
        "chatsera {code}",
        "записаться {code}",
        "yazıl {code}",
        "SIGNUP {cyrillic}",
    ],
)
async def test_signup_in_every_script(bot: RunningBot, text: str) -> None:
    _, initiative = await lead_and_initiative(bot)
    villager = await sms_member(bot, birth_year=young_year(20))
    message = text.format(code=f"y{initiative.id}", cyrillic=f"У{initiative.id}")
    [reply] = await bot.sms(villager.phone or "", message)
    assert reply.startswith("ჩაწერილი ხართ")


async def test_a_full_team_puts_the_sms_villager_on_the_reserve_list_then_promotes(
    bot: RunningBot,
) -> None:
    _, initiative = await lead_and_initiative(bot, size=1)
    first = await sms_member(bot, birth_year=young_year(20))
    second = await sms_member(bot, birth_year=young_year(21), language="az")
    code = f"Y{initiative.id}"
    await bot.sms(first.phone or "", f"SIGNUP {code}")
    [reserve] = await bot.sms(second.phone or "", f"SIGNUP {code}")
    assert "Ehtiyat siyahıdasınız, növbədə 1" in reserve
    await bot.sms(first.phone or "", f"LEAVE {code}")
    promoted = await bot.sms_replies(second.phone or "", 2)
    assert "Xoş xəbər: yer boşaldı və indi komandadasınız" in promoted[1]


async def test_mistakes_get_a_clear_answer(bot: RunningBot) -> None:
    _, initiative = await lead_and_initiative(bot)
    elder = await sms_member(bot, birth_year=1965)
    youth = await sms_member(bot, birth_year=young_year(20))
    [no_code] = await bot.sms(youth.phone or "", "SIGNUP")
    assert "SIGNUP Y4" in no_code
    [unknown] = await bot.sms(youth.phone or "", "SIGNUP Y999")
    assert "Y999 ვერ მოიძებნა" in unknown
    [not_in] = await bot.sms(youth.phone or "", f"LEAVE Y{initiative.id}")
    assert f"Y{initiative.id}-ზე ჩაწერილი არ ხართ" in not_in
    [too_old] = await bot.sms(elder.phone or "", f"SIGNUP Y{initiative.id}")
    assert "მხოლოდ ახალგაზრდებისთვისაა" in too_old
    [stranger] = await bot.sms("+995599777001", f"SIGNUP Y{initiative.id}")
    assert "JOIN" in stranger


async def test_code_alone_gives_details_and_help_has_the_youth_line(bot: RunningBot) -> None:
    _, initiative = await lead_and_initiative(bot)
    villager = await sms_member(bot, birth_year=young_year(20))
    [details] = await bot.sms(villager.phone or "", f"Y{initiative.id}")
    assert "ვრგავთ ხეებს სკოლის ეზოში." in details and "ადგილი: 2 / 2" in details
    [help_text] = await bot.sms(villager.phone or "", "HELP")
    assert "YOUTH ახალგაზრდები" in help_text


async def test_telegram_lead_hears_of_an_sms_signup(bot: RunningBot) -> None:
    lead_user, lead = await tg_member(bot, birth_year=young_year(25))
    async with bot.rt.db.session() as session:
        secretary = await admin(session, telegram=False, phone=False)
        initiative = await open_initiative(session, lead=lead, by=secretary)
    villager = await sms_member(bot, name="ზაურ", birth_year=young_year(17))
    await bot.sms(villager.phone or "", f"SIGNUP Y{initiative.id}")
    message = await lead_user.reply()
    assert "✋ ახალი მონაწილე: ზაურ" in message.text


async def test_a_long_why_me_by_sms_is_shortened_and_the_villager_told(bot: RunningBot) -> None:
    _, initiative = await lead_and_initiative(bot)
    villager = await sms_member(bot, birth_year=young_year(19))
    why = "მიყვარს ბუნება და ვიცი ხეების დარგვა " * 8
    [reply] = await bot.sms(villager.phone or "", f"SIGNUP Y{initiative.id} {why}")
    assert reply.startswith("ჩაწერილი ხართ: სკოლის ეზოს გამწვანება")
    assert "თქვენი ტექსტი 200 სიმბოლომდე შემოკლდა." in reply
    async with bot.rt.db.session() as session:
        row = (await session.execute(select(YouthSignup))).scalars().one()
    assert len(row.why) == 200 and row.why.startswith("მიყვარს ბუნება")


async def test_the_announcement_by_sms_carries_the_signup_hint_that_works(
    bot: RunningBot,
) -> None:
    lead, initiative = await lead_and_initiative(bot)
    secretary_user, _ = await secretariat(bot)
    villager = await sms_member(bot, name="ლევანი", birth_year=young_year(18))
    await secretary_user.send(f"/announce_initiative Y{initiative.id}")
    await secretary_user.reply()
    code = f"Y{initiative.id}"
    [announcement] = await bot.sms_replies(villager.phone or "", 1, timeout=30)
    assert "სკოლის ეზოს გამწვანება" in announcement and f"SIGNUP {code}" in announcement
    [reply] = await bot.sms(villager.phone or "", f"SIGNUP {code}")
    assert reply.startswith("ჩაწერილი ხართ: სკოლის ეზოს გამწვანება")
    notices = await bot.sms_replies(lead.phone or "", 2)  # the lead is young: announced too
    assert any("✋ ახალი მონაწილე: ლევანი" in body for body in notices)
