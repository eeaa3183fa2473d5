"""Changing an initiative (models.youth_changes.update_initiative): the team size never below the
team, a larger team promoting from the reserve list in line order (the shared seats code), the
lead told who joined, the dates checked like a proposal, the status machine respected, every
change audited; simulated members never taking a real place nor counting; the announcement's
buttons per language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.outbound import Button
from bot.runtime import Runtime
from handlers.youth_notify import proposal_to_secretariat, update_and_notify
from models import seats
from models.audiences import Audience
from models.audit import AuditLog
from models.base import utcnow
from models.broadcasts import publish_broadcast
from models.outbox import OutboxMessage
from models.youth import (
    SEAT_KIND,
    InitiativeStatus,
    YouthRefused,
    propose_initiative,
    start_initiative,
)
from models.youth_changes import update_initiative
from models.youth_signups import Band, participation, sign_up, team_of, withdraw
from tests.factories import community_id, make_member
from tests.youth_support import admin, draft, open_initiative, young

BAND = Band(14, 29)
SIM = "+995500000007"  # the simulator's reserved range


async def test_a_larger_team_promotes_from_the_reserve_list_in_line_order(rt: Runtime) -> None:
    async with rt.db.session() as session:
        lead, secretary = await young(session, name="ლიდერი"), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary, size=1)
        first, second, third = [await young(session, name=n) for n in ("ა", "ბ", "გ")]
        for member in (first, second, third):
            await sign_up(session=session, initiative=initiative, member=member, band=BAND,
                          now=utcnow(), channel="telegram")  # fmt: skip
        assert initiative.status == InitiativeStatus.FULL
        update = await update_and_notify(rt, session, initiative, secretary, utcnow(),
                                         target_size=2)  # fmt: skip
        assert update.changed == ["target_size"] and update.promoted == [second.id]
        assert initiative.status == InitiativeStatus.FULL  # two places, two in the team
        update = await update_initiative(session=session, initiative=initiative,
                                         actor=lead, now=utcnow(), target_size=5)  # fmt: skip
        assert update.promoted == [third.id] and initiative.status == InitiativeStatus.OPEN
        assert initiative.id is not None
        counts = await seats.seat_counts(session=session, kind=SEAT_KIND, item_id=initiative.id)
        assert (counts.seated, counts.waiting) == (3, 0)
        told = (
            await session.execute(
                select(OutboxMessage.text).where(OutboxMessage.member_id == second.id)
            )
        ).scalars()
        assert any("ადგილი გათავისუფლდა" in text for text in told)  # the promoted is told
        to_lead = (
            await session.execute(
                select(OutboxMessage.text).where(OutboxMessage.member_id == lead.id)
            )
        ).scalars()
        joined = f"⬆️ სარეზერვო სიიდან გუნდში გადავიდა: ბ ({second.village or '—'})"
        assert any(text.startswith(joined) for text in to_lead)  # and the lead, who joined
        audits = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "youth.updated")))
            .scalars()
            .all()
        )
    assert [a.details["changes"]["target_size"] for a in audits] == [[1, 2], [2, 5]]
    assert audits[0].details["promoted"] == [second.id]
    assert audits[0].actor_member_id == secretary.id and audits[1].actor_member_id == lead.id


async def test_the_team_size_never_goes_below_the_team(rt: Runtime) -> None:
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary, size=5)
        for name in ("ა", "ბ"):
            await sign_up(session=session, initiative=initiative, member=await young(session,
                          name=name), band=BAND, now=utcnow(), channel="sms")  # fmt: skip
        with pytest.raises(YouthRefused) as refused:
            await update_initiative(session=session, initiative=initiative, actor=lead,
                                    now=utcnow(), target_size=1)  # fmt: skip
        assert refused.value.key == "youth.refused_size_below_team"
        assert refused.value.values == {"team": "2"}
        with pytest.raises(YouthRefused):
            await update_initiative(session=session, initiative=initiative, actor=lead,
                                    now=utcnow(), target_size=0)  # fmt: skip
        assert initiative.target_size == 5
        # Down to exactly the team: full, and nobody lost a place.
        await update_initiative(session=session, initiative=initiative, actor=lead,
                                now=utcnow(), target_size=2)  # fmt: skip
        assert initiative.status == InitiativeStatus.FULL
        assert len(await team_of(session=session, initiative=initiative)) == 2
        same = await update_initiative(session=session, initiative=initiative, actor=lead,
                                       now=utcnow(), target_size=2)  # fmt: skip
        assert same.changed == []


async def test_dates_community_skills_and_helpers_are_checked_and_audited(rt: Runtime) -> None:
    now = utcnow()
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary)
        deadline, start = initiative.signup_deadline, initiative.starts_at
        cases: list[tuple[dict[str, Any], str]] = [
            ({"signup_deadline": now - timedelta(hours=1)}, "youth.refused_deadline_past"),
            ({"starts_at": deadline - timedelta(days=1)}, "youth.refused_start_before_deadline"),
            ({"signup_deadline": start + timedelta(days=1)}, "youth.refused_start_before_deadline"),
            ({"community_id": 999_999}, "youth.refused_community"),
            ({"skills": ["juggling"]}, "youth.refused_skill"),
        ]
        for changes, key in cases:
            with pytest.raises(YouthRefused) as refused:
                await update_initiative(session=session, initiative=initiative, actor=lead,
                                        now=now, **changes)  # fmt: skip
            assert refused.value.key == key
        assert (initiative.signup_deadline, initiative.starts_at) == (deadline, start)
        kabali = await community_id(session, "kabali")
        update = await update_initiative(
            session=session, initiative=initiative, actor=secretary, now=now,
            signup_deadline=start + timedelta(days=1), starts_at=start + timedelta(days=3),
            community_id=kabali, skills=["ecology"], allows_non_youth=True,
        )  # fmt: skip
        assert update.dates_changed and initiative.community_id == kabali
        assert initiative.skills == ["ecology"] and initiative.allows_non_youth
        # Back to the whole municipality (None is a value, not "unchanged").
        await update_initiative(session=session, initiative=initiative, actor=secretary,
                                now=now, community_id=None)  # fmt: skip
        assert initiative.community_id is None
        logged = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "youth.updated")))
            .scalars()
            .all()
        )
    assert set(logged[0].details["changes"]) == {
        "signup_deadline", "starts_at", "community_id", "skills", "allows_non_youth",
    }  # fmt: skip
    assert logged[1].details["changes"] == {"community_id": [kabali, None]}


async def test_a_running_initiative_is_no_longer_edited(rt: Runtime) -> None:
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary)
        await start_initiative(session=session, initiative=initiative, actor=lead, now=utcnow())
        with pytest.raises(YouthRefused) as refused:
            await update_initiative(session=session, initiative=initiative, actor=lead,
                                    now=utcnow(), target_size=10)  # fmt: skip
    assert refused.value.key == "youth.refused_not_editable"
    assert refused.value.values == {"status": "running"}


async def test_new_dates_are_told_to_the_team(rt: Runtime) -> None:
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary)
        member = await young(session, name="ანა", language="ru")
        await sign_up(session=session, initiative=initiative, member=member, band=BAND,
                      now=utcnow(), channel="telegram")  # fmt: skip
        later = initiative.starts_at + timedelta(days=7)
        await update_and_notify(rt, session, initiative, secretary, utcnow(), starts_at=later)
        texts = {
            member_id: text
            for member_id, text in (
                await session.execute(
                    select(OutboxMessage.member_id, OutboxMessage.text).where(
                        col(OutboxMessage.text).contains("📅")
                    )
                )
            ).all()
        }
    assert set(texts) == {lead.id, member.id}
    assert "Новые даты" in texts[member.id]
    assert later.astimezone(rt.settings.tz).strftime("%d.%m.%Y") in texts[member.id]


async def test_a_simulated_member_never_takes_a_real_place_nor_counts(rt: Runtime) -> None:
    """As events do: the simulator's test person is answered as in the team, but the one
    place stays for a real young person, and the numbers know nothing of the test."""
    async with rt.db.session() as session:
        lead, secretary = await young(session, name="ლიდერი"), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary, size=1)
        sim = await young(session, name="Sim", phone=SIM, telegram=False)
        assert sim.is_simulated
        simulated = await sign_up(session=session, initiative=initiative, member=sim,
                                  band=BAND, now=utcnow(), channel="sms")  # fmt: skip
        assert simulated.status == "seated" and simulated.changed
        assert simulated.spots_left == 1 and initiative.status == InitiativeStatus.OPEN
        real = await young(session, name="Real")
        outcome = await sign_up(session=session, initiative=initiative, member=real,
                                band=BAND, now=utcnow(), channel="sms")  # fmt: skip
        assert outcome.status == "seated"  # the place was still free
        numbers = await participation(session=session, now=utcnow())
        assert (numbers.signups, numbers.people) == (1, 1)
        assert [p.member.name for p in await team_of(session=session, initiative=initiative)] == [
            "Real"
        ]
        left = await withdraw(session=session, initiative=initiative, member=sim, now=utcnow(),
                              channel="sms")  # fmt: skip
        assert left.promoted == [] and initiative.status == InitiativeStatus.FULL
        with pytest.raises(YouthRefused):  # withdrawing twice: not signed up
            await withdraw(session=session, initiative=initiative, member=sim, now=utcnow(),
                           channel="sms")  # fmt: skip
        to_lead = (
            await session.execute(
                select(OutboxMessage.text).where(OutboxMessage.member_id == lead.id)
            )
        ).scalars()
    assert initiative.id is not None
    assert not any("Sim" in text for text in to_lead)  # sign_up itself tells nobody anyway


async def test_a_simulated_proposal_does_not_reach_the_real_secretariat(rt: Runtime) -> None:
    async with rt.db.session() as session:
        secretary = await admin(session)
        sim = await young(session, name="Sim", phone=SIM)
        real = await young(session, name="Real")
        simulated = await propose_initiative(session=session, draft=draft(), proposer=sim,
                                             now=utcnow())  # fmt: skip
        assert await proposal_to_secretariat(rt, session, simulated) == 0
        genuine = await propose_initiative(session=session, draft=draft(), proposer=real,
                                           now=utcnow())  # fmt: skip
        assert await proposal_to_secretariat(rt, session, genuine) == 1
        cards = (
            await session.execute(
                select(OutboxMessage.text).where(OutboxMessage.member_id == secretary.id)
            )
        ).scalars()
        numbers = await participation(session=session, now=utcnow())
    assert [genuine.code in text for text in cards] == [True]
    assert numbers.by_status == {"proposed": 1}  # the simulated proposal is not counted


async def test_broadcast_buttons_per_language_on_telegram_only(rt: Runtime) -> None:
    async with rt.db.session() as session:
        ka = await make_member(session, name="ka")
        az = await make_member(session, name="az", language="az")
        sms = await make_member(session, name="sms", telegram=False, language="ru")
        broadcast = await publish_broadcast(
            session=session, settings=rt.settings, texts={"ka": "გამარჯობა"},
            audience=Audience(), urgent=False, created_by=None,
            buttons={"ka": [[Button("კი", "x:1")]], "az": [[Button("Bəli", "x:1")]]},
        )  # fmt: skip
        rows = {
            row.member_id: row
            for row in (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast.id)
                )
            ).scalars()
        }
    assert rows[ka.id].payload["buttons"] == [[["კი", "x:1"]]]
    assert rows[az.id].payload["buttons"] == [[["Bəli", "x:1"]]]
    assert rows[sms.id].channel == "sms" and "buttons" not in (rows[sms.id].payload or {})
