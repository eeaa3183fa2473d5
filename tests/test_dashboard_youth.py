"""Youth initiatives on the dashboard: a young member's proposal is reviewed on the web, the
proposer is told, and the team with contacts is for the secretariat only."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.runtime import Runtime
from models.audit import AuditLog
from models.base import utcnow
from models.members import Member, Role
from models.outbox import OutboxMessage
from models.youth import Initiative, InitiativeDraft, InitiativeStatus, propose_initiative
from models.youth_signups import Band, sign_up
from tests.dashboard_support import (
    Browser,
    board,
    browser,
    member_account,
    second_browser,
    secretariat,
    text_of,
)
from tests.factories import make_member

__all__ = ["board", "browser", "second_browser", "secretariat"]  # fixtures used here


async def a_proposal(rt: Runtime) -> tuple[int, int]:
    now = utcnow()
    async with rt.db.session() as session:
        ana = await make_member(session, name="ანა", birth_year=now.year - 19)
        draft = InitiativeDraft(
            title={"ka": "პარკის დასუფთავება"}, description={"ka": "შაბათს, ლაგოდეხის პარკში"},
            target_size=2, signup_deadline=now + timedelta(days=10),
            starts_at=now + timedelta(days=12),
        )  # fmt: skip
        member = await session.get(Member, ana.id)
        assert member is not None
        initiative = await propose_initiative(
            session=session, draft=draft, proposer=member, now=now
        )
        assert initiative.id is not None and ana.id is not None
        return initiative.id, ana.id


async def test_a_proposal_is_approved_on_the_web_and_the_proposer_told(
    rt: Runtime, browser: Browser
) -> None:
    initiative_id, ana_id = await a_proposal(rt)
    async with rt.db.session() as session:
        me = await make_member(session, name="Secretary", role=Role.SECRETARIAT)
    await browser.sign_in(rt, await member_account(rt, me))
    listing = text_of(await browser.get("/admin/youth"))
    assert "პარკის დასუფთავება" in listing and "განსახილველი" in listing
    await browser.get(f"/admin/youth/{initiative_id}")
    no_reason = await browser.post(f"/admin/youth/{initiative_id}/review", {"action": "decline"})
    assert "error=note" in no_reason.headers["location"]
    approved = await browser.post(f"/admin/youth/{initiative_id}/review", {"action": "approve"})
    assert approved.headers["location"].endswith("done=approve")
    async with rt.db.session() as session:
        initiative = await session.get(Initiative, initiative_id)
        told = (
            (await session.execute(select(OutboxMessage).where(OutboxMessage.member_id == ana_id)))
            .scalars()
            .all()
        )
    assert initiative is not None and initiative.status == InitiativeStatus.OPEN
    assert told  # the proposer hears the outcome


async def test_the_team_with_contacts_is_for_the_secretariat(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    initiative_id, _ = await a_proposal(rt)
    now = utcnow()
    async with rt.db.session() as session:
        initiative = await session.get(Initiative, initiative_id)
        assert initiative is not None
        initiative.status = InitiativeStatus.OPEN
        session.add(initiative)
        young = await make_member(session, name="ლუკა", birth_year=now.year - 17,
                                  phone="+995599707070")  # fmt: skip
        await sign_up(session=session, initiative=initiative, member=young, band=Band(14, 29),
                      now=now, channel="sms", why="მიყვარს ბუნება")  # fmt: skip
    page = text_of(await secretariat.get(f"/admin/youth/{initiative_id}"))
    assert "ლუკა" in page and "+995 599 70 70 70" in page and "მიყვარს ბუნება" in page
    team = await secretariat.get(f"/admin/youth/{initiative_id}/team.csv")
    assert "+995599707070" in team.text
    board_page = text_of(await board.get(f"/admin/youth/{initiative_id}"))
    assert "პარკის დასუფთავება" in board_page and "+995 599 70 70 70" not in board_page
    assert (await board.get(f"/admin/youth/{initiative_id}/team.csv")).status_code == 403
    async with rt.db.session() as session:
        logged = (await session.execute(select(AuditLog.action))).scalars().all()
    assert "youth.team_viewed" in logged and "youth.team_export" in logged


async def secretary_browser(rt: Runtime, browser: Browser) -> Browser:
    async with rt.db.session() as session:
        tamar = await make_member(session, name="თამარი", role=Role.SECRETARIAT)
    await browser.sign_in(rt, await member_account(rt, tamar))
    return browser


def initiative_form(**overrides: str | list[str]) -> dict[str, str | list[str]]:
    today = utcnow().date()
    values: dict[str, str | list[str]] = {
        "title_ka": "ბიბლიოთეკის გარემონტება", "description_ka": "ზაფხულში, ყაბალის სკოლაში",
        "title_en": "Library makeover", "size": "6",
        "deadline": (today + timedelta(days=14)).isoformat(),
        "start": (today + timedelta(days=20)).isoformat(), "open_now": "on",
    }  # fmt: skip
    values.update(overrides)
    return values


async def test_the_secretariat_creates_an_open_initiative_on_the_web(
    rt: Runtime, browser: Browser, board: Browser
) -> None:
    web = await secretary_browser(rt, browser)
    assert 'href="/admin/youth/new"' in (await web.get("/admin/youth")).text
    await web.get("/admin/youth/new")
    backwards = await web.post(
        "/admin/youth/new", initiative_form(start=utcnow().date().isoformat())
    )
    assert backwards.status_code == 400 and "ბიბლიოთეკის გარემონტება" in backwards.text
    created = await web.post("/admin/youth/new", initiative_form())
    assert created.status_code == 303, text_of(created)
    assert created.headers["location"].endswith("?done=created_open")
    async with rt.db.session() as session:
        initiative = (await session.execute(select(Initiative))).scalars().one()
        actions = list((await session.execute(select(AuditLog.action))).scalars())
    assert initiative.status == InitiativeStatus.OPEN and initiative.target_size == 6
    assert initiative.title == {"ka": "ბიბლიოთეკის გარემონტება", "en": "Library makeover"}
    assert {"youth.proposed", "youth.approved"} <= set(actions)
    page = text_of(await web.get(created.headers["location"]))
    assert "ბიბლიოთეკის გარემონტება" in page and "რეგისტრაციისთვის ღიაა" in page
    assert (await board.get("/admin/youth/new")).status_code == 403


async def test_a_standalone_account_cannot_lead_an_initiative(
    rt: Runtime, secretariat: Browser
) -> None:
    await secretariat.get("/admin/youth/new")
    refused = await secretariat.post("/admin/youth/new", initiative_form())
    assert refused.status_code == 400
    async with rt.db.session() as session:
        assert (await session.execute(select(Initiative))).first() is None


async def test_the_texts_of_an_initiative_are_edited_in_every_language(
    rt: Runtime, browser: Browser
) -> None:
    initiative_id, _ = await a_proposal(rt)
    web = await secretary_browser(rt, browser)
    form = await web.get(f"/admin/youth/{initiative_id}/edit")
    assert form.status_code == 200 and "პარკის დასუფთავება" in form.text
    texts = {
        "title_ka": "პარკის დასუფთავება", "description_ka": "შაბათს, ლაგოდეხის პარკში",
        "title_az": "Parkın təmizlənməsi", "description_az": "Şənbə, Laqodexi parkında",
    }  # fmt: skip
    saved = await web.post(f"/admin/youth/{initiative_id}/edit", texts)
    assert saved.headers["location"].endswith("?done=texts_saved")
    too_long = await web.post(f"/admin/youth/{initiative_id}/edit",
                              {**texts, "title_ru": "x" * 121, "title_en": "Park"})  # fmt: skip
    assert too_long.status_code == 400
    async with rt.db.session() as session:
        initiative = await session.get(Initiative, initiative_id)
        edits = list(
            (
                await session.execute(
                    select(AuditLog).where(AuditLog.action == "youth.text_edited")
                )
            ).scalars()
        )
    assert initiative is not None
    assert initiative.title == {"ka": "პარკის დასუფთავება", "az": "Parkın təmizlənməsi"}
    assert [e.details["language"] for e in edits] == ["az"]  # nothing of the refused form
    forged = await web.post(f"/admin/youth/{initiative_id}/edit", texts, csrf="forged")
    assert forged.status_code == 403


async def an_open_initiative_with_a_reserve(rt: Runtime) -> tuple[int, int]:
    """Team size 1: one young member in the team, one on the reserve list."""
    initiative_id, _ = await a_proposal(rt)
    now = utcnow()
    async with rt.db.session() as session:
        initiative = await session.get(Initiative, initiative_id)
        assert initiative is not None
        initiative.status, initiative.target_size = InitiativeStatus.OPEN, 1
        session.add(initiative)
        for name in ("ლუკა", "ნინო"):
            person = await make_member(session, name=name, birth_year=now.year - 18)
            await sign_up(session=session, initiative=initiative, member=person,
                          band=Band(14, 29), now=now, channel="sms")  # fmt: skip
        assert person.id is not None
        return initiative_id, person.id


def edit_form(**overrides: str | list[str]) -> dict[str, str | list[str]]:
    """a_proposal's dates as the form shows them (days in Tbilisi), a larger team, a skill."""
    now = utcnow().astimezone(ZoneInfo("Asia/Tbilisi"))
    values: dict[str, str | list[str]] = {
        "title_ka": "პარკის დასუფთავება", "description_ka": "შაბათს, ლაგოდეხის პარკში",
        "size": "3", "deadline": (now + timedelta(days=10)).date().isoformat(),
        "start": (now + timedelta(days=12)).date().isoformat(), "community": "",
        "skills": ["ecology"], "helpers": "on",
    }  # fmt: skip
    values.update(overrides)
    return values


async def test_the_team_size_and_dates_are_edited_on_the_web(
    rt: Runtime, browser: Browser, board: Browser
) -> None:
    initiative_id, reserve_id = await an_open_initiative_with_a_reserve(rt)
    web = await secretary_browser(rt, browser)
    form = text_of(await web.get(f"/admin/youth/{initiative_id}/edit"))
    assert "გუნდის ზომა ვერ იქნება ახლანდელ გუნდზე ნაკლები" in form
    assert (await board.get(f"/admin/youth/{initiative_id}/edit")).status_code == 403
    assert (await board.post(f"/admin/youth/{initiative_id}/edit", edit_form())).status_code == 403
    forged = await web.post(f"/admin/youth/{initiative_id}/edit", edit_form(), csrf="forged")
    assert forged.status_code == 403
    # Below the team (1 in it): refused, and nothing of the form is saved.
    smaller = await web.post(
        f"/admin/youth/{initiative_id}/edit", edit_form(size="0", title_en="Park clean-up")
    )
    assert smaller.status_code == 400 and "1-დან 200-მდე" in text_of(smaller)
    saved = await web.post(f"/admin/youth/{initiative_id}/edit", edit_form())
    assert saved.status_code == 303, text_of(saved)
    assert saved.headers["location"].endswith("?done=saved&promoted=1")
    page = text_of(await web.get(saved.headers["location"]))
    assert "სარეზერვო სიიდან გუნდში გადავიდა 1" in page
    async with rt.db.session() as session:
        initiative = await session.get(Initiative, initiative_id)
        told = (
            (
                await session.execute(
                    select(OutboxMessage.text).where(OutboxMessage.member_id == reserve_id)
                )
            )
            .scalars()
            .all()
        )
        updates = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "youth.updated")))
            .scalars()
            .all()
        )
    assert initiative is not None and initiative.target_size == 3
    assert initiative.title == {"ka": "პარკის დასუფთავება"}  # the refused form saved nothing
    assert initiative.skills == ["ecology"] and initiative.allows_non_youth
    assert initiative.status == InitiativeStatus.OPEN
    assert any("ადგილი გათავისუფლდა" in text for text in told)
    assert len(updates) == 1 and updates[0].details["changes"]["target_size"] == [1, 3]
    assert "signup_deadline" not in updates[0].details["changes"]  # the same day: unchanged


async def test_a_date_on_a_holiday_is_saved_with_a_warning(rt: Runtime, browser: Browser) -> None:
    initiative_id, _ = await an_open_initiative_with_a_reserve(rt)
    web = await secretary_browser(rt, browser)
    await web.get(f"/admin/youth/{initiative_id}/edit")
    saved = await web.post(
        f"/admin/youth/{initiative_id}/edit",
        edit_form(size="1", deadline="2099-12-20", start="2100-01-07"),
    )
    assert saved.status_code == 303 and "warn=starts_at" in saved.headers["location"]
    page = text_of(await web.get(saved.headers["location"]))
    assert "7 იანვარი 2100" in page and "შობა" in page
    backwards = await web.post(
        f"/admin/youth/{initiative_id}/edit",
        edit_form(size="1", deadline="2100-01-10", start="2100-01-07"),
    )
    assert backwards.status_code == 400


async def test_simulated_sign_ups_are_not_in_the_web_numbers(
    rt: Runtime, secretariat: Browser
) -> None:
    initiative_id, _ = await a_proposal(rt)
    now = utcnow()
    async with rt.db.session() as session:
        initiative = await session.get(Initiative, initiative_id)
        assert initiative is not None
        initiative.status = InitiativeStatus.OPEN
        session.add(initiative)
        sim = await make_member(session, name="Sim", birth_year=now.year - 18,
                                phone="+995500000009", telegram=False)  # fmt: skip
        await sign_up(session=session, initiative=initiative, member=sim, band=Band(14, 29),
                      now=now, channel="sms")  # fmt: skip
    page = text_of(await secretariat.get(f"/admin/youth/{initiative_id}"))
    assert "Sim" not in page
    team = await secretariat.get(f"/admin/youth/{initiative_id}/team.csv")
    assert "+995500000009" not in team.text
    async with rt.db.session() as session:
        from models.youth_signups import participation

        numbers = await participation(session=session, now=now)
    assert numbers.signups == 0


async def test_signup_from_the_simulator_takes_no_real_place(
    rt: Runtime, secretariat: Browser
) -> None:
    """SIGNUP Y<n> typed in the simulator is answered as for anyone, but the one place stays
    for a real young person and the real lead hears nothing of it."""
    initiative_id, lead_id = await a_proposal(rt)
    now = utcnow()
    async with rt.db.session() as session:
        initiative = await session.get(Initiative, initiative_id)
        assert initiative is not None
        initiative.status, initiative.target_size = InitiativeStatus.OPEN, 1
        session.add(initiative)
        await make_member(session, name="Sim", birth_year=now.year - 18,
                          phone="+995500000004", telegram=False)  # fmt: skip
    await secretariat.get("/admin/simulator")
    await secretariat.post("/admin/simulator/send",
                           {"phone": "4", "text": f"SIGNUP Y{initiative_id}"})  # fmt: skip
    async with rt.db.session() as session:
        answers = (
            (
                await session.execute(
                    select(OutboxMessage.text).where(OutboxMessage.address == "+995500000004")
                )
            )
            .scalars()
            .all()
        )
        to_lead = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.member_id == lead_id))
        ).all()
        real = await make_member(session, name="Real", birth_year=now.year - 18)
        fresh = await session.get(Initiative, initiative_id)
        assert fresh is not None
        outcome = await sign_up(session=session, initiative=fresh, member=real,
                                band=Band(14, 29), now=now, channel="sms")  # fmt: skip
    assert len(answers) == 1 and "Y" + str(initiative_id) in answers[0]  # answered (captured)
    assert to_lead == []
    assert outcome.status == "seated"  # the one place was still free
