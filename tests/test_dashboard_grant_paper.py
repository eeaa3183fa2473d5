"""Paper applications on the dashboard: the secretariat adds someone who brought an idea to the
office on paper — a member found by name or phone, or a new person from the form — under the
same rules as "➕ Paper application" in Telegram (models.grants_office), audited with the web
account as the actor when it has no member. The new person is then an applicant like any
other, in the list and the CSV, marked "tell in person" when nothing reaches them. The board
only reads; a forged form changes nothing."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlmodel import col, select

from bot.runtime import Runtime
from models.audit import AuditLog
from models.base import utcnow
from models.dashboard import WebAccount
from models.grants import GrantCall
from models.grants_applicants import GrantApplicant
from models.members import Consent, Member, Role
from tests.dashboard_support import (
    Browser,
    board,
    browser,
    member_account,
    second_browser,
    secretariat,
    text_of,
)
from tests.factories import community_id, make_member
from tests.test_dashboard_grants import open_call_with_applicant

__all__ = ["board", "browser", "second_browser", "secretariat"]  # fixtures used here


async def applicants(rt: Runtime, call_id: int) -> dict[int, GrantApplicant]:
    async with rt.db.session() as session:
        query = select(GrantApplicant).where(GrantApplicant.grant_id == call_id)
        return {a.member_id: a for a in (await session.execute(query)).scalars()}


async def member_named(rt: Runtime, name: str) -> Member | None:
    async with rt.db.session() as session:
        query = select(Member).where(Member.name == name)
        return (await session.execute(query)).scalars().first()


async def entries(rt: Runtime, *actions: str) -> list[AuditLog]:
    async with rt.db.session() as session:
        query = select(AuditLog).where(col(AuditLog.action).in_(actions))
        return list((await session.execute(query.order_by(col(AuditLog.id)))).scalars())


async def office_interests(rt: Runtime) -> list[AuditLog]:
    return [e for e in await entries(rt, "grant.interest") if e.details["channel"] == "office"]


async def web_account(rt: Runtime, name: str = "Secretariat") -> WebAccount:
    async with rt.db.session() as session:
        query = select(WebAccount).where(WebAccount.name == name)
        account: WebAccount = (await session.execute(query)).scalars().one()
        return account


def row_of(page: str, name: str) -> str:
    """The applicants table's row that names `name`."""
    rows = page.split("<tr id=")
    return next(row for row in rows if name in row)


async def test_the_secretariat_adds_a_member_found_by_name(
    rt: Runtime, secretariat: Browser
) -> None:
    call_id, _, _ = await open_call_with_applicant(rt)
    async with rt.db.session() as session:
        nino = await make_member(session, name="ნინო ბერიძე", village="Kabali")
    base = f"/admin/grants/{call_id}"
    page = await secretariat.get(base)
    assert f'href="{base}/paper"' in page.text and "➕ ქაღალდის განაცხადი" in text_of(page)

    found = await secretariat.get(f"{base}/paper", params={"q": "ნინო"})
    assert found.status_code == 200
    assert f'name="who" value="{nino.id}"' in found.text and "ნინო ბერიძე" in text_of(found)
    nobody = text_of(await secretariat.get(f"{base}/paper", params={"q": "ზურაბი"}))
    assert "„ზურაბი“ — ვერავინ მოიძებნა" in nobody

    saved = await secretariat.post(
        f"{base}/paper",
        {"who": str(nino.id), "applicant_type": "individual", "idea": "თაფლის სახლი"},
    )
    assert saved.status_code == 303, saved.text
    assert nino.id is not None
    row = (await applicants(rt, call_id))[nino.id]
    assert saved.headers["location"] == f"{base}?done=office_added&a={row.id}#a{row.id}"
    assert row.channel == "office" and row.idea_title == "თაფლის სახლი"
    assert row.applicant_type == "individual" and row.village == "Kabali"
    assert row.history[0]["by"] is None  # a stand-alone account: no member entered it

    listing = await secretariat.get(saved.headers["location"])
    assert "ქაღალდის განაცხადი დაემატა." in text_of(listing)
    nino_row = row_of(listing.text, "ნინო ბერიძე")
    assert "ოფისი (ქაღალდი)" in nino_row and "უთხარით პირადად" not in nino_row  # Telegram

    account = await web_account(rt)
    [interest] = [
        e for e in await entries(rt, "grant.interest") if e.details["channel"] == "office"
    ]
    assert interest.actor_member_id is None and interest.actor_label == f"web:{account.id}"
    assert interest.details["for_member"] == nino.id
    [acted] = await entries(rt, "web.acted")
    assert acted.details["action"] == "grant.office" and acted.target == f"grant:{call_id}"


async def test_a_new_person_without_a_phone_is_told_in_person(
    rt: Runtime, secretariat: Browser
) -> None:
    call_id, _, _ = await open_call_with_applicant(rt)
    base = f"/admin/grants/{call_id}"
    async with rt.db.session() as session:
        kabali = await community_id(session, "kabali")
    await secretariat.get(f"{base}/paper")
    new_person = {"who": "new", "name": "ვანო ლომიძე", "phone": "", "language": "ka",
                  "community_id": str(kabali), "applicant_type": "individual",
                  "idea": "საბავშვო მოედანი"}  # fmt: skip

    # A type the call does not take: refused in words, and nobody is created.
    wrong = await secretariat.post(f"{base}/paper", {**new_person, "applicant_type": "company"})
    assert wrong.status_code == 400
    assert "ამ კონკურსში ასეთი განმცხადებელი ვერ მონაწილეობს." in text_of(wrong)
    assert 'value="ვანო ლომიძე"' in wrong.text  # the form comes back as typed
    assert await member_named(rt, "ვანო ლომიძე") is None
    no_home = await secretariat.post(f"{base}/paper", {**new_person, "community_id": ""})
    assert no_home.status_code == 400 and "აირჩიეთ თემი." in text_of(no_home)

    saved = await secretariat.post(f"{base}/paper", new_person)
    assert saved.status_code == 303 and "done=office_added" in saved.headers["location"]
    vano = await member_named(rt, "ვანო ლომიძე")
    assert vano is not None and vano.id is not None
    assert vano.phone is None and vano.joined_via == "office" and not vano.telegram_id
    assert vano.community_id == kabali and not vano.consent_announcements
    row = (await applicants(rt, call_id))[vano.id]
    assert row.channel == "office" and row.village == "კაბალი" and row.community_id == kabali

    page = await secretariat.get(f"{base}")
    assert "🗣 უთხარით პირადად" in row_of(page.text, "ვანო ლომიძე")
    assert "უთხარით პირადად" not in row_of(page.text, "ფერმერი გიორგი")  # reached by SMS
    exported = await secretariat.get(f"{base}/applicants.csv")
    lines = list(csv.reader(io.StringIO(exported.text)))
    [vano_line] = [line for line in lines if line[1] == "ვანო ლომიძე"]
    assert vano_line[0] == str(row.id) and vano_line[2] == "" and vano_line[10] == "office"
    assert vano_line[6] == "საბავშვო მოედანი"
    assert vano_line[11] == "🗣 უთხარით პირადად"  # nothing reaches him: as marked in the list
    [farmer_line] = [line for line in lines if line[1] == "ფერმერი გიორგი"]
    assert farmer_line[11] == "telegram"

    # Someone with a phone is reached by SMS: not marked.
    await secretariat.post(
        f"{base}/paper",
        {**new_person, "name": "Rəşad Məmmədov", "phone": "555 77 88 99", "language": "az",
         "idea": "Fındıq qurutma sexi"},
    )  # fmt: skip
    rashad = await member_named(rt, "Rəşad Məmmədov")
    assert rashad is not None and rashad.phone == "+995555778899" and rashad.language == "az"
    page = await secretariat.get(f"{base}")
    assert "უთხარით პირადად" not in row_of(page.text, "Rəşad Məmmədov")

    account = await web_account(rt)
    created = await entries(rt, "member.office_create")
    assert [e.target for e in created] == [f"member:{vano.id}", f"member:{rashad.id}"]
    assert all(e.actor_label == f"web:{account.id}" and e.actor_member_id is None for e in created)
    async with rt.db.session() as session:
        query = select(Consent).where(Consent.member_id == vano.id)
        consent = (await session.execute(query)).scalars().one()
    assert consent.channel == "paper" and consent.details["by"] == f"web:{account.id}"
    acted = await entries(rt, "web.acted")
    assert [e.details["action"] for e in acted] == ["grant.office", "grant.office"]


async def test_duplicates_are_refused_in_words(rt: Runtime, secretariat: Browser) -> None:
    call_id, applicant_id, farmer_id = await open_call_with_applicant(rt)
    base = f"/admin/grants/{call_id}"
    async with rt.db.session() as session:
        farmer = await session.get(Member, farmer_id)
        applicant = await session.get(GrantApplicant, applicant_id)
        assert farmer is not None and applicant is not None
        applicant.stage = "idea_received"
        session.add(applicant)
        phone, kabali = farmer.phone, await community_id(session, "kabali")
    assert phone is not None

    found = await secretariat.get(f"{base}/paper", params={"q": phone})
    assert "უკვე განმცხადებელია: იდეა მიღებულია" in text_of(found)
    refused = await secretariat.post(
        f"{base}/paper", {"who": str(farmer_id), "applicant_type": "individual", "idea": "სხვა"}
    )
    assert refused.status_code == 400
    assert (
        f"#{farmer_id} ფერმერი გიორგი უკვე განმცხადებელია G{call_id}-ში (იდეა მიღებულია)"
        in text_of(refused)
    )
    # The same person typed in again as new: their number is already known.
    again = await secretariat.post(
        f"{base}/paper",
        {"who": "new", "name": "გიორგი", "phone": phone, "community_id": str(kabali),
         "language": "ka", "applicant_type": "individual", "idea": "სხვა"},
    )  # fmt: skip
    assert again.status_code == 400
    assert f"ეს ნომერი უკვე აქვს #{farmer_id} ფერმერი გიორგი-ს" in text_of(again)
    rows = await applicants(rt, call_id)
    assert list(rows) == [farmer_id] and rows[farmer_id].idea_title == "თხილის საშრობი"
    assert await member_named(rt, "გიორგი") is None
    assert not await entries(rt, "member.office_create", "web.acted")


async def test_an_interested_member_on_paper_keeps_one_application(
    rt: Runtime, secretariat: Browser
) -> None:
    call_id, applicant_id, farmer_id = await open_call_with_applicant(rt)
    base = f"/admin/grants/{call_id}"
    await secretariat.get(f"{base}/paper", params={"q": "ფერმერი"})
    saved = await secretariat.post(
        f"{base}/paper",
        {"who": str(farmer_id), "applicant_type": "individual", "idea": "თხილის საშრობი 2"},
    )
    assert "done=office_updated" in saved.headers["location"]
    page = text_of(await secretariat.get(saved.headers["location"]))
    assert "ეს წევრი უკვე დაინტერესებული იყო" in page
    rows = await applicants(rt, call_id)
    assert list(rows) == [farmer_id] and rows[farmer_id].id == applicant_id
    assert rows[farmer_id].channel == "office" and rows[farmer_id].idea_title == "თხილის საშრობი 2"


async def test_a_secretary_with_a_member_is_the_actor(rt: Runtime, browser: Browser) -> None:
    call_id, _, _ = await open_call_with_applicant(rt)
    async with rt.db.session() as session:
        tamar = await make_member(session, name="თამარ მდივანი", role=Role.SECRETARIAT)
        nino = await make_member(session, name="ნინო ბერიძე", village="Kabali")
    await browser.sign_in(rt, await member_account(rt, tamar))
    base = f"/admin/grants/{call_id}"
    await browser.get(f"{base}/paper", params={"q": "ნინო"})
    saved = await browser.post(
        f"{base}/paper", {"who": str(nino.id), "applicant_type": "individual", "idea": "თაფლი"}
    )
    assert saved.status_code == 303
    [interest] = [
        e for e in await entries(rt, "grant.interest") if e.details["channel"] == "office"
    ]
    assert interest.actor_member_id == tamar.id and interest.actor_label == f"member:{tamar.id}"
    assert interest.details["for_member"] == nino.id
    assert not await entries(rt, "web.acted")  # the member is named: no account note needed
    assert nino.id is not None
    assert (await applicants(rt, call_id))[nino.id].history[0]["by"] == tamar.id


async def test_the_board_cannot_add_and_a_forged_form_is_refused(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    call_id, _, _ = await open_call_with_applicant(rt)
    base = f"/admin/grants/{call_id}"
    async with rt.db.session() as session:
        kabali = await community_id(session, "kabali")
    form = {"who": "new", "name": "ვანო ლომიძე", "community_id": str(kabali), "language": "ka",
            "applicant_type": "individual", "idea": "მოედანი"}  # fmt: skip
    page = await board.get(base)
    assert page.status_code == 200 and "/paper" not in page.text
    assert (await board.get(f"{base}/paper")).status_code == 403
    assert (await board.post(f"{base}/paper", form)).status_code == 403
    await secretariat.get(f"{base}/paper")
    forged = await secretariat.post(f"{base}/paper", form, csrf="forged")
    assert forged.status_code == 403
    assert await member_named(rt, "ვანო ლომიძე") is None
    assert len(await applicants(rt, call_id)) == 1
    refused = await entries(rt, "access.refused")
    assert {e.target for e in refused} == {f"GET {base}/paper", f"POST {base}/paper"}


async def test_a_call_that_takes_no_interest_has_no_paper_form(
    rt: Runtime, secretariat: Browser
) -> None:
    call_id, _, farmer_id = await open_call_with_applicant(rt)
    base = f"/admin/grants/{call_id}"
    async with rt.db.session() as session:
        call = await session.get(GrantCall, call_id)
        assert call is not None
        call.idea_deadline = utcnow() - timedelta(hours=1)
        session.add(call)
    page = await secretariat.get(base)
    assert f'href="{base}/paper"' not in page.text
    closed = await secretariat.get(f"{base}/paper")
    assert "დაინტერესებას აღარ იღებს" in text_of(closed) and 'name="idea"' not in closed.text
    late = await secretariat.post(
        f"{base}/paper", {"who": str(farmer_id), "applicant_type": "individual", "idea": "x"}
    )
    assert late.status_code == 400 and "იდეების ვადა ამოიწურა" in text_of(late)
