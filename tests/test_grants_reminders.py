"""Deadline reminders with a fixed clock: 14, 3 and 1 day before each deadline, to whom, with
the days left — and nobody who fell out of the competition hears of later phases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from handlers.grants_reminders import digest_section
from models.grants import GrantCall, create_call, mark_cancelled
from models.grants_applicants import GrantApplicant, Stage, set_stage, withdraw
from models.grants_changes import apply_changes
from models.members import Member
from models.outbox import OutboxMessage
from scheduler.engine import Scheduler
from tests.factories import make_member
from tests.grants_support import draft, interested, local, outbox_rows, published

PUBLISHED = local("2027-05-20 10:00")
IDEA = local("2027-06-18 18:00")  # a Friday; the full application is due 40 days later
FULL = IDEA + timedelta(days=40)


def scheduler_of(rt: Runtime) -> Scheduler:
    assert rt.scheduler is not None
    return rt.scheduler


async def reminders(rt: Runtime) -> list[OutboxMessage]:
    return await outbox_rows(rt, kind="grant.reminder")


async def move(rt: Runtime, applicant: GrantApplicant, *stages: str, at: datetime) -> None:
    async with rt.db.session() as session:
        call = await session.get(GrantCall, applicant.grant_id)
        row = await session.get(GrantApplicant, applicant.id)
        assert call is not None and row is not None
        for stage in stages:
            await set_stage(session=session, call=call, applicant=row, stage=stage, actor=None,
                            now=at)  # fmt: skip


async def people(session: AsyncSession) -> dict[str, Member]:
    return {
        "nino": await make_member(session, name="ნინო"),  # interested
        "giorgi": await make_member(session, name="გიორგი"),  # in the audience, not registered
        "aliyev": await make_member(session, name="Əli", telegram=False, language="az"),
        "left": await make_member(session, name="წასული"),  # withdraws
        "early": await make_member(session, name="ადრიანი"),  # idea already received
    }


async def test_idea_deadline_reminders_go_to_the_audience_and_the_interested(rt: Runtime) -> None:
    async with rt.db.session() as session:
        who = await people(session)
    call = await published(rt, now=PUBLISHED, idea=IDEA)
    nino = await interested(rt, call, who["nino"], now=PUBLISHED)
    await interested(rt, call, who["aliyev"], now=PUBLISHED)
    left = await interested(rt, call, who["left"], now=PUBLISHED)
    early = await interested(rt, call, who["early"], now=PUBLISHED)
    await move(rt, early, Stage.IDEA_RECEIVED, at=PUBLISHED)
    async with rt.db.session() as session:
        fresh = await session.get(GrantCall, call.id)
        row = await session.get(GrantApplicant, left.id)
        assert fresh is not None and row is not None
        await withdraw(session=session, call=fresh, applicant=row, member=who["left"],
                       now=PUBLISHED)  # fmt: skip
    scheduler = scheduler_of(rt)

    assert await scheduler.tick(IDEA - timedelta(days=14, minutes=1)) == 0
    assert await scheduler.tick(IDEA - timedelta(days=14)) == 3
    assert await scheduler.tick(IDEA - timedelta(days=14) + timedelta(minutes=1)) == 0  # once
    sent = {row.member_id: row for row in await reminders(rt)}
    assert set(sent) == {who["nino"].id, who["giorgi"].id, who["aliyev"].id}
    assert sent[who["nino"].id].text.startswith(
        f'{call.code} "მცირე გრანტები სოფლის მეურნეობისთვის": პროექტის იდეების ვადა 14 დღეში'
    )
    assert "ინტერესის გამოხატვის ფორმა" in sent[who["nino"].id].text
    assert "lag.ge/grants/manual.pdf" in sent[who["nino"].id].text  # the manual, on Telegram
    giorgi = sent[who["giorgi"].id]
    assert f"GRANT {call.code}" in giorgi.text
    assert giorgi.payload["buttons"] == [[["🙋 დაინტერესებული ვარ", f"gr:i:{call.id}"]]]
    aliyev = sent[who["aliyev"].id]
    assert aliyev.channel == "sms" and "14 gün sonra" in aliyev.text
    assert "manual" not in aliyev.text  # the SMS stays short

    assert await scheduler.tick(IDEA - timedelta(days=3)) == 3
    assert await scheduler.tick(IDEA - timedelta(days=1)) == 3
    last = [r for r in await reminders(rt) if r.member_id == nino.member_id][-1]
    assert "პროექტის იდეების ვადა ხვალ იწურება" in last.text


async def test_after_the_shortlist_only_the_shortlisted_hear_of_the_full_deadline(
    rt: Runtime,
) -> None:
    async with rt.db.session() as session:
        who = await people(session)
    call = await published(rt, now=PUBLISHED, idea=IDEA)
    nino = await interested(rt, call, who["nino"], now=PUBLISHED)
    aliyev = await interested(rt, call, who["aliyev"], now=PUBLISHED)
    early = await interested(rt, call, who["early"], now=PUBLISHED)
    after = IDEA + timedelta(days=5)
    await move(rt, nino, Stage.IDEA_RECEIVED, Stage.SHORTLISTED, at=after)
    await move(rt, aliyev, Stage.IDEA_RECEIVED, Stage.NOT_SHORTLISTED, at=after)
    await move(rt, early, Stage.IDEA_RECEIVED, Stage.SHORTLISTED, Stage.FULL_APPLICATION, at=after)

    assert await scheduler_of(rt).tick(FULL - timedelta(days=14)) == 1
    [only] = await reminders(rt)
    assert only.member_id == who["nino"].id
    assert "სრული განაცხადის ვადა 14 დღეში" in only.text and "10% თანადაფინანსების" in only.text


async def test_a_call_without_a_shortlist_reminds_everyone_whose_idea_came(rt: Runtime) -> None:
    async with rt.db.session() as session:
        who = await people(session)
    call = await published(rt, now=PUBLISHED, idea=IDEA, shortlist=False)
    nino = await interested(rt, call, who["nino"], now=PUBLISHED)
    await interested(rt, call, who["aliyev"], now=PUBLISHED)  # never sent the idea
    await move(rt, nino, Stage.IDEA_RECEIVED, at=IDEA)
    assert await scheduler_of(rt).tick(FULL - timedelta(days=3)) == 1
    assert [r.member_id for r in await reminders(rt)] == [who["nino"].id]


async def test_upcoming_lists_each_reminder_once_for_the_secretariat(rt: Runtime) -> None:
    async with rt.db.session() as session:
        who = await people(session)
    call = await published(rt, now=PUBLISHED, idea=IDEA)
    await interested(rt, call, who["nino"], now=PUBLISHED)
    groups = await scheduler_of(rt).pending(now=IDEA - timedelta(days=15), days=13)
    grant_groups = [g for g in groups if g.provider == "grants"]
    assert [g.ref for g in grant_groups] == [
        f"grant:{call.id}:idea:14d@{IDEA.strftime('%Y%m%dT%H%M')}",
        f"grant:{call.id}:idea:3d@{IDEA.strftime('%Y%m%dT%H%M')}",
    ]
    assert grant_groups[0].recipients == 5  # the whole audience, the interested one included
    assert grant_groups[0].title.startswith(f"{call.code} · 14d · ")


async def test_moving_the_deadline_moves_its_reminders(rt: Runtime) -> None:
    async with rt.db.session() as session:
        await make_member(session)
    call = await published(rt, now=PUBLISHED, idea=IDEA)
    scheduler = scheduler_of(rt)
    assert await scheduler.tick(IDEA - timedelta(days=14)) == 1
    later = IDEA + timedelta(days=2)
    async with rt.db.session() as session:
        fresh = await session.get(GrantCall, call.id)
        assert fresh is not None
        await apply_changes(session=session, call=fresh, changes={"idea_deadline": later},
                            actor=None, now=IDEA - timedelta(days=13))  # fmt: skip
    assert await scheduler.tick(IDEA - timedelta(days=3)) == 0  # the old time: nothing
    assert await scheduler.tick(later - timedelta(days=3)) == 1
    assert "3 დღეში" in (await reminders(rt))[-1].text


async def test_no_reminder_before_publication_nor_after_cancellation(rt: Runtime) -> None:
    async with rt.db.session() as session:
        await make_member(session)
    late_publication = IDEA - timedelta(days=10)
    call = await published(rt, now=late_publication, idea=IDEA)
    scheduler = scheduler_of(rt)
    assert await scheduler.tick(IDEA - timedelta(days=14)) == 0
    assert await scheduler.tick(IDEA - timedelta(days=3)) == 1
    async with rt.db.session() as session:
        fresh = await session.get(GrantCall, call.id)
        assert fresh is not None
        await mark_cancelled(session=session, call=fresh, actor=None, now=IDEA - timedelta(days=2))
    assert await scheduler.tick(IDEA - timedelta(days=1)) == 0


async def test_a_draft_call_reminds_nobody(rt: Runtime) -> None:
    async with rt.db.session() as session:
        await make_member(session)
        await create_call(session=session, draft=draft(now=PUBLISHED, idea=IDEA), actor=None,
                          now=PUBLISHED)  # fmt: skip
    assert await scheduler_of(rt).tick(IDEA - timedelta(days=3)) == 0


async def test_the_weekly_digest_lists_the_deadlines_that_concern_each_member(
    rt: Runtime,
) -> None:
    async with rt.db.session() as session:
        who = await people(session)
    call = await published(rt, now=PUBLISHED, idea=IDEA)
    aliyev = await interested(rt, call, who["aliyev"], now=PUBLISHED)
    await move(rt, aliyev, Stage.IDEA_RECEIVED, Stage.NOT_SHORTLISTED, at=IDEA)
    section = digest_section(rt)
    week = local("2027-06-14 10:00")
    async with rt.db.session() as session:
        giorgi = await section.lines(session, who["giorgi"], week, week + timedelta(days=7))
        later = await section.lines(
            session, who["aliyev"], FULL - timedelta(days=3), FULL + timedelta(days=4)
        )
    assert giorgi == [
        f"{call.code} · 18 ივნ, 18:00 · მცირე გრანტები სოფლის მეურნეობისთვის: პროექტის იდეების ვადა"
    ]
    assert later == []  # not shortlisted: the full application deadline is not theirs
