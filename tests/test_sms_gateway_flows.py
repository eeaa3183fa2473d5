"""The whole SMS design through a local SIM: a villager on a basic phone registers, answers an
invitation and votes by texting the phone running SMS Gateway for Android - and the app's
retried webhooks (same event id, re-signed minutes later) never take a step, a seat or a vote
twice, while the same text sent again on purpose still counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from models.event_rsvps import EventRsvp
from models.members import Member
from models.polls import PollBallot
from tests.events_support import (
    patient,  # noqa: F401  (a fixture, used by pytestmark)
    published,
    sms_member,
)
from tests.harness import RunningBot, running_bot
from tests.polls_support import send_poll

pytestmark = pytest.mark.usefixtures("patient")

VILLAGER = "+995599445577"


@pytest.fixture
async def bot(db_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    holidays = tmp_path / "no-holidays.toml"
    holidays.write_text("fixed = []\ndated = []\n", encoding="utf-8")
    async with running_bot(
        db_url,
        gateway=True,
        sms_outbound_provider="gateway",  # announcements and ballots go through the SIM too
        sms_quiet_weekdays="00:00-00:00",
        sms_quiet_weekends="00:00-00:00",
        holidays_file=holidays,
    ) as running:
        yield running


async def retried_later(bot: RunningBot) -> None:
    """The app did not hear our 200 in time: it posts the same event again, re-signed."""
    real_clock = bot.gw.clock
    bot.gw.clock = lambda: real_clock() + 120
    retried = await bot.gw.retry_last_webhook(resign=True, event="sms:received")
    assert retried.status_code == 200  # acknowledged, so the app stops retrying
    bot.gw.clock = real_clock


async def member_by_phone(bot: RunningBot, phone: str) -> Member | None:
    async with bot.rt.db.session() as session:
        query = select(Member).where(Member.phone == phone)
        return (await session.execute(query)).scalars().first()


async def test_villager_registers_by_texting_the_sim_and_a_retried_step_changes_nothing(
    bot: RunningBot,
) -> None:
    languages = (await bot.gateway_sms(VILLAGER, "JOIN"))[0]
    assert "1 ქართული" in languages
    assert "Latinuri" in (await bot.gateway_sms(VILLAGER, "1"))[0]
    consent = (await bot.gateway_sms(VILLAGER, "1"))[0]  # Georgian letters
    assert "FORGET" in consent
    announcements = (await bot.gateway_sms(VILLAGER, "კი"))[0]
    assert "STOP" in announcements
    # The app retries the "yes, store my data" webhook: were it taken again, this "yes" would
    # answer the next question (announcements) without the villager ever saying so.
    await retried_later(bot)
    name = (await bot.gateway_sms(VILLAGER, "არა"))[0]
    assert "სახელ" in name
    assert "კაბალი" in (await bot.gateway_sms(VILLAGER, "ნინო ბერიძე"))[0]
    await bot.gateway_sms(VILLAGER, "7")  # Kabali
    await bot.gateway_sms(VILLAGER, "3")  # civil society
    done = (await bot.gateway_sms(VILLAGER, "1968"))[0]
    assert "გილოცავთ" in done
    member = await member_by_phone(bot, VILLAGER)
    assert member is not None and member.joined_via == "sms" and member.phone_verified
    assert member.consent_announcements is False  # the retried "yes" was not taken as an answer
    assert member.birth_year == 1968
    assert len(bot.gw.messages_to(VILLAGER)) == 9  # one answer per step, none for the retry
    assert bot.tw.messages_to(VILLAGER) == []  # everything went through the SIM


async def test_villager_answers_yes_by_sms_to_the_sim_and_gets_one_seat(bot: RunningBot) -> None:
    villager = await sms_member(bot, phone=VILLAGER)
    event = await published(bot.rt, capacity=1)
    [announcement] = await bot.gateway_replies(VILLAGER, 1)
    assert f"YES E{event.id}" in announcement  # the invitation itself came through the SIM
    [seat] = await bot.gateway_sms(VILLAGER, f"YES E{event.id}")
    assert seat.startswith("გელოდებით")
    await retried_later(bot)
    [changed] = await bot.gateway_sms(VILLAGER, f"NO E{event.id}")
    assert changed
    async with bot.rt.db.session() as session:
        rows = (
            (await session.execute(select(EventRsvp).where(EventRsvp.member_id == villager.id)))
            .scalars()
            .all()
        )
    assert [r.answer for r in rows] == ["no"]  # one row, the latest answer
    assert len(bot.gw.messages_to(VILLAGER)) == 3  # invitation, seat, changed: no answer twice


async def test_villager_votes_by_sms_to_the_sim_once_even_when_the_app_retries(
    bot: RunningBot,
) -> None:
    villager = await sms_member(bot, phone=VILLAGER)
    poll = await send_poll(bot)
    [ballot] = await bot.gateway_replies(VILLAGER, 1)
    assert f"{poll.code} 2" in ballot
    [taken] = await bot.gateway_sms(VILLAGER, f"{poll.code} 2")
    assert "მიღებულია" in taken
    await retried_later(bot)
    # Later the villager texts the same vote again on purpose: it is answered, still one vote.
    [again] = await bot.gateway_sms(VILLAGER, f"{poll.code} 2")
    assert again
    async with bot.rt.db.session() as session:
        votes = (
            (await session.execute(select(PollBallot).where(PollBallot.member_id == villager.id)))
            .scalars()
            .all()
        )
    assert len(votes) == 1
    assert len(bot.gw.messages_to(VILLAGER)) == 3  # ballot, taken, again: nothing for the retry
