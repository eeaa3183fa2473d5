"""Youth initiatives, the rules: review workflow, sign-up to the target team size, the reserve
list (the shared seats mechanism) with promotion, eligibility, and participation numbers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.runtime import Runtime
from models import seats
from models.audit import AuditLog
from models.base import utcnow
from models.youth import (
    SEAT_KIND,
    InitiativeStatus,
    Review,
    YouthRefused,
    approve_proposal,
    decline_proposal,
    finish_initiative,
    initiative_id_from_code,
    may_see_team,
    propose_initiative,
    request_changes,
    resubmit_initiative,
    set_initiative_text,
    start_due_initiatives,
    start_initiative,
)
from models.youth_signups import (
    MAX_WHY,
    Band,
    clip_why,
    open_for,
    participation,
    sign_up,
    team_of,
    update_signup,
    withdraw,
)
from tests.factories import make_member
from tests.youth_support import admin, draft, open_initiative, young

BAND = Band(14, 29)


async def test_a_proposal_waits_for_review_and_approval_opens_it(rt: Runtime) -> None:
    async with rt.db.session() as session:
        proposer, secretary = await young(session), await admin(session)
        initiative = await propose_initiative(
            session=session, draft=draft(), proposer=proposer, now=utcnow()
        )
        assert initiative.status == InitiativeStatus.PROPOSED
        assert initiative.lead_member_id == proposer.id
        with pytest.raises(YouthRefused):  # nobody can join a proposal
            await sign_up(
                session=session,
                initiative=initiative,
                member=proposer,
                band=BAND,
                now=utcnow(),
                channel="telegram",
            )
        await approve_proposal(
            session=session, initiative=initiative, actor=secretary, now=utcnow()
        )
        assert initiative.status == InitiativeStatus.OPEN
        with pytest.raises(YouthRefused) as again:
            await approve_proposal(
                session=session, initiative=initiative, actor=secretary, now=utcnow()
            )
        assert again.value.key == "youth.refused_already_reviewed"
        actions = [a.action for a in (await session.execute(select(AuditLog))).scalars()]
    assert "youth.proposed" in actions and "youth.approved" in actions


async def test_changes_asked_then_resubmitted_goes_back_to_the_queue(rt: Runtime) -> None:
    async with rt.db.session() as session:
        proposer, secretary = await young(session), await admin(session)
        initiative = await propose_initiative(
            session=session, draft=draft(), proposer=proposer, now=utcnow()
        )
        with pytest.raises(YouthRefused):  # a reason is required
            await request_changes(
                session=session, initiative=initiative, actor=secretary, note=" ", now=utcnow()
            )
        await request_changes(
            session=session,
            initiative=initiative,
            actor=secretary,
            note="დაამატეთ ბიუჯეტი",
            now=utcnow(),
        )
        assert initiative.review == Review.CHANGES
        with pytest.raises(YouthRefused):  # not pending any more
            await approve_proposal(
                session=session, initiative=initiative, actor=secretary, now=utcnow()
            )
        await resubmit_initiative(
            session=session,
            initiative=initiative,
            draft=draft(size=5),
            proposer=proposer,
            now=utcnow(),
        )
        assert initiative.review == Review.PENDING and initiative.target_size == 5
        await approve_proposal(
            session=session, initiative=initiative, actor=secretary, now=utcnow()
        )
        assert initiative.status == InitiativeStatus.OPEN


async def test_decline_needs_a_reason_and_is_final(rt: Runtime) -> None:
    async with rt.db.session() as session:
        proposer, secretary = await young(session), await admin(session)
        initiative = await propose_initiative(
            session=session, draft=draft(), proposer=proposer, now=utcnow()
        )
        await decline_proposal(
            session=session,
            initiative=initiative,
            actor=secretary,
            reason="ბიუჯეტი არ არის",
            now=utcnow(),
        )
        assert initiative.status == InitiativeStatus.DECLINED
        assert initiative.review_note == "ბიუჯეტი არ არის"


async def test_bad_drafts_are_refused_with_a_reason(rt: Runtime) -> None:
    async with rt.db.session() as session:
        proposer = await young(session)
        past = utcnow() - timedelta(days=1)
        for bad, key in [
            (draft(size=0), "youth.refused_size"),
            (draft(deadline=past), "youth.refused_deadline_past"),
            (draft(starts=utcnow() + timedelta(days=1)), "youth.refused_start_before_deadline"),
        ]:
            with pytest.raises(YouthRefused) as refused:
                await propose_initiative(
                    session=session, draft=bad, proposer=proposer, now=utcnow()
                )
            assert refused.value.key == key


async def test_the_target_fills_then_the_reserve_list_and_a_withdrawal_promotes(
    rt: Runtime,
) -> None:
    now = utcnow()
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary, size=2)
        a, b, c, d = [await young(session, name=n) for n in ("ა", "ბ", "გ", "დ")]
        for member in (a, b):
            outcome = await sign_up(
                session=session,
                initiative=initiative,
                member=member,
                band=BAND,
                now=now,
                channel="telegram",
            )
            assert outcome.status == "seated"
        assert initiative.status == InitiativeStatus.FULL
        third = await sign_up(
            session=session, initiative=initiative, member=c, band=BAND, now=now, channel="sms"
        )
        fourth = await sign_up(
            session=session, initiative=initiative, member=d, band=BAND, now=now, channel="sms"
        )
        assert (third.status, third.place) == ("waiting", 1)
        assert (fourth.status, fourth.place) == ("waiting", 2)
        left = await withdraw(
            session=session, initiative=initiative, member=a, now=now, channel="telegram"
        )
        assert left.promoted == [c.id]  # first in line, not the last
        assert initiative.status == InitiativeStatus.FULL
        team = await team_of(session=session, initiative=initiative)
        assert [(p.member.id, p.status) for p in team] == [
            (b.id, "seated"),
            (c.id, "seated"),
            (d.id, "waiting"),
        ]
        # The same seats rows events use: one mechanism.
        assert initiative.id is not None
        counts = await seats.seat_counts(session=session, kind=SEAT_KIND, item_id=initiative.id)
        assert (counts.seated, counts.waiting) == (2, 1)
        await withdraw(session=session, initiative=initiative, member=d, now=now, channel="sms")
        await withdraw(session=session, initiative=initiative, member=b, now=now, channel="sms")
        assert initiative.status == InitiativeStatus.OPEN


async def test_signing_up_twice_keeps_one_place(rt: Runtime) -> None:
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary, size=3)
        member = await young(session)
        for _ in range(2):
            outcome = await sign_up(
                session=session,
                initiative=initiative,
                member=member,
                band=BAND,
                now=utcnow(),
                channel="telegram",
            )
        assert not outcome.changed and outcome.spots_left == 2


async def test_non_youth_only_when_helpers_are_allowed(rt: Runtime) -> None:
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        youth_only = await open_initiative(session, lead=lead, by=secretary)
        with_helpers = await open_initiative(session, lead=lead, by=secretary, helpers=True)
        elder = await make_member(session, birth_year=1970)
        with pytest.raises(YouthRefused) as refused:
            await sign_up(
                session=session,
                initiative=youth_only,
                member=elder,
                band=BAND,
                now=utcnow(),
                channel="sms",
            )
        assert refused.value.key == "youth.refused_not_youth"
        outcome = await sign_up(
            session=session,
            initiative=with_helpers,
            member=elder,
            band=BAND,
            now=utcnow(),
            channel="sms",
        )
        assert outcome.status == "seated"


async def test_after_the_deadline_nobody_signs_up_and_the_start_makes_it_running(
    rt: Runtime,
) -> None:
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary)
        late = initiative.signup_deadline + timedelta(minutes=1)
        with pytest.raises(YouthRefused) as refused:
            await sign_up(
                session=session,
                initiative=initiative,
                member=await young(session),
                band=BAND,
                now=late,
                channel="sms",
            )
        assert refused.value.key == "youth.refused_deadline_passed"
        started = await start_due_initiatives(session=session, now=initiative.starts_at)
        assert [i.id for i in started] == [initiative.id]
        assert initiative.status == InitiativeStatus.RUNNING


async def test_only_the_lead_and_the_secretariat_may_see_the_team(rt: Runtime) -> None:
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary)
        teammate = await young(session)
        assert may_see_team(lead, initiative) and may_see_team(secretary, initiative)
        assert not may_see_team(teammate, initiative)
        assert not may_see_team(None, initiative)


async def test_participation_numbers_by_community_gender_age_and_status(rt: Runtime) -> None:
    now = utcnow()
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary, size=5)
        await propose_initiative(session=session, draft=draft(), proposer=lead, now=now)
        girl = await young(session, gender="female", community="kabali", birth_year=now.year - 16)
        boy = await young(session, gender="male", birth_year=now.year - 27)
        for member in (girl, boy):
            await sign_up(
                session=session,
                initiative=initiative,
                member=member,
                band=BAND,
                now=now,
                channel="sms",
            )
        numbers = await participation(session=session, now=now)
    assert numbers.signups == 2 and numbers.people == 2
    assert numbers.by_gender == {"female": 1, "male": 1}
    assert numbers.by_age == {"0-17": 1, "25-29": 1}
    assert sorted(numbers.by_community.values()) == [1, 1]
    assert numbers.by_status == {"open": 1, "proposed": 1}


def test_codes_in_latin_cyrillic_or_bare() -> None:
    assert initiative_id_from_code("Y4") == 4
    assert initiative_id_from_code("у12") == 12  # Cyrillic
    assert initiative_id_from_code("7") == 7
    assert initiative_id_from_code("E4") is None


async def test_the_status_machine_refuses_changes_it_does_not_draw(rt: Runtime) -> None:
    now = utcnow()
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        proposed = await propose_initiative(session=session, draft=draft(), proposer=lead, now=now)
        with pytest.raises(YouthRefused) as refused:  # a proposal cannot start
            await start_initiative(session=session, initiative=proposed, actor=secretary, now=now)
        assert refused.value.key == "youth.refused_transition"
        assert refused.value.values == {"status": "proposed", "to": "running"}
        initiative = await open_initiative(session, lead=lead, by=secretary)
        with pytest.raises(YouthRefused) as refused:  # open → finished skips running
            await finish_initiative(session=session, initiative=initiative, actor=lead, now=now)
        assert refused.value.values == {"status": "open", "to": "finished"}
        await start_initiative(session=session, initiative=initiative, actor=lead, now=now)
        assert initiative.status == InitiativeStatus.RUNNING
        with pytest.raises(YouthRefused):  # running cannot go back to sign-ups
            await start_initiative(session=session, initiative=initiative, actor=lead, now=now)
        with pytest.raises(YouthRefused) as late:  # and takes no sign-ups
            await sign_up(
                session=session,
                initiative=initiative,
                member=await young(session),
                band=BAND,
                now=now,
                channel="sms",
            )
        assert late.value.key == "youth.refused_not_open"
        await finish_initiative(session=session, initiative=initiative, actor=secretary, now=now)
        assert initiative.status == InitiativeStatus.FINISHED and initiative.finished_at == now
        with pytest.raises(YouthRefused) as final:
            await finish_initiative(session=session, initiative=initiative, actor=lead, now=now)
        assert final.value.values == {"status": "finished", "to": "finished"}
        declined = await propose_initiative(session=session, draft=draft(), proposer=lead, now=now)
        await decline_proposal(
            session=session, initiative=declined, actor=secretary, reason="არა", now=now
        )
        with pytest.raises(YouthRefused):
            await start_initiative(session=session, initiative=declined, actor=secretary, now=now)
        audit = [
            (a.action, a.actor_member_id)
            for a in (await session.execute(select(AuditLog))).scalars()
            if a.target == f"youth:{initiative.id}"
        ]
    assert ("youth.started", lead.id) in audit and ("youth.finished", secretary.id) in audit


async def test_texts_in_other_languages_follow_the_fallback_chain(rt: Runtime) -> None:
    now = utcnow()
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary)
        assert initiative.description_in("az") == "ვრგავთ ხეებს სკოლის ეზოში."  # az → ru → ka
        await set_initiative_text(
            session=session,
            initiative=initiative,
            language="ru",
            actor=secretary,
            now=now,
            title="Озеленение школьного двора",
            description="Сажаем деревья во дворе школы.",
        )
        assert initiative.description_in("az") == "Сажаем деревья во дворе школы."
        assert initiative.title_in("ru") == "Озеленение школьного двора"
        await set_initiative_text(
            session=session,
            initiative=initiative,
            language="az",
            actor=lead,
            now=now,
            description="Məktəbin həyətində ağac əkirik.",
        )
        assert initiative.description_in("az") == "Məktəbin həyətində ağac əkirik."
        assert initiative.title_in("az") == "Озеленение школьного двора"  # no az title yet
        assert initiative.description_in("ka") == "ვრგავთ ხეებს სკოლის ეზოში."
        assert initiative.description_in("en") == "We plant trees in the school yard."
        with pytest.raises(YouthRefused) as refused:
            await set_initiative_text(
                session=session, initiative=initiative, language="de", actor=lead, now=now,
                description="Bäume",
            )  # fmt: skip
        assert refused.value.key == "youth.refused_language"
        actions = [a.action for a in (await session.execute(select(AuditLog))).scalars()]
    assert actions.count("youth.text_edited") == 2


async def test_a_long_why_line_is_kept_shortened_and_says_so(rt: Runtime) -> None:
    long_line = "ვიცი " * 60
    kept, shortened = clip_why(long_line)
    assert shortened and len(kept) == MAX_WHY and long_line.startswith(kept)
    assert clip_why("მოკლე") == ("მოკლე", False)
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        initiative = await open_initiative(session, lead=lead, by=secretary)
        member = await young(session)
        await sign_up(
            session=session, initiative=initiative, member=member, band=BAND, now=utcnow(),
            channel="sms",
        )  # fmt: skip
        row = await update_signup(
            session=session, initiative=initiative, member=member, why=long_line
        )
    assert row.why == kept


async def test_open_initiatives_come_before_full_ones(rt: Runtime) -> None:
    now = utcnow()
    async with rt.db.session() as session:
        lead, secretary = await young(session), await admin(session)
        soon = utcnow() + timedelta(days=3)
        full = await open_initiative(session, lead=lead, by=secretary, size=1, deadline=soon)
        later = await open_initiative(session, lead=lead, by=secretary, size=3)
        await sign_up(
            session=session, initiative=full, member=await young(session), band=BAND, now=now,
            channel="sms",
        )  # fmt: skip
        assert full.status == InitiativeStatus.FULL
        found = await open_for(session=session, member=await young(session), band=BAND, now=now)
    assert [i.id for i in found] == [later.id, full.id]


def test_a_proposal_keeps_the_text_in_the_proposers_language(rt: Runtime) -> None:
    from handlers.youth_propose import _draft

    data = {
        "title": "Ağac əkini",
        "description": "Məktəbin həyətində ağac əkirik.",
        "size": 4,
        "deadline": "2099-12-20",
        "start": "2100-01-05",
        "language": "az",
    }
    proposed = _draft(data, rt)
    assert proposed.title == {"az": "Ağac əkini"}
    assert proposed.description == {"az": "Məktəbin həyətində ağac əkirik."}
