"""Grant calls on the dashboard: the funnel, moving an applicant to the next stage (and telling
them), the two CSVs — and the board only reads."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.runtime import Runtime
from models.audit import AuditLog
from models.base import utcnow
from models.grants import GrantDraft, create_call, mark_published
from models.grants_applicants import GrantApplicant, register_interest
from models.members import Member
from models.outbox import OutboxMessage
from tests.dashboard_support import Browser, board, browser, second_browser, secretariat, text_of
from tests.factories import make_member

__all__ = ["board", "browser", "second_browser", "secretariat"]  # fixtures used here


async def open_call_with_applicant(rt: Runtime) -> tuple[int, int, int]:
    now = utcnow()
    async with rt.db.session() as session:
        farmer = await make_member(session, name="ფერმერი გიორგი", village="Kabali")
        draft = GrantDraft(
            title={"ka": "მცირე გრანტები 2027"}, description={"ka": "სოფლის მეურნეობა"},
            priorities=["agriculture"], applicant_types=["individual"],
            min_amount=1000, max_amount=20000,
            cofinancing_pct=10, idea_deadline=now + timedelta(days=20),
            full_deadline=now + timedelta(days=50),
        )  # fmt: skip
        call = await create_call(session=session, draft=draft, actor=None, now=now)
        await mark_published(session=session, call=call, actor=None, now=now)
        member = await session.get(Member, farmer.id)
        assert member is not None
        outcome = await register_interest(
            session=session, call=call, member=member, applicant_type="individual",
            idea_title="თხილის საშრობი", village="Kabali", channel="sms", now=now,
        )  # fmt: skip
        assert call.id is not None and outcome.applicant.id is not None and farmer.id is not None
        return call.id, outcome.applicant.id, farmer.id


async def test_moving_an_applicant_tells_them(rt: Runtime, secretariat: Browser) -> None:
    call_id, applicant_id, farmer_id = await open_call_with_applicant(rt)
    listing = text_of(await secretariat.get("/admin/grants"))
    assert "მცირე გრანტები 2027" in listing and "1,000–20,000 GEL" in listing
    page = await secretariat.get(f"/admin/grants/{call_id}")
    assert "თხილის საშრობი" in text_of(page)
    moved = await secretariat.post(
        f"/admin/grants/{call_id}/applicants/{applicant_id}/stage",
        {"stage": "idea_received", "expected": "interested", "notify": "on"},
    )
    assert "done=notified" in moved.headers["location"]
    async with rt.db.session() as session:
        applicant = await session.get(GrantApplicant, applicant_id)
        told = (
            (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.member_id == farmer_id)
                )
            )
            .scalars()
            .all()
        )
    assert applicant is not None and applicant.stage == "idea_received"
    assert told  # the applicant hears about it on their channel
    stale = await secretariat.post(
        f"/admin/grants/{call_id}/applicants/{applicant_id}/stage",
        {"stage": "shortlisted", "expected": "interested"},
    )
    assert "error=grants.err_stage_changed" in stale.headers["location"]
    shown = text_of(await secretariat.get(stale.headers["location"]))
    assert "ეცნობა" not in shown  # no success message, the refusal instead


async def test_grant_csvs_and_board_reads_only(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    call_id, applicant_id, _ = await open_call_with_applicant(rt)
    applicants = await secretariat.get(f"/admin/grants/{call_id}/applicants.csv")
    assert applicants.status_code == 200 and "ფერმერი გიორგი" in applicants.text
    counts = await secretariat.get(f"/admin/grants/{call_id}/counts.csv")
    assert counts.status_code == 200 and "ფერმერი" not in counts.text  # no personal data
    assert (await board.get(f"/admin/grants/{call_id}")).status_code == 200
    assert (await board.get(f"/admin/grants/{call_id}/applicants.csv")).status_code == 403
    await board.get("/admin/account")
    refused = await board.post(
        f"/admin/grants/{call_id}/applicants/{applicant_id}/stage", {"stage": "idea_received"}
    )
    assert refused.status_code == 403


async def test_seeing_the_applicants_is_logged(rt: Runtime, board: Browser) -> None:
    call_id, _, _ = await open_call_with_applicant(rt)
    await board.get(f"/admin/grants/{call_id}")
    async with rt.db.session() as session:
        entry = (
            (
                await session.execute(
                    select(AuditLog).where(AuditLog.action == "grant.applicants_viewed")
                )
            )
            .scalars()
            .one()
        )
    assert entry.target == f"G{call_id}" and entry.details["count"] == 1
