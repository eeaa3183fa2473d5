"""The weekly digest: Monday 10:00 in each member's language, only what concerns them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from bot.sms.encoding import sms_info
from models.members import Member
from models.outbox import OutboxMessage
from scheduler.digest import DigestSection
from scheduler.engine import Scheduler
from tests.conftest import make_settings
from tests.factories import make_member
from tests.reminders_helpers import at, log_rows, outbox

ASSEMBLY = {
    "ka": "ოთხ 6 მაისი, 11:00 — საერთო კრება, ყაბალი",
    "az": "Çər 6 may, 11:00 — Ümumi yığıncaq, Qabal",
    "ru": "ср 6 мая, 11:00 — Общее собрание, Кабали",
    "en": "Wed 6 May, 11:00 — General Assembly, Kabali",
}
# What each language's digest must say: its header, the month, the week's holiday (9 May).
EXPECTED = {
    "ka": ("თქვენი კვირა", "მაისი", "ფაშიზმზე გამარჯვების დღე"),
    "az": ("sizin həftəniz", "may", "Faşizm üzərində Qələbə günü"),
    "ru": ("ваша неделя", "мая", "День победы над фашизмом"),
    "en": ("your week: 4 May – 10 May", "May", "Sat 9 May — Victory Day"),
}


def scheduler_of(rt: Runtime) -> Scheduler:
    assert rt.scheduler is not None
    return rt.scheduler


def section(
    lines: dict[int, list[str]], *, name: str = "test-events", fail: bool = False
) -> DigestSection:
    """A digest section registered by the test, as events and grants register theirs."""

    async def for_member(
        session: AsyncSession, member: Member, week_start: datetime, week_end: datetime
    ) -> list[str]:
        if fail:
            raise RuntimeError("grants table missing")
        assert week_start < week_end
        return lines.get(member.id or 0, [])

    return DigestSection(name=name, title_key="reminders.digest_title", lines=for_member, order=5)


async def add_members(rt: Runtime, *languages: str, **fields: object) -> list[Member]:
    async with rt.db.session() as session:
        return [
            await make_member(session, language=language, **fields)  # type: ignore[arg-type]
            for language in languages
        ]


def digests(rows: list[OutboxMessage]) -> dict[int, OutboxMessage]:
    return {r.member_id or 0: r for r in rows if r.kind == "digest"}


async def test_each_member_gets_the_week_in_their_own_language(rt: Runtime) -> None:
    group = await add_members(rt, "ka", "az", "ru", "en", "ka")
    quiet_one = group[-1]
    scheduler_of(rt).add_digest_section(
        section({m.id or 0: [ASSEMBLY[m.language]] for m in group[:-1]})
    )
    scheduler = scheduler_of(rt)

    assert await scheduler.tick(at("2026-05-04 09:59")) == 0  # Monday, before 10:00
    assert await scheduler.tick(at("2026-05-04 10:00")) == 4
    assert await scheduler.tick(at("2026-05-04 10:05")) == 0

    sent = digests(await outbox(rt.db))
    assert quiet_one.id not in sent  # nothing concerned them: no message at all
    for member in group[:-1]:
        text = sent[member.id or 0].text
        header, month, holiday = EXPECTED[member.language]
        assert header in text and month in text, text
        assert ASSEMBLY[member.language] in text
        assert holiday in text  # the week's public holiday, beside the real content


async def test_nothing_is_sent_when_only_a_holiday_is_in_the_week(rt: Runtime) -> None:
    await add_members(rt, "ka", "en")
    scheduler_of(rt).add_digest_section(section({}))
    assert await scheduler_of(rt).tick(at("2026-05-04 10:00")) == 0
    assert await outbox(rt.db) == []


async def test_members_without_consent_to_announcements_get_no_digest(rt: Runtime) -> None:
    (member,) = await add_members(rt, "en", consent_announcements=False)
    scheduler_of(rt).add_digest_section(section({member.id or 0: ["Wed: assembly"]}))
    assert await scheduler_of(rt).tick(at("2026-05-04 10:00")) == 0


async def test_on_easter_monday_the_digest_waits_for_tuesday_ten(rt: Runtime) -> None:
    (member,) = await add_members(rt, "ka")
    scheduler_of(rt).add_digest_section(section({member.id or 0: ["ოთხ: ტრენინგი"]}))
    scheduler = scheduler_of(rt)
    assert await scheduler.tick(at("2026-04-13 10:00")) == 0  # Easter Monday
    assert await scheduler.tick(at("2026-04-14 09:59")) == 0
    assert await scheduler.tick(at("2026-04-14 10:00")) == 1
    (row,) = await outbox(rt.db)
    assert "14 აპრილი" in row.text  # the week is counted from the day it goes


async def test_a_digest_more_than_a_day_late_is_skipped(rt: Runtime) -> None:
    (member,) = await add_members(rt, "en")
    scheduler_of(rt).add_digest_section(section({member.id or 0: ["Wed: assembly"]}))
    # The bot was down from Sunday to Tuesday 10:30.
    assert await scheduler_of(rt).tick(at("2026-05-05 10:30")) == 0
    assert await outbox(rt.db) == []
    assert [(e.key, e.outcome) for e in await log_rows(rt.db)] == [
        (f"digest:2026-05-04:member:{member.id}", "skipped")
    ]


async def test_a_digest_a_few_hours_late_still_goes(rt: Runtime) -> None:
    (member,) = await add_members(rt, "en")
    scheduler_of(rt).add_digest_section(section({member.id or 0: ["Wed: assembly"]}))
    assert await scheduler_of(rt).tick(at("2026-05-04 15:00")) == 1


@pytest.fixture
async def wednesday_rt(db_url: str) -> AsyncIterator[Runtime]:
    runtime = Runtime(make_settings(db_url, digest_weekday=2, digest_hour=18))
    await runtime.prepare_data()
    yield runtime
    await runtime.db.dispose()


async def test_the_day_and_hour_are_settings(wednesday_rt: Runtime) -> None:
    (member,) = await add_members(wednesday_rt, "ru")
    scheduler_of(wednesday_rt).add_digest_section(section({member.id or 0: ["пт: тренинг"]}))
    scheduler = scheduler_of(wednesday_rt)
    assert await scheduler.tick(at("2026-05-04 10:00")) == 0  # Monday: not the digest day
    assert await scheduler.tick(at("2026-05-06 17:59")) == 0
    assert await scheduler.tick(at("2026-05-06 18:00")) == 1


async def test_a_long_digest_by_sms_fits_in_four_parts(rt: Runtime) -> None:
    (villager,) = await add_members(rt, "ka", telegram=False)
    many = [f"{day} მაისი — სოფლის შეხვედრა ყაბალში, 18:00" for day in range(4, 11)] * 3
    scheduler_of(rt).add_digest_section(section({villager.id or 0: many}))
    assert await scheduler_of(rt).tick(at("2026-05-04 10:00")) == 1
    (row,) = await outbox(rt.db)
    assert row.channel == "sms"
    assert sms_info(row.text).parts <= 4
    assert "…და კიდევ" in row.text  # "…and N more"
    assert "STOP" in row.text


async def test_a_failing_section_is_left_out_and_the_rest_goes(rt: Runtime) -> None:
    (member,) = await add_members(rt, "en")
    scheduler_of(rt).add_digest_section(section({}, name="grants", fail=True))
    scheduler_of(rt).add_digest_section(section({member.id or 0: ["Wed: assembly"]}))
    assert await scheduler_of(rt).tick(at("2026-05-04 10:00")) == 1
    (row,) = await outbox(rt.db)
    assert "Wed: assembly" in row.text


async def test_the_digest_is_listed_ahead_with_its_audience(rt: Runtime) -> None:
    group = await add_members(rt, "ka", "en", "ru")
    scheduler_of(rt).add_digest_section(section({m.id or 0: ["Wed: assembly"] for m in group[:2]}))
    scheduler = scheduler_of(rt)
    scheduler.clock = lambda: at("2026-05-01 12:00")  # Friday
    (digest,) = await scheduler.pending()
    assert (digest.title_key, digest.recipients) == ("reminders.digest_title", 2)
    assert digest.send_at == at("2026-05-04 10:00")
