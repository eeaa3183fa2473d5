"""Villagers on basic phones: the SMS announcement, YES / NO / MAYBE E12 in four scripts, a bare
YES, and a specific answer for every way it can go wrong — all through signed webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from models.base import utcnow
from models.dialogs import get_dialog
from models.event_rsvps import EventRsvp
from models.events import Event
from models.inbound import InboundMessage
from models.members import Role
from tests.events_support import (
    DAYTIME,
    patient,  # noqa: F401  (a fixture, used by pytestmark)
    published,
    sms,
    sms_member,
)
from tests.grants_support import published as grant_call
from tests.harness import RunningBot, running_bot

pytestmark = pytest.mark.usefixtures("patient")


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, **DAYTIME) as running:
        yield running


async def answer_of(bot: RunningBot, member_id: int | None) -> str | None:
    async with bot.rt.db.session() as session:
        row = (
            (await session.execute(select(EventRsvp).where(EventRsvp.member_id == member_id)))
            .scalars()
            .first()
        )
    return row.answer if row else None


async def test_sms_announcement_has_the_code_and_how_to_answer(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    event = await published(bot.rt)
    [announcement] = await bot.sms_replies(villager.phone or "", 1)
    assert "მეფუტკრეობის ტრენინგი" in announcement
    code = f"E{event.id}"
    assert f"YES {code}" in announcement and f"NO {code}" in announcement
    assert f"MAYBE {code}" in announcement


async def test_yes_with_the_code_gets_a_seat_and_a_check_in_code(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    event = await published(bot.rt, capacity=20)
    await bot.sms_replies(villager.phone or "", 1)
    [reply] = await sms(bot, villager.phone or "", f"YES E{event.id}")
    async with bot.rt.db.session() as session:
        rsvp = (await session.execute(select(EventRsvp))).scalars().one()
    assert rsvp.answer == "going" and rsvp.channel == "sms"
    assert reply.startswith("გელოდებით: მეფუტკრეობის ტრენინგი")
    assert f"დასწრების კოდი: {rsvp.checkin_code}" in reply
    assert f"NO E{event.id}" in reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("კი {code}", "going"),
        ("ki {code}", "going"),
        ("да {code}", "going"),
        ("hə {code}", "going"),
        ("ara {code}", "no"),
        ("არა {code}", "no"),
        ("нет {code}", "no"),
        ("yox {code}", "no"),
        ("maybe {code}", "maybe"),
        ("ალბათ {code}", "maybe"),
        ("{code} YES", "going"),
        ("yes {lower}", "going"),
        ("да Е{id}", "going"),  # Cyrillic Е in the code, typed on a Russian keyboard
        ("YES ე{id}", "going"),  # Georgian ე
    ],
)
async def test_answers_in_every_script(bot: RunningBot, text: str, expected: str) -> None:
    villager = await sms_member(bot)
    event = await published(bot.rt)
    await bot.sms_replies(villager.phone or "", 1)
    code = f"E{event.id}"
    message = text.format(code=code, lower=code.lower(), id=event.id)
    await sms(bot, villager.phone or "", message)
    assert await answer_of(bot, villager.id) == expected


async def test_a_bare_yes_answers_the_only_open_invitation(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    await published(bot.rt)
    await bot.sms_replies(villager.phone or "", 1)
    [reply] = await sms(bot, villager.phone or "", "კი")
    assert reply.startswith("გელოდებით")
    assert await answer_of(bot, villager.id) == "going"


async def test_a_bare_yes_with_two_open_events_asks_which(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    first = await published(bot.rt)
    second = await published(bot.rt, starts=utcnow() + timedelta(days=9))
    await bot.sms_replies(villager.phone or "", 2)
    [reply] = await sms(bot, villager.phone or "", "YES")
    assert f"E{first.id}, E{second.id}" in reply and f"YES E{first.id}" in reply
    assert await answer_of(bot, villager.id) is None


async def test_a_bare_no_with_two_open_events_shows_the_word_sent(bot: RunningBot) -> None:
    """The example with a code repeats the member's own word (`არა E12`, not `YES E12`)."""
    villager = await sms_member(bot)
    visitor = await sms_member(bot, language="en")
    first = await published(bot.rt)
    await published(bot.rt, starts=utcnow() + timedelta(days=9))
    await bot.sms_replies(villager.phone or "", 2)
    await bot.sms_replies(visitor.phone or "", 2)
    [reply] = await sms(bot, villager.phone or "", "არა")
    assert reply.endswith(f"მიუთითეთ კოდი, მაგ.: არა E{first.id}")
    [reply] = await sms(bot, visitor.phone or "", "no")
    assert reply.endswith(f"Add the code, e.g. no E{first.id}")
    assert await answer_of(bot, villager.id) is None and await answer_of(bot, visitor.id) is None


async def test_a_bare_yes_with_nothing_open_says_so(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    [reply] = await sms(bot, villager.phone or "", "yes")
    assert reply == "თქვენთვის ღია ღონისძიება ახლა არ არის. კოდით პასუხი: YES E12"


async def test_unknown_code(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    [reply] = await sms(bot, villager.phone or "", "YES E999")
    assert reply == "ღონისძიება E999 არ მოიძებნა. შეამოწმეთ კოდი."


async def test_not_in_the_audience(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    await sms_member(bot, role=Role.BOARD, name="საბჭოს წევრი")
    event = await published(bot.rt, kind="board")  # board meetings default to the board
    [reply] = await sms(bot, villager.phone or "", f"YES E{event.id}")
    assert reply == f"ღონისძიება E{event.id} სხვა ჯგუფისთვისაა და თქვენთვის არ არის განკუთვნილი."
    assert await answer_of(bot, villager.id) is None


async def test_closed_rsvp(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    event = await published(bot.rt, deadline=utcnow() + timedelta(days=1))
    await bot.sms_replies(villager.phone or "", 1)
    async with bot.rt.db.session() as session:
        await session.execute(
            update(Event)
            .where(col(Event.id) == event.id)
            .values(rsvp_deadline=utcnow() - timedelta(seconds=1))
        )
    [reply] = await sms(bot, villager.phone or "", f"YES E{event.id}")
    assert reply == f"E{event.id}-ზე პასუხების მიღება დასრულებულია (ვადა გავიდა)."
    assert await answer_of(bot, villager.id) is None


async def test_cancelled_event(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    event = await published(bot.rt)
    await bot.sms_replies(villager.phone or "", 1)
    async with bot.rt.db.session() as session:
        await session.execute(
            update(Event).where(col(Event.id) == event.id).values(status="cancelled")
        )
    [reply] = await sms(bot, villager.phone or "", f"NO E{event.id}")
    assert reply == f"ღონისძიება E{event.id} გაუქმებულია."


async def test_an_unregistered_phone_is_told_how_to_join(bot: RunningBot) -> None:
    [reply] = await sms(bot, "+995599777001", "YES E1")
    assert "JOIN" in reply


async def test_the_code_alone_gives_the_details(bot: RunningBot) -> None:
    villager = await sms_member(bot, language="ru")
    event = await published(bot.rt)
    await bot.sms_replies(villager.phone or "", 1)
    [reply] = await sms(bot, villager.phone or "", f"E{event.id}")
    assert reply.startswith("Тренинг по пчеловодству — ")
    assert f"YES E{event.id}" in reply


async def test_changing_the_answer_by_sms_frees_the_seat_for_the_waitlist(
    bot: RunningBot,
) -> None:
    first = await sms_member(bot, name="პირველი")
    second = await sms_member(bot, name="მეორე")
    event = await published(bot.rt, capacity=1)
    await bot.sms_replies(first.phone or "", 1)
    await bot.sms_replies(second.phone or "", 1)
    await sms(bot, first.phone or "", f"YES E{event.id}")
    [waiting] = await sms(bot, second.phone or "", f"YES E{event.id}")
    assert "მოლოდინის სიაში ხართ №1" in waiting
    [declined] = await sms(bot, first.phone or "", f"NO E{event.id}")
    assert declined.startswith("ჩავწერეთ: ვერ მოხვალთ")
    promoted = (await bot.sms_replies(second.phone or "", 3))[2]
    assert promoted.startswith("ადგილი გათავისუფლდა და ახლა თქვენია")
    async with bot.rt.db.session() as session:
        code = (
            (await session.execute(select(EventRsvp).where(EventRsvp.member_id == second.id)))
            .scalars()
            .one()
            .checkin_code
        )
    assert code is not None and f"დასწრების კოდი: {code}" in promoted


async def routes_of(bot: RunningBot, phone: str) -> list[str | None]:
    """Which route handled each SMS from this phone, in order (the SMS router's precedence)."""
    async with bot.rt.db.session() as session:
        rows = (
            await session.execute(
                select(InboundMessage)
                .where(InboundMessage.address == phone)
                .order_by(col(InboundMessage.id))
            )
        ).scalars()
        return [row.handled_by for row in rows]


async def test_a_lone_yes_is_a_bare_answer_and_yes_with_a_code_the_keyword(
    bot: RunningBot,
) -> None:
    villager = await sms_member(bot)
    phone = villager.phone or ""
    event = await published(bot.rt)
    await bot.sms_replies(phone, 1)
    [reply] = await sms(bot, phone, "ki")
    assert reply.startswith("გელოდებით")
    [reply] = await sms(bot, phone, f"NO E{event.id}")
    assert await answer_of(bot, villager.id) == "no"
    assert await routes_of(bot, phone) == ["bare:events", "no"]


async def test_a_lone_yes_in_the_middle_of_a_grant_question_is_that_steps_answer(
    bot: RunningBot,
) -> None:
    villager = await sms_member(bot)
    phone = villager.phone or ""
    event = await published(bot.rt)
    await bot.sms_replies(phone, 1)
    call = await grant_call(bot.rt)
    await bot.sms_replies(phone, 2)
    [question] = await sms(bot, phone, f"GRANT {call.code}")
    assert question.startswith(f"{call.code}: ვინ შეიტანს განაცხადს?")
    # "კი" (yes, I want to) while the grant question waits: not an RSVP to the open event, and
    # the grant interest is not dropped — the question is asked again.
    [again] = await sms(bot, phone, "კი")
    assert again.startswith("უპასუხეთ ნომრით 1-დან 3-მდე.\n")
    assert await answer_of(bot, villager.id) is None
    [idea] = await sms(bot, phone, "2")
    assert idea == "თქვენი პროექტის იდეის სახელწოდება? (0 - ჯერ არ ვიცი)"
    # A plain command with its code still leaves the step and is done (grants_sms).
    [reply] = await sms(bot, phone, f"YES E{event.id}")
    assert reply.startswith("გელოდებით")
    assert await answer_of(bot, villager.id) == "going"
    async with bot.rt.db.session() as session:
        assert await get_dialog(session=session, channel="sms", address=phone) is None


async def test_a_lone_yes_while_registering_is_the_consent_not_an_rsvp(bot: RunningBot) -> None:
    phone = "+995599445601"
    await published(bot.rt)
    for text in ("JOIN", "1", "1"):
        await sms(bot, phone, text)
    [next_question] = await sms(bot, phone, "კი")  # the data consent question: yes
    assert next_question.startswith("გსურთ LAG-ის სიახლეები SMS-ით? კი/არა")
    assert await routes_of(bot, phone) == ["join", *["step:registration"] * 3]


async def took_place(bot: RunningBot, event: Event) -> None:
    """The event is over; the scheduler's next tick completes it (nobody opens it)."""
    async with bot.rt.db.session() as session:
        await session.execute(
            update(Event)
            .where(col(Event.id) == event.id)
            .values(starts_at=utcnow() - timedelta(hours=3), ends_at=utcnow() - timedelta(hours=1))
        )
    assert bot.rt.scheduler is not None
    await bot.rt.scheduler.tick(now=utcnow())
    async with bot.rt.db.session() as session:
        fresh = await session.get(Event, event.id)
        assert fresh is not None and fresh.status == "completed"


NOTHING_OPEN = {
    "ru": "Сейчас для вас нет открытых мероприятий. Ответ с кодом: YES E12",
    "az": "Hazırda sizin üçün açıq tədbir yoxdur. Kodla cavab: YES E12",
    "en": "There is no open event for you right now. To answer with a code: YES E12",
}


@pytest.mark.parametrize(
    ("language", "typed", "unknown", "closed"),
    [
        ("ru", "да", "Мероприятие E999 не найдено. Проверьте код.",
         "Приём ответов на {code} закрыт (срок истёк)."),
        ("az", "hə", "E999 tədbiri tapılmadı. Kodu yoxlayın.",
         "{code} üçün cavabların qəbulu bitib (müddət keçib)."),
        ("en", "yes", "There is no event E999. Please check the code.",
         "Answers for {code} are closed: the deadline has passed."),
    ],
)  # fmt: skip
async def test_unknown_code_and_a_finished_event_in_the_members_language(
    bot: RunningBot, language: str, typed: str, unknown: str, closed: str
) -> None:
    villager = await sms_member(bot, language=language)
    phone = villager.phone or ""
    event = await published(bot.rt)
    await bot.sms_replies(phone, 1)
    assert await sms(bot, phone, f"{typed} E999") == [unknown]
    await took_place(bot, event)
    assert await sms(bot, phone, f"{typed} E{event.id}") == [closed.format(code=f"E{event.id}")]
    [nothing_open] = await sms(bot, phone, typed)  # a lone YES: no open event any more
    assert nothing_open == NOTHING_OPEN[language]
    assert await answer_of(bot, villager.id) is None
