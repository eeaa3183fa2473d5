"""The tick, with a fixed clock: each reminder goes once, at the right Tbilisi time, or not."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest
from sqlmodel import select

from bot.runtime import Runtime
from bot.settings import Settings
from models.members import Member
from models.privacy import erase_member
from models.reminders import ScheduledNotice, cancel_notice, schedule_notice
from scheduler.engine import Scheduler
from scheduler.providers import DueItem
from tests.conftest import make_settings
from tests.factories import make_member
from tests.reminders_helpers import ListProvider, Spec, at, log_rows, outbox


def scheduler_of(rt: Runtime) -> Scheduler:
    assert rt.scheduler is not None
    return rt.scheduler


async def members(rt: Runtime, count: int, **fields: object) -> list[Member]:
    async with rt.db.session() as session:
        return [await make_member(session, **fields) for _ in range(count)]  # type: ignore[arg-type]


@pytest.fixture
def provider(rt: Runtime) -> ListProvider:
    provider = ListProvider()
    scheduler_of(rt).register(provider)
    return provider


async def test_a_reminder_goes_once_at_its_time(rt: Runtime, provider: ListProvider) -> None:
    (nino,) = await members(rt, 1, language="ka")
    assert nino.id is not None
    provider.add(Spec("event:12:member:1:1d", nino.id, "ხვალ კრებაა", at("2026-05-05 10:00")))
    scheduler = scheduler_of(rt)

    assert await scheduler.tick(at("2026-05-05 09:59")) == 0
    assert await scheduler.tick(at("2026-05-05 10:00")) == 1
    assert await scheduler.tick(at("2026-05-05 10:00:30")) == 0  # the next tick: already sent

    rows = await outbox(rt.db)
    assert [(r.channel, r.kind) for r in rows] == [("telegram", "reminder")]
    assert rows[0].text.startswith("ხვალ კრებაა\n")  # then the "how to stop" line of bulk messages
    assert [e.outcome for e in await log_rows(rt.db)] == ["queued"]


async def test_sms_only_villager_gets_the_reminder_by_sms(
    rt: Runtime, provider: ListProvider
) -> None:
    (villager,) = await members(rt, 1, telegram=False)
    assert villager.id is not None
    provider.add(Spec("r:1", villager.id, "Tomorrow: assembly in Kabali", at("2026-05-05 10:00")))
    await scheduler_of(rt).tick(at("2026-05-05 10:00"))
    assert [(r.channel, r.address) for r in await outbox(rt.db)] == [("sms", villager.phone)]


async def test_after_downtime_a_useful_reminder_goes_late(
    rt: Runtime, provider: ListProvider
) -> None:
    (nino,) = await members(rt, 1)
    assert nino.id is not None
    provider.add(
        Spec("r:late", nino.id, "in 3 hours", at("2026-05-05 10:00"), at("2026-05-05 13:00"))
    )
    # The bot was down from 09:00 to 11:30: the reminder is still useful, so it goes now.
    assert await scheduler_of(rt).tick(at("2026-05-05 11:30")) == 1


async def test_after_downtime_a_useless_reminder_is_skipped_and_logged_once(
    rt: Runtime, provider: ListProvider, caplog: pytest.LogCaptureFixture
) -> None:
    (nino,) = await members(rt, 1)
    assert nino.id is not None
    provider.add(Spec("r:gone", nino.id, "soon", at("2026-05-05 10:00"), at("2026-05-05 12:00")))
    scheduler = scheduler_of(rt)
    with caplog.at_level(logging.INFO, logger="scheduler.engine"):
        assert await scheduler.tick(at("2026-05-05 12:30")) == 0  # the assembly has begun
        assert await scheduler.tick(at("2026-05-05 12:31")) == 0
    assert await outbox(rt.db) == []
    assert [(e.key, e.outcome) for e in await log_rows(rt.db)] == [("r:gone", "skipped")]
    assert [r.message for r in caplog.records].count(
        "scheduler: skipped r:gone (test): due 2026-05-05T10:00+04:00, "
        "past its grace time 2026-05-05T12:00+04:00"
    ) == 1


async def test_a_night_reminder_goes_the_evening_before_when_morning_is_too_late(
    rt: Runtime, provider: ListProvider
) -> None:
    (nino,) = await members(rt, 1)
    assert nino.id is not None
    # "Two hours before" a 07:30 field visit: 05:30 is night, 08:00 is too late → 21:00 before.
    provider.add(
        Spec("visit:4:2h", nino.id, "Field visit at 07:30", at("2026-05-06 05:30"),
             at("2026-05-06 07:30"))
    )  # fmt: skip
    scheduler = scheduler_of(rt)
    assert await scheduler.tick(at("2026-05-05 20:59")) == 0
    assert await scheduler.tick(at("2026-05-05 21:00")) == 1
    assert (await log_rows(rt.db))[0].planned_at == at("2026-05-05 21:00")


async def test_a_night_reminder_waits_for_the_morning_when_that_is_in_time(
    rt: Runtime, provider: ListProvider
) -> None:
    (nino,) = await members(rt, 1)
    assert nino.id is not None
    provider.add(
        Spec("r:n", nino.id, "Assembly at 18:00", at("2026-05-05 23:30"), at("2026-05-06 18:00"))
    )
    scheduler = scheduler_of(rt)
    assert await scheduler.tick(at("2026-05-05 23:30")) == 0
    assert await scheduler.tick(at("2026-05-06 03:00")) == 0
    assert await scheduler.tick(at("2026-05-06 08:00")) == 1


async def test_late_at_night_after_downtime_it_waits_for_the_morning_if_it_can(
    rt: Runtime, provider: ListProvider
) -> None:
    (nino,) = await members(rt, 1)
    assert nino.id is not None
    provider.add(
        Spec("r:a", nino.id, "tomorrow noon", at("2026-05-05 20:00"), at("2026-05-06 12:00")),
        Spec("r:b", nino.id, "tomorrow 07:00", at("2026-05-05 20:00"), at("2026-05-06 07:00")),
    )
    # Down from 19:00 to 23:00: one can wait for 08:00; the other cannot, so it goes now.
    scheduler = scheduler_of(rt)
    assert await scheduler.tick(at("2026-05-05 23:00")) == 1
    assert [r.text.split("\n")[0] for r in await outbox(rt.db)] == ["tomorrow 07:00"]
    assert await scheduler.tick(at("2026-05-06 08:00")) == 1


async def test_no_reminder_lands_on_a_public_holiday_unless_urgent(
    rt: Runtime, provider: ListProvider
) -> None:
    (nino,) = await members(rt, 1)
    assert nino.id is not None
    provider.add(
        Spec("r:hol", nino.id, "deadline on the 20th", at("2026-04-09 10:00"),
             at("2026-04-20 18:00")),
        Spec("r:urgent", nino.id, "the road to Kabali is closed", at("2026-04-09 10:00"),
             urgent=True),
    )  # fmt: skip
    scheduler = scheduler_of(rt)
    assert await scheduler.tick(at("2026-04-09 10:00")) == 1  # only the urgent one: both channels
    sent = await outbox(rt.db)
    assert {r.channel for r in sent} == {"telegram", "sms"}
    assert all(r.text.startswith("the road to Kabali is closed") for r in sent)
    assert await scheduler.tick(at("2026-04-13 12:00")) == 0  # Easter Monday: still waiting
    assert await scheduler.tick(at("2026-04-14 08:00")) == 1


async def test_a_member_with_no_reachable_channel_is_recorded_not_retried(
    rt: Runtime, provider: ListProvider
) -> None:
    (gone,) = await members(rt, 1, telegram=False)
    assert gone.id is not None
    async with rt.db.session() as session:
        member = await session.get(Member, gone.id)
        assert member is not None
        member.sms_opt_out_at = member.created_at  # opted out after the provider read it
    provider.add(Spec("r:x", gone.id, "hello", at("2026-05-05 10:00")))
    assert await scheduler_of(rt).tick(at("2026-05-05 10:00")) == 0
    assert await scheduler_of(rt).tick(at("2026-05-05 10:01")) == 0
    assert await outbox(rt.db) == []
    assert [e.outcome for e in await log_rows(rt.db)] == ["unreachable"]


async def test_a_failing_provider_does_not_stop_the_others(
    rt: Runtime, provider: ListProvider
) -> None:
    class Broken(ListProvider):
        async def due(self, **kwargs: object) -> list[DueItem]:
            raise RuntimeError("events table is locked")

    scheduler_of(rt).register(Broken("broken"))
    (nino,) = await members(rt, 1)
    assert nino.id is not None
    provider.add(Spec("r:ok", nino.id, "still here", at("2026-05-05 10:00")))
    assert await scheduler_of(rt).tick(at("2026-05-05 10:00")) == 1


async def test_two_schedulers_ticking_at_once_send_each_reminder_once(
    rt: Runtime, settings: Settings
) -> None:
    """Two processes' schedulers (two engines on one database) race on the same due items."""
    group = await members(rt, 25)
    other = Runtime(settings)
    try:
        for runtime in (rt, other):
            provider = ListProvider()
            provider.add(
                *(Spec(f"event:7:member:{m.id}:1d", m.id or 0, "tomorrow", at("2026-05-05 10:00"))
                  for m in group)
            )  # fmt: skip
            scheduler_of(runtime).register(provider)
        now = at("2026-05-05 10:00")
        results = await asyncio.gather(
            *(scheduler_of(runtime).tick(now) for runtime in (rt, other, rt, other))
        )
    finally:
        await other.db.dispose()
    assert sum(results) == 25
    rows = await outbox(rt.db)
    assert sorted(r.member_id or 0 for r in rows) == sorted(m.id or 0 for m in group)
    assert len(await log_rows(rt.db)) == 25


async def test_stored_notices_go_once_and_can_be_moved_or_cancelled(rt: Runtime) -> None:
    first, second = await members(rt, 2)
    assert first.id is not None and second.id is not None
    async with rt.db.session() as session:
        await schedule_notice(
            session=session, key="grant:3:result:1", member_id=first.id,
            text="Your application was shortlisted", due_at=at("2026-05-05 10:00"),
        )  # fmt: skip
        await schedule_notice(
            session=session, key="grant:3:result:2", member_id=second.id,
            text="Result", due_at=at("2026-05-05 10:00"),
        )  # fmt: skip
        # Moved to the afternoon, and the second one withdrawn.
        await schedule_notice(
            session=session, key="grant:3:result:1", member_id=first.id,
            text="Your application was shortlisted", due_at=at("2026-05-05 15:00"),
        )  # fmt: skip
        assert await cancel_notice(session=session, key="grant:3:result:2")
    scheduler = scheduler_of(rt)
    assert await scheduler.tick(at("2026-05-05 10:00")) == 0
    assert await scheduler.tick(at("2026-05-05 15:00")) == 1
    assert await scheduler.tick(at("2026-05-05 15:01")) == 0
    assert [r.member_id for r in await outbox(rt.db)] == [first.id]


async def test_the_secretariat_skips_one_reminder_for_everyone(
    rt: Runtime, provider: ListProvider
) -> None:
    group = await members(rt, 3)
    provider.add(
        *(Spec(f"e:1:m:{m.id}", m.id or 0, "tomorrow", at("2026-05-05 10:00"), ref="e:1:1d",
               title="Assembly — 1 day before") for m in group)
    )  # fmt: skip
    scheduler = scheduler_of(rt)
    scheduler.clock = lambda: at("2026-05-04 12:00")
    (pending,) = await scheduler.pending()
    assert (pending.title, pending.recipients, pending.send_at) == (
        "Assembly — 1 day before",
        3,
        at("2026-05-05 10:00"),
    )
    await scheduler.skip(pending, actor_member_id=None)
    assert (await scheduler.pending())[0].skipped
    assert await scheduler.tick(at("2026-05-05 10:00")) == 0
    assert await outbox(rt.db) == []
    assert {e.outcome for e in await log_rows(rt.db)} == {"cancelled"}


async def test_a_restored_reminder_goes_at_its_time(rt: Runtime, provider: ListProvider) -> None:
    (nino,) = await members(rt, 1)
    assert nino.id is not None
    provider.add(Spec("e:2:m", nino.id, "tomorrow", at("2026-05-05 10:00"), ref="e:2:1d"))
    scheduler = scheduler_of(rt)
    scheduler.clock = lambda: at("2026-05-04 12:00")
    (pending,) = await scheduler.pending()
    await scheduler.skip(pending, actor_member_id=None)
    await scheduler.restore(pending)
    assert await scheduler.tick(at("2026-05-05 10:00")) == 1


async def test_send_now_goes_at_once_and_not_again_at_its_time(
    rt: Runtime, provider: ListProvider
) -> None:
    group = await members(rt, 2)
    provider.add(
        *(Spec(f"e:3:m:{m.id}", m.id or 0, "Assembly moved to 11:00", at("2026-05-05 10:00"),
               ref="e:3:1d") for m in group)
    )  # fmt: skip
    scheduler = scheduler_of(rt)
    scheduler.clock = lambda: at("2026-05-04 12:00")
    (pending,) = await scheduler.pending()
    assert await scheduler.send_now(pending) == 2
    assert await scheduler.tick(at("2026-05-05 10:00")) == 0
    assert len(await outbox(rt.db)) == 2
    assert {e.outcome for e in await log_rows(rt.db)} == {"sent_now"}
    assert await scheduler.pending() == []


async def test_pending_shows_the_planned_local_time_not_the_nominal_one(
    rt: Runtime, provider: ListProvider
) -> None:
    (nino,) = await members(rt, 1)
    assert nino.id is not None
    provider.add(
        Spec("e:4:m", nino.id, "x", at("2026-05-06 05:30"), at("2026-05-06 07:30"), ref="e:4:2h")
    )
    scheduler = scheduler_of(rt)
    scheduler.clock = lambda: at("2026-05-05 12:00")
    (pending,) = await scheduler.pending()
    assert pending.send_at == at("2026-05-05 21:00")
    assert (pending.move, pending.reason) == ("earlier", "quiet")
    assert await scheduler.pending(days=0.1) == []  # 21:00 is beyond a 2.4-hour horizon


async def test_a_provider_name_is_registered_once(rt: Runtime) -> None:
    scheduler_of(rt).register(ListProvider("dup"))
    with pytest.raises(ValueError, match="twice"):
        scheduler_of(rt).register(ListProvider("dup"))


async def test_pending_excludes_what_the_next_tick_will_skip(
    rt: Runtime, provider: ListProvider
) -> None:
    (nino,) = await members(rt, 1)
    assert nino.id is not None
    provider.add(Spec("old", nino.id, "x", at("2026-05-05 10:00"), at("2026-05-05 11:00")))
    scheduler = scheduler_of(rt)
    scheduler.clock = lambda: at("2026-05-05 11:30")
    assert await scheduler.pending() == []


async def test_a_broken_holidays_file_is_reported_and_reminders_keep_going(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holidays = tmp_path / "holidays.toml"
    holidays.write_text('fixed = ["05-05"]\n', encoding="utf-8")
    runtime = Runtime(make_settings(db_url, holidays_file=holidays))
    await runtime.prepare_data()
    try:
        provider = ListProvider()
        scheduler_of(runtime).register(provider)
        first, second = await members(runtime, 2)
        provider.add(
            Spec("a", first.id or 0, "x", at("2026-05-05 10:00"), at("2026-05-20 10:00")),
            Spec("b", second.id or 0, "y", at("2026-05-05 10:00"), at("2026-05-20 10:00")),
        )
        # 5 May is a holiday in this LAG's file: nothing goes.
        assert await scheduler_of(runtime).tick(at("2026-05-05 10:00")) == 0
        # A typo in the file: it is reported once, and reminders are not held back by it.
        holidays.write_text('fixed = ["5 May"]\n', encoding="utf-8")
        os.utime(holidays, (1, 1))
        with caplog.at_level(logging.ERROR, logger="scheduler.engine"):
            assert await scheduler_of(runtime).tick(at("2026-05-05 10:01")) == 0  # last good file
            await scheduler_of(runtime).tick(at("2026-05-05 10:02"))
        assert len([r for r in caplog.records if "5 May" in r.message]) == 1
        # Fixed (without 5 May any more): read again without a restart.
        holidays.write_text('fixed = ["01-01"]\n', encoding="utf-8")
        os.utime(holidays, (2, 2))
        assert await scheduler_of(runtime).tick(at("2026-05-05 10:03")) == 2
    finally:
        await runtime.db.dispose()


async def test_forget_removes_the_members_waiting_notices(rt: Runtime) -> None:
    (nino,) = await members(rt, 1)
    assert nino.id is not None
    async with rt.db.session() as session:
        await schedule_notice(
            session=session, key="grant:8:result:nino", member_id=nino.id,
            text="ნინო, თქვენი განაცხადი შეირჩა", due_at=at("2026-05-05 10:00"),
        )  # fmt: skip
    async with rt.db.session() as session:
        member = await session.get(Member, nino.id)
        assert member is not None
        await erase_member(session=session, member=member, channel="telegram")
    async with rt.db.session() as session:
        assert (await session.execute(select(ScheduledNotice))).scalars().all() == []
    assert await scheduler_of(rt).tick(at("2026-05-05 10:00")) == 0
