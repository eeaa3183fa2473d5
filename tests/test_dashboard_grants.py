"""Grant calls on the dashboard: the funnel, moving an applicant to the next stage (and telling
them), the two CSVs — and the board only reads."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.runtime import Runtime
from models.audit import AuditLog
from models.base import utcnow
from models.grants import GrantCall, GrantDraft, create_call, mark_published
from models.grants_applicants import GrantApplicant, register_interest
from models.grants_reports import grant_counts
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


def local(rt: Runtime, days: int) -> str:
    moment = (utcnow() + timedelta(days=days)).astimezone(rt.settings.tz)
    return moment.replace(hour=18, minute=0).strftime("%Y-%m-%dT%H:%M")


def grant_form(rt: Runtime, **overrides: str | list[str]) -> dict[str, str | list[str]]:
    values: dict[str, str | list[str]] = {
        "title_ka": "ახალგაზრდული ბიზნესი 2027", "description_ka": "მცირე საწარმოები სოფლად",
        "priorities": ["agriculture"], "applicant_types": ["individual", "cooperative"],
        "amount": "2 000 – 15 000", "cofinancing": "20%", "manual_url": "lag.ge/manual",
        "phase_idea_deadline": local(rt, 20), "phase_full_deadline": local(rt, 50),
    }  # fmt: skip
    values.update(overrides)
    return values


async def outbox_kinds(rt: Runtime, member_id: int | None) -> list[str]:
    async with rt.db.session() as session:
        rows = await session.execute(
            select(OutboxMessage.kind).where(OutboxMessage.member_id == member_id)
        )
        return list(rows.scalars())


async def test_the_secretariat_drafts_and_publishes_a_call_on_the_web(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        villager = await make_member(session, name="ნინო")
    listing = await secretariat.get("/admin/grants")
    assert 'href="/admin/grants/new"' in listing.text
    await secretariat.get("/admin/grants/new")
    wrong = await secretariat.post(
        "/admin/grants/new",
        grant_form(rt, phase_full_deadline=local(rt, 10), amount="15000-2000"),
    )
    assert wrong.status_code == 400
    assert "ახალგაზრდული ბიზნესი 2027" in wrong.text  # nothing typed is lost
    assert "მინიმუმი მაქსიმუმზე მეტია" in text_of(wrong)  # the bot's own words
    early = await secretariat.post(
        "/admin/grants/new", grant_form(rt, phase_full_deadline=local(rt, 10))
    )
    assert early.status_code == 400  # the full deadline before the idea deadline, as in Telegram
    assert "უნდა იყოს" in text_of(early) and "{phase}" not in text_of(early)
    created = await secretariat.post("/admin/grants/new", grant_form(rt))
    assert created.status_code == 303, text_of(created)
    call_id = int(created.headers["location"].split("/")[3].split("?")[0])
    async with rt.db.session() as session:
        call = await session.get(GrantCall, call_id)
        assert call is not None
        actions = list(
            (await session.execute(select(AuditLog.action).order_by(col(AuditLog.id)))).scalars()
        )
    assert call.status == "draft" and (call.min_amount, call.max_amount) == (2000, 15000)
    assert call.cofinancing_pct == 20 and call.manual_url == "https://lag.ge/manual"
    assert call.applicant_types == ["individual", "cooperative"]
    assert "grant.create" in actions and "web.acted" in actions
    assert await outbox_kinds(rt, villager.id) == []  # a draft is announced to nobody
    page = text_of(await secretariat.get(created.headers["location"]))
    assert "ახალგაზრდული ბიზნესი 2027" in page and "მონახაზი შეიქმნა" in page
    published = await secretariat.post(f"/admin/grants/{call_id}/publish")
    assert published.status_code == 303 and "done=published&told=1" in published.headers["location"]
    assert await outbox_kinds(rt, villager.id) == ["grant.announce"]
    again = await secretariat.post(f"/admin/grants/{call_id}/publish")
    assert again.status_code == 400 and "გამოქვეყნებულია" in text_of(again)


async def test_editing_a_published_call_tells_the_applicants(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    call_id, _, farmer_id = await open_call_with_applicant(rt)
    edit = await secretariat.get(f"/admin/grants/{call_id}/edit")
    assert edit.status_code == 200 and 'value="1000-20000"' in edit.text
    form = {k: v for k, v in _form_fields(edit.text).items()}
    unchanged = await secretariat.post(f"/admin/grants/{call_id}/edit", form)
    assert "done=unchanged" in unchanged.headers["location"]
    assert "grant.changed" not in await outbox_kinds(rt, farmer_id)
    moved = await secretariat.post(
        f"/admin/grants/{call_id}/edit", {**form, "phase_full_deadline": local(rt, 60)}
    )
    assert "done=saved&told=1" in moved.headers["location"], text_of(moved)
    assert "grant.changed" in await outbox_kinds(rt, farmer_id)
    past = await secretariat.post(
        f"/admin/grants/{call_id}/edit", {**form, "phase_full_deadline": local(rt, -1)}
    )
    assert past.status_code == 400  # a moved phase of a published call must be ahead
    for path in ("/admin/grants/new", f"/admin/grants/{call_id}/edit"):
        assert (await board.get(path)).status_code == 403
    await board.get("/admin/account")
    assert (await board.post(f"/admin/grants/{call_id}/edit", form)).status_code == 403
    forged = await secretariat.post(f"/admin/grants/{call_id}/edit", form, csrf="forged")
    assert forged.status_code == 403


def _form_fields(page: str) -> dict[str, str | list[str]]:
    """The values an edit form shows (inputs, textareas, ticked boxes), as a browser sends them."""
    import html as html_lib
    import re

    fields: dict[str, str | list[str]] = {}
    for name, value in re.findall(
        r'<input (?![^>]*checkbox)[^>]*name="([^"]+)" value="([^"]*)"', page
    ):
        if name != "csrf":
            fields[name] = html_lib.unescape(value)
    for tag in re.findall(r'<input type="checkbox"[^>]*>', page):
        if "checked" in tag:
            name = re.search(r'name="([^"]+)"', tag)
            value = re.search(r'value="([^"]+)"', tag)
            if name and value:
                listed = fields.setdefault(name.group(1), [])
                assert isinstance(listed, list)
                listed.append(value.group(1))
    for name, value in re.findall(r'<textarea name="([^"]+)"[^>]*>([^<]*)</textarea>', page):
        fields[name] = html_lib.unescape(value)
    return fields


async def test_a_simulated_applicant_is_in_no_count_list_or_csv(
    rt: Runtime, secretariat: Browser
) -> None:
    call_id, _, _ = await open_call_with_applicant(rt)
    async with rt.db.session() as session:
        sim = await make_member(session, name="სიმულირებული", phone="+995500000042")
        call = await session.get(GrantCall, call_id)
        assert call is not None and sim.is_simulated
        await register_interest(
            session=session, call=call, member=sim, applicant_type="individual",
            idea_title="სატესტო იდეა", village="Kabali", channel="sms", now=utcnow(),
        )  # fmt: skip
    page = text_of(await secretariat.get(f"/admin/grants/{call_id}"))
    assert "თხილის საშრობი" in page and "სატესტო იდეა" not in page
    assert "განმცხადებლები (1)" in page
    applicants = await secretariat.get(f"/admin/grants/{call_id}/applicants.csv")
    assert "ფერმერი გიორგი" in applicants.text and "სიმულირებული" not in applicants.text
    async with rt.db.session() as session:
        call = await session.get(GrantCall, call_id)
        assert call is not None
        assert (await grant_counts(session=session, call=call)).total.interested == 1


async def test_cancelling_a_call_on_the_web_is_confirmed_and_tells_the_applicants(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    call_id, _, farmer_id = await open_call_with_applicant(rt)
    page = text_of(await secretariat.get(f"/admin/grants/{call_id}"))
    assert "კონკურსის გაუქმება" in page and "1 აქტიურ განმცხადებელს" in page
    assert "კონკურსის დახურვა" in page
    # The board reads only; a forged token is refused; no tick: nothing happens.
    await board.get(f"/admin/grants/{call_id}")
    refused = await board.post(f"/admin/grants/{call_id}/cancel", {"confirm": "yes"})
    assert refused.status_code == 403
    forged = await secretariat.post(f"/admin/grants/{call_id}/cancel", {"confirm": "yes"},
                                    csrf="forged")  # fmt: skip
    assert forged.status_code == 403
    unticked = await secretariat.post(f"/admin/grants/{call_id}/cancel")
    assert unticked.headers["location"].endswith("?error=confirm")
    assert "ჯერ მონიშნეთ დადასტურება" in text_of(
        await secretariat.get(unticked.headers["location"])
    )
    async with rt.db.session() as session:
        assert (await session.get(GrantCall, call_id)).status == "published"  # type: ignore[union-attr]
    cancelled = await secretariat.post(f"/admin/grants/{call_id}/cancel", {"confirm": "yes"})
    assert cancelled.headers["location"].endswith("?done=cancelled&told=1&sessions=0")
    shown = text_of(await secretariat.get(cancelled.headers["location"]))
    assert "კონკურსი გაუქმდა; შეტყობინება მიიღო 1 განმცხადებელმა" in shown
    assert "კონკურსის გაუქმება" not in shown  # nothing left to cancel
    async with rt.db.session() as session:
        call = await session.get(GrantCall, call_id)
        actions = list((await session.execute(select(AuditLog.action))).scalars())
    assert call is not None and call.status == "cancelled" and call.cancelled_at is not None
    assert "grant.cancel" in actions and "web.acted" in actions  # a stand-alone account
    assert "grant.cancelled" in await outbox_kinds(rt, farmer_id)  # the Telegram flow's notice
    again = await secretariat.post(f"/admin/grants/{call_id}/cancel", {"confirm": "yes"})
    assert again.headers["location"].endswith("?error=grants.err_is_cancelled")


async def test_closing_a_call_on_the_web_ends_the_competition(
    rt: Runtime, secretariat: Browser
) -> None:
    call_id, _, farmer_id = await open_call_with_applicant(rt)
    await secretariat.get(f"/admin/grants/{call_id}")
    unticked = await secretariat.post(f"/admin/grants/{call_id}/close")
    assert unticked.headers["location"].endswith("?error=confirm")
    closed = await secretariat.post(f"/admin/grants/{call_id}/close", {"confirm": "yes"})
    assert closed.headers["location"].endswith("?done=closed")
    assert "კონკურსი დაიხურა" in text_of(await secretariat.get(closed.headers["location"]))
    async with rt.db.session() as session:
        call = await session.get(GrantCall, call_id)
        entry = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "grant.close")))
            .scalars()
            .one()
        )
    assert call is not None and call.status == "closed" and call.closed_at is not None
    assert entry.target == f"grant:{call_id}" and entry.actor_member_id is None  # so:
    async with rt.db.session() as session:
        acted = await session.execute(select(AuditLog).where(AuditLog.action == "web.acted"))
        assert [a.details["action"] for a in acted.scalars()] == ["grant.close"]
    assert "grant.cancelled" not in await outbox_kinds(rt, farmer_id)  # closing tells nobody
    # A closed call can no longer be cancelled.
    refused = await secretariat.post(f"/admin/grants/{call_id}/cancel", {"confirm": "yes"})
    assert refused.headers["location"].endswith("?error=grants.err_is_closed")
