"""Announcements and answers on Telegram: the card, Going / Maybe / Not going, the .ics file,
the map pin, the waitlist and its promotion notice, withdrawing, and a closed RSVP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import update
from sqlmodel import col, select

from models.audit import AuditLog
from models.base import utcnow
from models.event_rsvps import EventRsvp
from models.events import Event
from tests.events_support import (
    DAYTIME,
    PLACE,
    last_answer,
    patient,  # noqa: F401  (a fixture, used by pytestmark)
    published,
    sms,
    sms_member,
    tg_member,
)
from tests.harness import RunningBot, running_bot

GOING, MAYBE, NOT_GOING = "მოვალ", "შეიძლება", "ვერ მოვალ"

pytestmark = pytest.mark.usefixtures("patient")


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, **DAYTIME) as running:
        yield running


async def test_announcement_brings_card_buttons_calendar_file_and_venue(bot: RunningBot) -> None:
    nino, _ = await tg_member(bot)
    event = await published(bot.rt, capacity=30, lat=41.8266, lon=46.2790)
    card, ics, pin = await nino.replies(3)
    assert "მეფუტკრეობის ტრენინგი" in card.text and "ტრენინგი" in card.text
    assert f"კოდი: E{event.id}" in card.text
    assert "თავისუფალი ადგილები: 30 / 30" in card.text
    assert nino.buttons(card) == [[GOING, MAYBE, NOT_GOING]]
    assert card.reply_markup is not None
    data = [b["callback_data"] for row in card.reply_markup["inline_keyboard"] for b in row]
    assert data == [f"ev:r:{event.id}:g", f"ev:r:{event.id}:m", f"ev:r:{event.id}:n"]
    assert all(len(d.encode()) <= 64 for d in data)
    assert ics.document is not None and ics.document.filename == f"E{event.id}.ics"
    vevent = Calendar.from_ical(ics.document.content).walk("VEVENT")[0]
    start = vevent.decoded("dtstart")
    assert str(start.tzinfo) == "Asia/Tbilisi"
    assert start == event.starts_at  # the same instant, shown in Tbilisi time
    assert str(vevent["summary"]) == "მეფუტკრეობის ტრენინგი"
    assert pin.venue is not None  # the pin with the place's name and address
    location = pin.venue["location"]
    assert (location["latitude"], location["longitude"]) == pytest.approx((41.8266, 46.279))
    assert pin.venue["title"] == "მეფუტკრეობის ტრენინგი" and pin.venue["address"] == PLACE


async def test_english_member_gets_the_english_title_and_buttons(bot: RunningBot) -> None:
    john, _ = await tg_member(bot, language="en")
    await published(bot.rt)
    card = await john.reply()
    assert "Beekeeping training" in card.text
    assert john.buttons(card) == [["Going", "Maybe", "Not going"]]


async def test_going_edits_the_message_with_a_check_in_code_and_twice_changes_nothing(
    bot: RunningBot,
) -> None:
    nino, member = await tg_member(bot)
    event = await published(bot.rt, capacity=30)
    card = (await nino.replies(2))[0]
    await nino.press(GOING)
    await bot.tg.wait_until(lambda: "თქვენი პასუხი: მოვალ ✓" in card.text)
    assert nino.buttons(card) == [["✓ მოვალ", MAYBE, NOT_GOING], ["↩ პასუხის გაუქმება"]]
    assert "თავისუფალი ადგილები: 29 / 30" in card.text
    async with bot.rt.db.session() as session:
        rsvp = (await session.execute(select(EventRsvp))).scalars().one()
    assert rsvp.answer == "going" and rsvp.channel == "telegram"
    assert rsvp.checkin_code is not None and f"დასწრების კოდი: {rsvp.checkin_code}" in card.text
    edits = len(card.history)

    await nino.press("✓ მოვალ")
    assert (await last_answer(bot, nino))["text"] == "ეს პასუხი უკვე გაქვთ."
    assert len(card.history) == edits  # not edited again
    async with bot.rt.db.session() as session:
        audits = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "event.rsvp")))
            .scalars()
            .all()
        )
    assert len(audits) == 1 and audits[0].details["member"] == member.id
    assert event.id is not None


async def test_changing_and_withdrawing_the_answer(bot: RunningBot) -> None:
    nino, _ = await tg_member(bot)
    await published(bot.rt)
    card = (await nino.replies(2))[0]
    await nino.press(MAYBE)
    await bot.tg.wait_until(lambda: "თქვენი პასუხი: შეიძლება" in card.text)
    await nino.press(NOT_GOING)
    await bot.tg.wait_until(lambda: "თქვენი პასუხი: ვერ მოვალ" in card.text)
    assert nino.buttons(card)[0] == [GOING, MAYBE, "✓ ვერ მოვალ"]
    await nino.press("↩ პასუხის გაუქმება")
    await bot.tg.wait_until(lambda: "თქვენ ჯერ არ გიპასუხიათ." in card.text)
    assert nino.buttons(card) == [[GOING, MAYBE, NOT_GOING]]
    async with bot.rt.db.session() as session:
        rsvp = (await session.execute(select(EventRsvp))).scalars().one()
    assert rsvp.answer is None


async def test_full_event_puts_the_next_on_the_waitlist_and_promotes_them_when_a_seat_frees(
    bot: RunningBot,
) -> None:
    nino, _ = await tg_member(bot, name="ნინო")
    giorgi, _ = await tg_member(bot, name="გიორგი")
    villager = await sms_member(bot, name="ალი", language="az")
    await published(bot.rt, capacity=1)
    nino_card = (await nino.replies(2))[0]
    giorgi_card = (await giorgi.replies(2))[0]
    await bot.sms_replies(villager.phone or "", 1)

    await nino.press(GOING)
    await bot.tg.wait_until(lambda: "თქვენი პასუხი: მოვალ ✓" in nino_card.text)
    await giorgi.press(GOING)
    await bot.tg.wait_until(lambda: "მოლოდინის სიაში ხართ №1" in giorgi_card.text)
    assert "ადგილები შევსებულია (1)" in giorgi_card.text
    event_code = giorgi_card.text.split("კოდი: ")[1].split()[0]
    replies = await sms(bot, villager.phone or "", f"YES {event_code}")
    assert "Gözləmə siyahısında 2-cisiniz" in replies[0]

    await nino.press(NOT_GOING)  # a seat frees up: Giorgi, first in line, is told at once
    notice = await giorgi.reply()
    assert "ადგილი გათავისუფლდა და ახლა თქვენია" in notice.text
    async with bot.rt.db.session() as session:
        giorgi_rsvp = (
            (
                await session.execute(
                    select(EventRsvp).where(
                        EventRsvp.member_id != villager.id, col(EventRsvp.answer) == "going"
                    )
                )
            )
            .scalars()
            .one()
        )
    assert f"დასწრების კოდი: {giorgi_rsvp.checkin_code}" in notice.text
    assert giorgi_rsvp.checkin_code is not None
    # The villager moved up to first in line, and was not promoted.
    assert len(bot.tw.messages_to(villager.phone or "")) == 2


async def test_answers_after_the_deadline_are_refused_and_the_buttons_go(bot: RunningBot) -> None:
    nino, _ = await tg_member(bot)
    event = await published(bot.rt, deadline=utcnow() + timedelta(days=1))
    card = (await nino.replies(2))[0]
    async with bot.rt.db.session() as session:  # the deadline passes
        await session.execute(
            update(Event)
            .where(col(Event.id) == event.id)
            .values(rsvp_deadline=utcnow() - timedelta(minutes=1))
        )
    await nino.press(GOING)
    answer = await last_answer(bot, nino)
    assert answer["show_alert"] is True
    assert answer["text"] == f"E{event.id}-ზე პასუხების მიღება დასრულებულია (ვადა გავიდა)."
    await bot.tg.wait_until(lambda: "პასუხების მიღება დასრულებულია." in card.text)
    assert nino.buttons(card) == []
    async with bot.rt.db.session() as session:
        rsvp = (await session.execute(select(EventRsvp))).scalars().one()
    assert rsvp.answer is None


async def test_a_stranger_pressing_a_forwarded_button_is_told_to_register(bot: RunningBot) -> None:
    nino, _ = await tg_member(bot)
    event = await published(bot.rt)
    await nino.replies(2)
    stranger = bot.tg.user(language_code="ka")
    await stranger.send("/start")
    await stranger.reply()
    await stranger.press_data(f"ev:r:{event.id}:g")
    assert "/start" in (await last_answer(bot, stranger))["text"]
    async with bot.rt.db.session() as session:
        assert (
            await session.execute(select(EventRsvp).where(col(EventRsvp.answer).is_not(None)))
        ).first() is None


async def test_events_lists_my_answers_and_opens_one_event(bot: RunningBot) -> None:
    nino, _ = await tg_member(bot)
    event = await published(bot.rt)
    card = (await nino.replies(2))[0]
    await nino.press(MAYBE)
    await bot.tg.wait_until(lambda: "თქვენი პასუხი: შეიძლება" in card.text)
    await nino.send("/events")
    listing = await nino.reply()
    assert listing.text.startswith("📅 მომავალი ღონისძიებები:")
    assert f"E{event.id} · " in listing.text and "თქვენი პასუხი: შეიძლება" in listing.text
    await nino.press(f"E{event.id} · მეფუტკრეობის ტრენინგი")
    opened, ics = await nino.replies(2)
    assert nino.buttons(opened)[0] == [GOING, "✓ შეიძლება", NOT_GOING]
    assert ics.document is not None and ics.document.filename == f"E{event.id}.ics"


STOP = "შეტყობინებების შესაწყვეტად: /stop"  # the bulk "how to stop" line (bot.outbound)


async def test_answering_on_the_announcement_keeps_its_how_to_stop_line(bot: RunningBot) -> None:
    nino, _ = await tg_member(bot)
    event = await published(bot.rt, capacity=30)
    card = (await nino.replies(2))[0]
    assert card.text.endswith(STOP)
    await nino.press(GOING)
    await bot.tg.wait_until(lambda: "თქვენი პასუხი: მოვალ ✓" in card.text)
    assert card.text.endswith(STOP)  # the law asks for it on every announcement, edited too
    await nino.press(NOT_GOING)
    await bot.tg.wait_until(lambda: "თქვენი პასუხი: ვერ მოვალ" in card.text)
    assert card.text.endswith(STOP) and card.text.count(STOP) == 1

    await nino.send(f"/event E{event.id}")  # a reply to the member: no such line, edited or not
    opened, _ics = await nino.replies(2)
    assert STOP not in opened.text
    await nino.press(MAYBE)
    await bot.tg.wait_until(lambda: "თქვენი პასუხი: შეიძლება" in opened.text)
    assert STOP not in opened.text


async def test_unknown_and_finished_events_are_answered_in_the_members_language(
    bot: RunningBot,
) -> None:
    john, _ = await tg_member(bot, language="en")
    event = await published(bot.rt)
    card = (await john.replies(2))[0]
    await john.send("/event E999")
    assert (await john.reply()).text == "No such event."
    async with bot.rt.db.session() as session:  # it took place; the scheduler completes it
        await session.execute(
            update(Event)
            .where(col(Event.id) == event.id)
            .values(starts_at=utcnow() - timedelta(hours=3), ends_at=utcnow() - timedelta(hours=1))
        )
    assert bot.rt.scheduler is not None
    await bot.rt.scheduler.tick(now=utcnow())
    await john.press("Going")  # the announcement's old button
    answer = await last_answer(bot, john)
    assert answer["show_alert"] is True
    assert answer["text"] == f"Answers for E{event.id} are closed: the deadline has passed."
    await bot.tg.wait_until(lambda: john.buttons(card) == [])
    async with bot.rt.db.session() as session:
        rsvp = (await session.execute(select(EventRsvp))).scalars().one()
        fresh = await session.get(Event, event.id)
    assert rsvp.answer is None and fresh is not None and fresh.status == "completed"
