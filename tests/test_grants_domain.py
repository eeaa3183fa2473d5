"""The grant competition's rules, without any channel: what a call must say, the phases in
order, interest and the applicant's stage machine, counts for donors, and erasure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.runtime import Runtime
from models.base import utcnow
from models.events import EventDraft, create_event
from models.grants import (
    GrantCall,
    GrantInputError,
    GrantStateError,
    GrantStatus,
    create_call,
    grant_id_from_code,
    mark_cancelled,
    mark_published,
)
from models.grants_applicants import Stage, allowed_next, register_interest, set_stage, withdraw
from models.grants_changes import apply_changes
from models.grants_input import (
    parse_amount_range,
    parse_event_codes,
    parse_percent,
    parse_phase_time,
    parse_url,
)
from models.grants_reports import grant_counts
from models.privacy import erase_member
from tests.factories import make_member
from tests.grants_support import TBILISI, applicant_row, draft, interested, local, published


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1000-20000", (1000, 20000)),
        ("1 000 – 150 000", (1000, 150000)),
        ("1,000 to 150,000 GEL", (1000, 150000)),
        ("5000 ლარი", (5000, 5000)),
        ("20 000 - 340 000", (20000, 340000)),
    ],
)
def test_grant_ranges_are_read_as_typed(text: str, expected: tuple[int, int]) -> None:
    assert parse_amount_range(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("20000-1000", "grants.err_amount_order"),
        ("a lot", "grants.err_amount_format"),
        ("0-500", "grants.err_amount_bounds"),
        ("1-2-3", "grants.err_amount_format"),
    ],
)
def test_bad_ranges_say_why(text: str, key: str) -> None:
    with pytest.raises(GrantInputError) as refused:
        parse_amount_range(text)
    assert refused.value.key == key


def test_percent_link_and_event_codes() -> None:
    assert parse_percent("10%") == 10 and parse_percent("0") == 0
    with pytest.raises(GrantInputError):
        parse_percent("95")
    assert parse_url("lag.ge/manual.pdf") == "https://lag.ge/manual.pdf"
    with pytest.raises(GrantInputError):
        parse_url("see the office")
    assert parse_event_codes("E12, е14 ე12") == [12, 14]  # Latin, Cyrillic, Georgian letters
    with pytest.raises(GrantInputError) as refused:
        parse_event_codes("E12 X9")
    assert refused.value.values == {"code": "X9"}


def test_a_date_alone_closes_at_six_in_the_evening_in_tbilisi() -> None:
    now = local("2027-01-10 09:00")
    moment = parse_phase_time("18.06.2027", deadline=True, tz=TBILISI, now=now)
    assert moment == local("2027-06-18 18:00")
    other = parse_phase_time("25.06.2027", deadline=False, tz=TBILISI, now=now)
    assert other == local("2027-06-25 10:00")


def test_codes_in_every_script() -> None:
    assert grant_id_from_code("G3") == 3
    assert grant_id_from_code("g3") == 3
    assert grant_id_from_code("გ3") == 3
    assert grant_id_from_code("E3") is None


async def test_phases_must_follow_each_other_and_lie_ahead(rt: Runtime) -> None:
    now = utcnow()
    async with rt.db.session() as session:
        backwards = draft(now=now)
        backwards.shortlist_at = backwards.idea_deadline - timedelta(days=1)
        with pytest.raises(GrantInputError) as refused:
            await create_call(session=session, draft=backwards, actor=None, now=now)
        assert refused.value.key == "grants.err_phase_order"
        assert refused.value.values["phase"] == "shortlist_at"
        assert refused.value.values["previous"] == "idea_deadline"

        past = draft(now=now, idea=now - timedelta(hours=1))
        with pytest.raises(GrantInputError) as refused:
            await create_call(session=session, draft=past, actor=None, now=now)
        assert refused.value.key == "grants.err_phase_past"


async def test_an_info_session_after_the_idea_deadline_is_refused(rt: Runtime) -> None:
    now = utcnow()
    async with rt.db.session() as session:
        late = now + timedelta(days=25)
        event = await create_event(
            session=session,
            draft=EventDraft(kind="info_session", title={"ka": "ინფო"}, description={},
                             starts_at=late, ends_at=late + timedelta(hours=2), place="კაბალი"),
            actor=None, now=now,
        )  # fmt: skip
        with pytest.raises(GrantInputError) as refused:
            await create_call(session=session, draft=draft(now=now, info_sessions=[event.id or 0]),
                              actor=None, now=now)  # fmt: skip
    assert refused.value.key == "grants.err_session_after_deadline"


async def test_publishing_twice_and_editing_a_cancelled_call_are_refused(rt: Runtime) -> None:
    call = await published(rt)
    async with rt.db.session() as session:
        fresh = await session.get(GrantCall, call.id)
        assert fresh is not None and fresh.status == GrantStatus.PUBLISHED
        with pytest.raises(GrantStateError) as refused:
            await mark_published(session=session, call=fresh, actor=None, now=utcnow())
        assert refused.value.key == "grants.err_is_published"
        await mark_cancelled(session=session, call=fresh, actor=None, now=utcnow())
        with pytest.raises(GrantStateError) as refused:
            await apply_changes(session=session, call=fresh, changes={"cofinancing_pct": 5},
                                actor=None, now=utcnow())  # fmt: skip
        assert refused.value.key == "grants.err_is_cancelled"


async def test_moving_a_published_deadline_into_the_past_is_refused(rt: Runtime) -> None:
    call = await published(rt)
    async with rt.db.session() as session:
        fresh = await session.get(GrantCall, call.id)
        assert fresh is not None
        before = fresh.sequence
        with pytest.raises(GrantInputError):
            past = {"idea_deadline": utcnow() - timedelta(days=1)}
            await apply_changes(session=session, call=fresh, actor=None, now=utcnow(),
                                changes=past)  # fmt: skip
        later = fresh.idea_deadline + timedelta(days=2)
        changed = await apply_changes(session=session, call=fresh, actor=None, now=utcnow(),
                                      changes={"idea_deadline": later})  # fmt: skip
        assert changed == ["idea_deadline"] and fresh.sequence == before + 1


async def test_interest_only_in_eligible_types_and_before_the_idea_deadline(rt: Runtime) -> None:
    call = await published(rt)
    async with rt.db.session() as session:
        nino = await make_member(session)
        fresh = await session.get(GrantCall, call.id)
        assert fresh is not None
        with pytest.raises(GrantInputError) as refused:
            await register_interest(
                session=session, call=fresh, member=nino, applicant_type="municipal",
                idea_title="", village="კაბალი", channel="sms", now=utcnow(),
            )  # fmt: skip
        assert refused.value.key == "grants.err_type_not_eligible"
        with pytest.raises(GrantStateError) as closed:
            await register_interest(
                session=session, call=fresh, member=nino, applicant_type="ngo", idea_title="",
                village="კაბალი", channel="sms", now=fresh.idea_deadline + timedelta(minutes=1),
            )  # fmt: skip
        assert closed.value.key == "grants.err_interest_closed"


async def test_the_stage_machine(rt: Runtime) -> None:
    call = await published(rt)
    async with rt.db.session() as session:
        nino = await make_member(session)
    applicant = await interested(rt, call, nino)
    async with rt.db.session() as session:
        fresh = await session.get(GrantCall, call.id)
        assert fresh is not None
        assert allowed_next(fresh, applicant) == [Stage.IDEA_RECEIVED, Stage.WITHDRAWN]
        with pytest.raises(GrantStateError):  # no jumping from interest straight to funding
            await set_stage(session=session, call=fresh, applicant=applicant,
                            stage=Stage.FUNDED, actor=None, now=utcnow())  # fmt: skip
        await set_stage(session=session, call=fresh, applicant=applicant,
                        stage=Stage.IDEA_RECEIVED, actor=None, now=utcnow())  # fmt: skip
        # A call with a shortlist phase does not skip it.
        assert Stage.FULL_APPLICATION not in allowed_next(fresh, applicant)
        with pytest.raises(GrantStateError) as stale:
            await set_stage(session=session, call=fresh, applicant=applicant,
                            stage=Stage.SHORTLISTED, actor=None, now=utcnow(),
                            expected=Stage.INTERESTED)  # fmt: skip
        assert stale.value.key == "grants.err_stage_changed"
        await withdraw(session=session, call=fresh, applicant=applicant, member=nino,
                       now=utcnow())  # fmt: skip
        assert allowed_next(fresh, applicant) == [Stage.IDEA_RECEIVED]  # restore
        assert [h["stage"] for h in applicant.history] == [
            "interested", "idea_received", "withdrawn"
        ]  # fmt: skip


async def test_a_withdrawn_member_who_registers_again_gets_their_stage_back(rt: Runtime) -> None:
    call = await published(rt)
    async with rt.db.session() as session:
        nino = await make_member(session)
    applicant = await interested(rt, call, nino)
    async with rt.db.session() as session:
        fresh = await session.get(GrantCall, call.id)
        assert fresh is not None
        await withdraw(session=session, call=fresh, applicant=applicant, member=nino, now=utcnow())
        again = await register_interest(
            session=session, call=fresh, member=nino, applicant_type="ngo", idea_title="ტყე",
            village="აფენი", channel="sms", now=utcnow(),
        )  # fmt: skip
    assert again.restored and not again.created
    assert again.applicant.stage == Stage.INTERESTED and again.applicant.applicant_type == "ngo"


async def test_counts_by_group_follow_the_snapshot_and_count_withdrawn_as_far_as_they_got(
    rt: Runtime,
) -> None:
    call = await published(rt)
    async with rt.db.session() as session:
        young = await make_member(session, birth_year=utcnow().year - 22, gender="female",
                                  community="kabali", sector="private")  # fmt: skip
        older = await make_member(session, birth_year=1960, gender="male", sector="civil")
        third = await make_member(session, gender=None, birth_year=None)
    first = await interested(rt, call, young)
    second = await interested(rt, call, older, kind="ngo")
    await interested(rt, call, third, kind="individual")
    async with rt.db.session() as session:
        fresh = await session.get(GrantCall, call.id)
        assert fresh is not None
        for stage in (Stage.IDEA_RECEIVED, Stage.SHORTLISTED, Stage.FULL_APPLICATION,
                      Stage.FUNDED):  # fmt: skip
            await set_stage(session=session, call=fresh, applicant=first, stage=stage,
                            actor=None, now=utcnow())  # fmt: skip
        await set_stage(session=session, call=fresh, applicant=second, stage=Stage.IDEA_RECEIVED,
                        actor=None, now=utcnow())  # fmt: skip
        await set_stage(session=session, call=fresh, applicant=second, stage=Stage.SHORTLISTED,
                        actor=None, now=utcnow())  # fmt: skip
        await set_stage(session=session, call=fresh, applicant=second, stage=Stage.WITHDRAWN,
                        actor=None, now=utcnow())  # fmt: skip
        counts = await grant_counts(session=session, call=fresh)
    total = counts.total
    assert (total.interested, total.ideas, total.shortlisted, total.funded, total.withdrawn) == (
        3, 2, 2, 1, 1
    )  # fmt: skip
    youth = dict(counts.breakdown("youth"))
    assert youth["youth"].funded == 1 and youth["adult"].interested == 1
    assert youth["unknown"].interested == 1
    assert dict(counts.breakdown("gender"))["female"].funded == 1
    assert dict(counts.breakdown("applicant_type"))["ngo"].shortlisted == 1
    assert dict(counts.breakdown("sector"))["private"].funded == 1


async def test_forgetting_a_member_blanks_their_idea_but_keeps_the_counts(rt: Runtime) -> None:
    call = await published(rt)
    async with rt.db.session() as session:
        nino = await make_member(session)
    await interested(rt, call, nino, idea="ნინოს თაფლი")
    async with rt.db.session() as session:
        member = await session.get(type(nino), nino.id)
        assert member is not None
        await erase_member(session=session, member=member, channel="telegram")
    async with rt.db.session() as session:
        fresh = await session.get(GrantCall, call.id)
        assert fresh is not None
        counts = await grant_counts(session=session, call=fresh)
    row = await applicant_row(rt, nino)
    assert row is not None and row.idea_title == "" and row.village == "" and row.gender is None
    assert counts.total.interested == 1
