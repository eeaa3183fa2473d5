"""Youth initiative reminders through the scheduler: the sign-up deadline (2 days before) and
the start date (1 day before), to the lead and the team — not to the reserve list."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.runtime import Runtime
from handlers.youth_reminders import YouthReminders
from models.outbox import OutboxMessage
from models.youth_signups import Band, sign_up
from tests.reminders_helpers import at
from tests.youth_support import admin, open_initiative, young

DEADLINE = at("2027-03-17 12:00")
START = at("2027-03-24 12:00")


async def texts_to(rt: Runtime, member_id: int | None) -> list[str]:
    async with rt.db.session() as session:
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.member_id == member_id, OutboxMessage.kind == "reminder")
            .order_by(col(OutboxMessage.id))
        )
        return [row.text for row in (await session.execute(query)).scalars()]


async def test_deadline_and_start_reminders_reach_the_lead_and_the_team(rt: Runtime) -> None:
    async with rt.db.session() as session:
        lead, secretary = await young(session, telegram=False), await admin(session)
        initiative = await open_initiative(
            session, lead=lead, by=secretary, size=1, deadline=DEADLINE, starts=START
        )
        teammate = await young(session, telegram=False)
        reserve = await young(session, telegram=False)
        for member in (teammate, reserve):
            await sign_up(
                session=session,
                initiative=initiative,
                member=member,
                band=Band(14, 29),
                now=DEADLINE - timedelta(days=5),
                channel="sms",
            )
    scheduler = rt.scheduler
    assert scheduler is not None
    due = DEADLINE - timedelta(days=2)
    assert await scheduler.tick(due - timedelta(minutes=1)) == 0
    assert await scheduler.tick(due) == 2
    assert await scheduler.tick(due + timedelta(minutes=5)) == 0  # once
    [to_lead] = await texts_to(rt, lead.id)
    assert "ჩაწერა მთავრდება 17.03.2027" in to_lead and "გუნდი: 1 / 1, რეზერვში: 1" in to_lead
    [to_team] = await texts_to(rt, teammate.id)
    assert "მოიწვიეთ მეგობრები" in to_team
    assert await texts_to(rt, reserve.id) == []
    assert await scheduler.tick(START - timedelta(days=1)) == 2
    assert "იწყება 24.03.2027" in (await texts_to(rt, teammate.id))[-1]


async def test_upcoming_lists_each_reminder_once_for_the_secretariat(rt: Runtime) -> None:
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        initiative = await open_initiative(
            session, lead=lead, by=secretary, deadline=DEADLINE, starts=START
        )
        items = await YouthReminders().upcoming(
            session=session, now=DEADLINE - timedelta(days=10), until=START, settings=rt.settings
        )
    refs = sorted({item.ref for item in items if item.ref})
    assert refs == [f"youth:{initiative.id}:deadline", f"youth:{initiative.id}:start"]
