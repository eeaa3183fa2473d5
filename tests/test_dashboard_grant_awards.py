"""Awarded amounts on the dashboard: moving an applicant to "funded" asks the grant and the
co-financing (models.grants_office.record_award, as the Telegram card does), saved with the
same warnings outside the call's range or share; the call's totals on its page. The board
only reads; a forged form changes nothing."""

from __future__ import annotations

from sqlmodel import col, select

from bot.runtime import Runtime
from models.audit import AuditLog
from models.grants_applicants import GrantApplicant
from tests.dashboard_support import Browser, board, browser, second_browser, secretariat, text_of
from tests.test_dashboard_grants import open_call_with_applicant

__all__ = ["board", "browser", "second_browser", "secretariat"]  # fixtures used here


async def in_full_application(rt: Runtime) -> tuple[int, int]:
    """A call (1 000–20 000 GEL, co-financing 10%) with an applicant one step from funded."""
    call_id, applicant_id, _ = await open_call_with_applicant(rt)
    async with rt.db.session() as session:
        applicant = await session.get(GrantApplicant, applicant_id)
        assert applicant is not None
        applicant.stage = "full_application"
        session.add(applicant)
    return call_id, applicant_id


async def funded_on_the_page(rt: Runtime, secretariat: Browser) -> tuple[str, int]:
    """The secretariat moves a full application to "funded" on the call's page."""
    call_id, applicant_id = await in_full_application(rt)
    base = f"/admin/grants/{call_id}"
    await secretariat.get(base)
    await secretariat.post(
        f"{base}/applicants/{applicant_id}/stage",
        {"stage": "funded", "expected": "full_application"},
    )
    return base, applicant_id


async def amounts(rt: Runtime, applicant_id: int) -> tuple[int | None, int | None]:
    async with rt.db.session() as session:
        applicant = await session.get(GrantApplicant, applicant_id)
        assert applicant is not None
        return applicant.awarded_amount, applicant.cofinancing_amount


async def award_entries(rt: Runtime) -> list[AuditLog]:
    async with rt.db.session() as session:
        query = select(AuditLog).where(col(AuditLog.action).in_(["grant.award", "web.acted"]))
        found = (await session.execute(query.order_by(col(AuditLog.id)))).scalars()
        return [
            e for e in found if e.action == "grant.award" or e.details["action"] == "grant.award"
        ]


async def test_funded_asks_the_amount_and_the_page_totals_it(
    rt: Runtime, secretariat: Browser
) -> None:
    call_id, applicant_id = await in_full_application(rt)
    base = f"/admin/grants/{call_id}"
    await secretariat.get(base)
    funded = await secretariat.post(
        f"{base}/applicants/{applicant_id}/stage",
        {"stage": "funded", "expected": "full_application"},
    )
    assert f"a={applicant_id}" in funded.headers["location"]
    asked = await secretariat.get(funded.headers["location"])
    page = text_of(asked)
    assert "ახლა ჩაწერეთ გაცემული გრანტი და თანადაფინანსება" in page
    assert "გაცემული თანხა ჯერ არ არის ჩაწერილი" in page and "0 / 1 დაფინანსებულიდან" in page
    assert f'action="{base}/applicants/{applicant_id}/award"' in asked.text
    assert "autofocus" in asked.text

    saved = await secretariat.post(
        f"{base}/applicants/{applicant_id}/award", {"amount": "12 000 ₾", "cofinancing": "2,000"}
    )
    assert saved.headers["location"].startswith(f"{base}?done=awarded&a={applicant_id}")
    page = text_of(await secretariat.get(saved.headers["location"]))
    assert "თანხა ჩაწერილია." in page and "გადაამოწმეთ" not in page  # within the terms
    assert "გრანტი: 12 000 ლარი · თანადაფინანსება: 2 000 ლარი" in page
    assert "გაცემული გრანტი სულ 12 000 GEL" in page and "1 / 1 დაფინანსებულიდან" in page
    assert await amounts(rt, applicant_id) == (12000, 2000)
    [entry, on_behalf] = await award_entries(rt)
    assert entry.action == "grant.award" and entry.details["amount"] == 12000
    assert on_behalf.details["action"] == "grant.award" and on_behalf.actor_label.startswith("web:")


async def test_an_amount_outside_the_terms_is_saved_with_the_warnings(
    rt: Runtime, secretariat: Browser
) -> None:
    base, applicant_id = await funded_on_the_page(rt, secretariat)
    bad = await secretariat.post(f"{base}/applicants/{applicant_id}/award", {"amount": "lots"})
    assert "error=grants.err_award_format" in bad.headers["location"]
    assert "ჩაწერეთ თანხა ციფრებით ლარში" in text_of(await secretariat.get(bad.headers["location"]))
    assert await amounts(rt, applicant_id) == (None, None)
    saved = await secretariat.post(
        f"{base}/applicants/{applicant_id}/award", {"amount": "25000", "cofinancing": "500"}
    )
    page = text_of(await secretariat.get(saved.headers["location"]))
    assert "თანხა კონკურსის ფარგლებს (1 000–20 000 ლარი) სცდება" in page
    assert "თანადაფინანსება 2%-ია, კონკურსი კი მინიმუმ 10%-ს ითხოვს" in page
    assert await amounts(rt, applicant_id) == (25000, 500)
    entry = (await award_entries(rt))[0]
    assert entry.details["warnings"] == ["grants.award_outside_range", "grants.award_low_share"]


async def test_the_board_cannot_record_an_amount_and_a_forged_form_is_refused(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    base, applicant_id = await funded_on_the_page(rt, secretariat)
    page = await board.get(base)
    assert page.status_code == 200 and "/award" not in page.text
    refused = await board.post(f"{base}/applicants/{applicant_id}/award", {"amount": "5000"})
    assert refused.status_code == 403
    forged = await secretariat.post(
        f"{base}/applicants/{applicant_id}/award", {"amount": "5000"}, csrf="forged"
    )
    assert forged.status_code == 403
    assert await amounts(rt, applicant_id) == (None, None)
    async with rt.db.session() as session:
        query = select(AuditLog.target).where(AuditLog.action == "access.refused")
        targets = list((await session.execute(query)).scalars())
    assert f"POST {base}/applicants/{applicant_id}/award" in targets


async def test_an_amount_for_an_applicant_not_funded_is_refused(
    rt: Runtime, secretariat: Browser
) -> None:
    call_id, applicant_id = await in_full_application(rt)
    base = f"/admin/grants/{call_id}"
    await secretariat.get(base)
    refused = await secretariat.post(f"{base}/applicants/{applicant_id}/award", {"amount": "5000"})
    assert "error=grants.err_award_not_funded" in refused.headers["location"]
    assert await amounts(rt, applicant_id) == (None, None)
