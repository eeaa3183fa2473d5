"""Event reminders with a fixed clock (the scheduler's tick at chosen moments), each kind's rule,
per-event offsets, moved and cancelled events, /reminders' view ahead, and the weekly digest."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col, select

from bot.runtime import Runtime
from handlers.events_reminders import EventReminders, digest_section
from models.audit import AuditLog
from models.event_rsvps import answer_rsvp
from models.events import Event, apply_changes, complete_past_events, mark_cancelled
from models.members import Member, Role
from models.outbox import OutboxMessage
from tests.events_support import published
from tests.factories import make_member

TBILISI = ZoneInfo("Asia/Tbilisi")
START = datetime(2030, 6, 12, 15, 0, tzinfo=TBILISI).astimezone(UTC)  # a Wednesday afternoon
PUBLISHED = START - timedelta(days=11)


async def members(rt: Runtime, *names: str, **fields: Any) -> list[Member]:
    async with rt.db.session() as session:
        return [await make_member(session, name=name, **fields) for name in names]


async def answer(rt: Runtime, event: Event, member: Member, value: str) -> None:
    async with rt.db.session() as session:
        fresh = await session.get(Event, event.id)
        assert fresh is not None
        await answer_rsvp(
            session=session, event=fresh, member=member, answer=value, channel="sms",
            settings=rt.settings, now=PUBLISHED + timedelta(hours=1),
        )  # fmt: skip


async def reminders_at(rt: Runtime, moment: datetime) -> dict[str, OutboxMessage]:
    """Tick at `moment`; the event reminders it queued, by member name."""
    assert rt.scheduler is not None
    async with rt.db.session() as session:
        before = {r.id for r in (await session.execute(select(OutboxMessage))).scalars()}
    await rt.scheduler.tick(now=moment)
    async with rt.db.session() as session:
        rows = (
            await session.execute(
                select(OutboxMessage, Member)
                .join(Member, col(Member.id) == col(OutboxMessage.member_id))
                .where(OutboxMessage.kind == "event.reminder")
            )
        ).all()
    return {m.name or "": r for r, m in rows if r.id not in before}


def buttons(row: OutboxMessage) -> list[str]:
    return [b[0] for line in row.payload.get("buttons", []) for b in line]


async def test_assembly_reminds_the_whole_audience_but_not_those_not_going(rt: Runtime) -> None:
    ana, bela, cira, dato = await members(rt, "ანა", "ბელა", "ცირა", "დათო")
    event = await published(rt, kind="assembly", starts=START, now=PUBLISHED)
    await answer(rt, event, ana, "going")
    await answer(rt, event, bela, "no")
    await answer(rt, event, dato, "maybe")

    assert await reminders_at(rt, START - timedelta(days=7, minutes=1)) == {}
    week = await reminders_at(rt, START - timedelta(days=7) + timedelta(minutes=1))
    assert set(week) == {"ანა", "ცირა", "დათო"}
    assert "დასწრების კოდი:" in week["ანა"].text and buttons(week["ანა"]) == []
    assert "ჯერ არ გიპასუხიათ — მოხვალთ?" in week["ცირა"].text
    assert buttons(week["ცირა"]) == ["მოვალ", "შეიძლება", "ვერ მოვალ"]  # RSVP buttons again
    assert "„შეიძლება“ — გთხოვთ, დაადასტუროთ" in week["დათო"].text
    assert buttons(week["დათო"]) == ["მოვალ", "✓ შეიძლება", "ვერ მოვალ", "↩ პასუხის გაუქმება"]

    assert await reminders_at(rt, START - timedelta(days=7) + timedelta(minutes=2)) == {}  # once
    assert set(await reminders_at(rt, START - timedelta(days=1, minutes=-1))) == set(week)
    await answer(rt, event, cira, "no")  # "Not going" members get no further reminders
    assert set(await reminders_at(rt, START - timedelta(hours=2, minutes=-1))) == {"ანა", "დათო"}


async def test_training_reminds_going_and_maybe_and_tells_the_waitlist_its_place(
    rt: Runtime,
) -> None:
    ana, bela, cira, dato, eka = await members(rt, "ანა", "ბელა", "ცირა", "დათო", "ეკა")
    event = await published(rt, kind="training", starts=START, now=PUBLISHED, capacity=1)
    await answer(rt, event, ana, "going")
    await answer(rt, event, eka, "going")  # waitlisted
    await answer(rt, event, bela, "no")
    await answer(rt, event, dato, "maybe")

    assert await reminders_at(rt, START - timedelta(days=7) + timedelta(minutes=1)) == {}
    day = await reminders_at(rt, START - timedelta(days=1) + timedelta(minutes=1))
    assert set(day) == {"ანა", "დათო", "ეკა"}  # not Bela (no), not Cira (no answer)
    assert "ჯერ კიდევ მოლოდინის სიაში ხართ №1" in day["ეკა"].text
    two = await reminders_at(rt, START - timedelta(hours=2) + timedelta(minutes=1))
    assert set(two) == {"ანა", "დათო", "ეკა"}
    assert cira.id is not None


async def test_board_meeting_reminds_the_board_two_days_and_two_hours_before(rt: Runtime) -> None:
    await members(rt, "რიგითი წევრი")
    await members(rt, "საბჭოს წევრი", role=Role.BOARD)
    await members(rt, "მდივანი", role=Role.SECRETARIAT)
    await published(rt, kind="board", starts=START, now=PUBLISHED)
    assert await reminders_at(rt, START - timedelta(days=7) + timedelta(minutes=1)) == {}
    two_days = await reminders_at(rt, START - timedelta(days=2) + timedelta(minutes=1))
    assert set(two_days) == {"საბჭოს წევრი", "მდივანი"}
    assert set(await reminders_at(rt, START - timedelta(hours=2) + timedelta(minutes=1))) == set(
        two_days
    )


async def test_per_event_offsets_override_the_defaults(rt: Runtime) -> None:
    (ana,) = await members(rt, "ანა")
    event = await published(rt, kind="training", starts=START, now=PUBLISHED, reminders=["3d"])
    await answer(rt, event, ana, "going")
    assert set(await reminders_at(rt, START - timedelta(days=3) + timedelta(minutes=1))) == {"ანა"}
    assert await reminders_at(rt, START - timedelta(days=1) + timedelta(minutes=1)) == {}
    assert await reminders_at(rt, START - timedelta(hours=2) + timedelta(minutes=1)) == {}


async def test_after_downtime_a_late_reminder_goes_while_still_useful(rt: Runtime) -> None:
    await members(rt, "ანა")
    await published(rt, kind="assembly", starts=START, now=PUBLISHED)
    # The bot was down when the 7-day reminder came due; two days late is less than half of
    # its lead time, so it still goes (at a daytime tick).
    assert set(await reminders_at(rt, START - timedelta(days=5))) == {"ანა"}


async def test_after_downtime_a_reminder_too_late_to_help_is_skipped(rt: Runtime) -> None:
    await members(rt, "ანა")
    await published(rt, kind="assembly", starts=START, now=PUBLISHED)
    # Four days late (more than half of 7 days): skipped, and the 1-day one still comes.
    assert await reminders_at(rt, START - timedelta(days=3)) == {}
    assert set(await reminders_at(rt, START - timedelta(days=1) + timedelta(minutes=1))) == {"ანა"}


async def test_moving_the_event_moves_its_reminders_and_cancelling_removes_them(
    rt: Runtime,
) -> None:
    (ana,) = await members(rt, "ანა")
    event = await published(rt, kind="training", starts=START, now=PUBLISHED)
    await answer(rt, event, ana, "going")
    assert set(await reminders_at(rt, START - timedelta(days=1) + timedelta(minutes=1))) == {"ანა"}
    later = START + timedelta(days=2)
    async with rt.db.session() as session:
        fresh = await session.get(Event, event.id)
        assert fresh is not None
        changes = {"starts_at": later, "ends_at": later + timedelta(hours=2)}
        await apply_changes(
            session=session, event=fresh, changes=changes, actor=None, now=PUBLISHED
        )
    assert await reminders_at(rt, START - timedelta(hours=2) + timedelta(minutes=1)) == {}
    assert set(await reminders_at(rt, later - timedelta(days=1) + timedelta(minutes=1))) == {"ანა"}
    async with rt.db.session() as session:
        fresh = await session.get(Event, event.id)
        assert fresh is not None
        await mark_cancelled(session=session, event=fresh, actor=None, now=PUBLISHED)
    assert await reminders_at(rt, later - timedelta(hours=2) + timedelta(minutes=1)) == {}


async def test_a_reminder_due_before_publication_is_not_sent(rt: Runtime) -> None:
    await members(rt, "ანა")
    await published(rt, kind="assembly", starts=START, now=START - timedelta(days=3))
    assert await reminders_at(rt, START - timedelta(days=3) + timedelta(minutes=1)) == {}
    assert set(await reminders_at(rt, START - timedelta(days=1) + timedelta(minutes=1))) == {"ანა"}


async def test_upcoming_lists_each_reminder_once_per_offset_for_the_reminders_command(
    rt: Runtime,
) -> None:
    await members(rt, "ანა", "ბელა")
    event = await published(rt, kind="assembly", starts=START, now=PUBLISHED)
    async with rt.db.session() as session:
        items = await EventReminders().upcoming(
            session=session, now=PUBLISHED, until=START, settings=rt.settings
        )
    refs = sorted({item.ref or "" for item in items})
    stamp = START.strftime("%Y%m%dT%H%M")
    assert refs == sorted(f"event:{event.id}:{o}@{stamp}" for o in ("7d", "1d", "2h"))
    assert len(items) == 6 and all(i.title.startswith(f"E{event.id} · ") for i in items)


async def test_digest_lists_the_weeks_events_i_can_attend(rt: Runtime) -> None:
    ana, bela = await members(rt, "ანა", "ბელა")
    training = await published(rt, kind="training", starts=START, now=PUBLISHED)
    await published(rt, kind="board", starts=START + timedelta(days=1), now=PUBLISHED)
    await answer(rt, training, bela, "no")
    async with rt.db.session() as session:
        await session.execute(update(Event).values(title={"ka": "მეფუტკრეობა"}))
    section = digest_section(rt)
    week = (START - timedelta(days=2), START + timedelta(days=5))
    async with rt.db.session() as session:
        fresh_ana = await session.get(Member, ana.id)
        fresh_bela = await session.get(Member, bela.id)
        assert fresh_ana is not None and fresh_bela is not None
        ana_lines = await section.lines(session, fresh_ana, *week)
        bela_lines = await section.lines(session, fresh_bela, *week)
    assert len(ana_lines) == 1  # not the board meeting
    assert ana_lines[0].startswith(f"E{training.id} · 12 ივნ")
    assert "მეფუტკრეობა" in ana_lines[0] and f"(პასუხი: YES E{training.id})" in ana_lines[0]
    assert bela_lines == []  # she said she is not going


async def completions(rt: Runtime, event: Event) -> tuple[Event, int]:
    async with rt.db.session() as session:
        fresh = await session.get(Event, event.id)
        audits = (
            await session.execute(
                select(AuditLog).where(
                    AuditLog.action == "event.complete", AuditLog.target == f"event:{event.id}"
                )
            )
        ).all()
    assert fresh is not None
    return fresh, len(audits)


async def test_the_scheduler_completes_an_event_once_its_end_has_passed(rt: Runtime) -> None:
    event = await published(rt, kind="training", starts=START, now=PUBLISHED, hours=2)
    other = await published(rt, kind="training", starts=START + timedelta(days=1), now=PUBLISHED)
    assert rt.scheduler is not None
    await rt.scheduler.tick(now=START + timedelta(hours=1))  # under way: still published
    assert (await completions(rt, event))[0].status == "published"

    end = START + timedelta(hours=2, minutes=1)
    await rt.scheduler.tick(now=end)  # nobody opened it: the tick alone completes it
    fresh, audited = await completions(rt, event)
    assert (fresh.status, fresh.completed_at, audited) == ("completed", end, 1)
    assert (await completions(rt, other))[0].status == "published"  # not over yet

    await rt.scheduler.tick(now=end + timedelta(minutes=5))  # idempotent
    assert (await completions(rt, event))[1] == 1


async def test_completing_at_the_same_moment_in_two_places_audits_once(rt: Runtime) -> None:
    event = await published(rt, kind="training", starts=START, now=PUBLISHED, hours=2)
    end = START + timedelta(hours=3)

    async def complete() -> int:  # the tick in one process, /events in another
        async with rt.db.session() as session:
            done = await complete_past_events(session=session, now=end)
            await asyncio.sleep(0.05)  # hold the transaction open while the other one runs
            return len(done)

    assert sorted(await asyncio.gather(complete(), complete(), complete())) == [0, 0, 1]
    fresh, audited = await completions(rt, event)
    assert (fresh.status, audited) == ("completed", 1)
