"""The secretariat's member register on the web: overview, search, a member's page, edits,
roles, CSV — and the audit log that records every change."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import col, select

from bot.runtime import Runtime
from models.audit import AuditLog
from models.base import utcnow
from models.dashboard_members import RoleChangeRefused, change_role
from models.members import Member, Role
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


async def test_overview_counts_members_by_community_and_sector(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        await make_member(session, community="kabali", sector="private", birth_year=2004)
        await make_member(session, community="kabali", sector="civil", gender="male")
        await make_member(session, community="pona", sector="public", telegram=False)
        await make_member(session, community="pona", sector="public", sms_opt_out_at=utcnow())
        await make_member(session, community="pona", phone="+995500000007", is_simulated=True)
        await make_member(session, community="pona", status="erased")
    page = text_of(await secretariat.get("/admin"))
    assert "4 აქტიური წევრი" in page  # the simulated and the erased one are not counted
    assert "კაბალი 1 1 2" in page  # Kabali: private 1, civil 1, total 2
    assert "ფონა 2 2" in page
    assert "25% ახალგაზრდა (14–29) (1)" in page
    assert "SMS-ზე უარი (STOP) 1" in page


async def test_overview_warns_when_a_sector_holds_more_than_49_percent(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        for sector in ("civil", "civil", "public"):
            await make_member(session, sector=sector, is_lag_member=True)
    await secretariat.post("/admin/language", {"language": "en", "next": "/admin"})
    page = text_of(await secretariat.get("/admin"))
    assert "Warning: in the General Assembly the Civil society sector holds 67%" in page
    async with rt.db.session() as session:
        for sector in ("private", "public"):
            await make_member(session, sector=sector, is_lag_member=True)
    page = text_of(await secretariat.get("/admin"))
    assert "Warning" not in page  # civil 40%, public 40%, private 20%
    assert "Civil society 40%" in page


async def test_searching_and_filtering_members(rt: Runtime, secretariat: Browser) -> None:
    async with rt.db.session() as session:
        await make_member(session, name="ნინო ბერიძე", community="kabali", village="განჯალა")
        await make_member(session, name="Giorgi Kapanadze", community="pona", sector="public")
        await make_member(session, name="Ольга Иванова", phone="+995599777111", telegram=False)
        await make_member(session, name="Sim", phone="+995500000003", is_simulated=True)
    everyone = text_of(await secretariat.get("/admin/members"))
    assert "(3)" in everyone and "Sim" not in everyone
    assert "ნინო ბერიძე" in text_of(await secretariat.get("/admin/members?q=განჯალა"))
    found = text_of(await secretariat.get("/admin/members?q=ольга"))  # any case, Cyrillic
    assert "Ольга Иванова" in found and "(1)" in found
    by_phone = text_of(await secretariat.get("/admin/members?q=777 111"))
    assert "Ольга Иванова" in by_phone
    public = text_of(await secretariat.get("/admin/members?sector=public"))
    assert "Giorgi Kapanadze" in public and "ნინო" not in public
    sms_only = text_of(await secretariat.get("/admin/members?channel=sms"))
    assert "(3)" in sms_only  # everyone has a phone
    tg_less = text_of(await secretariat.get("/admin/members?channel=none"))
    assert "ამ ფილტრით წევრი ვერ მოიძებნა" in tg_less


async def test_a_members_page_shows_profile_consent_and_deliveries(
    rt: Runtime, board: Browser
) -> None:
    from models.members import record_consent
    from models.outbox import enqueue

    async with rt.db.session() as session:
        member = await make_member(
            session, name="Tamar", village="Kevkhiani", community="areshperani"
        )
        await record_consent(session=session, member=member, kind="data", given=True,
                             channel="sms", text_version="2026-11")  # fmt: skip
        await enqueue(session=session, channel="sms", provider="twilio", address=member.phone or "",
                      text="Assembly on Friday", member_id=member.id, kind="broadcast")  # fmt: skip
    page = text_of(await board.get(f"/admin/members/{member.id}"))
    assert "Tamar" in page and "Kevkhiani" in page and "არეშფერანი" in page
    assert "data მისცა sms 2026-11" in page
    assert "Assembly on Friday" in page and "რიგშია" in page
    assert (await board.get("/admin/members/99999")).status_code == 404


async def test_editing_a_member_is_saved_and_audited(rt: Runtime, secretariat: Browser) -> None:
    async with rt.db.session() as session:
        member = await make_member(session, name="Nino", sector="civil", birth_year=1980)
    form = await secretariat.get(f"/admin/members/{member.id}/edit")
    assert form.status_code == 200
    values = {
        "name": "Nino Beridze", "phone": "599 12 34 56", "community_id": "", "village": "Leliani",
        "sector": "private", "birth_year": "1985", "gender": "female", "language": "az",
        "sms_script": "latin", "is_lag_member": "on", "organisation": "Kakheti Honey",
    }  # fmt: skip
    saved = await secretariat.post(f"/admin/members/{member.id}/edit", values)
    assert saved.status_code == 303
    assert "შენახულია" in text_of(await secretariat.get(saved.headers["location"]))
    async with rt.db.session() as session:
        fresh = await session.get(Member, member.id)
        assert fresh is not None
        assert (fresh.name, fresh.phone, fresh.sector, fresh.birth_year) == (
            "Nino Beridze", "+995599123456", "private", 1985,
        )  # fmt: skip
        assert fresh.language == "az" and fresh.is_lag_member and not fresh.phone_verified
        entry = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "member.edit")))
            .scalars()
            .one()
        )
    assert entry.target == f"member:{member.id}"
    assert entry.details["changed"]["sector"] == ["civil", "private"]
    assert "+995599123456" not in str(entry.details)  # phones are masked in the log


async def test_a_bad_edit_is_explained_and_nothing_typed_is_lost(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        member = await make_member(session, name="Nino")
        other = await make_member(session, name="Other")
    await secretariat.get(f"/admin/members/{member.id}/edit")
    values = {
        "name": "Nino Beridze", "phone": "12345", "village": "Leliani", "sector": "civil",
        "birth_year": "1985", "language": "ka", "sms_script": "native",
    }  # fmt: skip
    bad = await secretariat.post(f"/admin/members/{member.id}/edit", values)
    assert bad.status_code == 400
    assert "ეს არ არის მობილურის ნომერი" in text_of(bad)
    assert 'value="Nino Beridze"' in bad.text and 'value="Leliani"' in bad.text
    taken = await secretariat.post(
        f"/admin/members/{member.id}/edit", {**values, "phone": other.phone}
    )
    assert "სხვა წევრს ეკუთვნის" in text_of(taken)
    reserved = await secretariat.post(
        f"/admin/members/{member.id}/edit", {**values, "phone": "+995 500 00 0001"}
    )
    assert "სიმულატორისთვისაა" in text_of(reserved)
    year = await secretariat.post(
        f"/admin/members/{member.id}/edit", {**values, "phone": "", "birth_year": "85"}
    )
    assert "ოთხი ციფრი" in text_of(year)
    async with rt.db.session() as session:
        fresh = await session.get(Member, member.id)
        assert fresh is not None and fresh.name == "Nino"


async def test_role_changes_are_audited_and_the_last_secretary_stays(
    rt: Runtime, browser: Browser
) -> None:
    async with rt.db.session() as session:
        me = await make_member(session, name="Me", role=Role.SECRETARIAT)
        giorgi = await make_member(session, name="Giorgi")
    await browser.sign_in(rt, await member_account(rt, me))
    await browser.get(f"/admin/members/{giorgi.id}")
    made = await browser.post(f"/admin/members/{giorgi.id}/role", {"role": "board"})
    assert made.status_code == 303
    own = await browser.post(f"/admin/members/{me.id}/role", {"role": "member"})
    assert own.status_code == 400 and "საკუთარ როლს ვერ შეცვლით" in text_of(own)
    await browser.post(f"/admin/members/{giorgi.id}/role", {"role": "secretariat"})
    await browser.post(f"/admin/members/{giorgi.id}/role", {"role": "member"})
    async with rt.db.session() as session:
        fresh = await session.get(Member, giorgi.id)
        assert fresh is not None and fresh.role == Role.MEMBER
        changes = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "member.role")))
            .scalars()
            .all()
        )
    assert [(c.details["from"], c.details["to"]) for c in changes] == [
        ("member", "board"), ("board", "secretariat"), ("secretariat", "member"),
    ]  # fmt: skip
    assert all(c.actor_member_id == me.id for c in changes)


async def test_the_last_secretariat_member_cannot_be_demoted(rt: Runtime) -> None:
    async with rt.db.session() as session:
        only = await make_member(session, name="Only", role=Role.SECRETARIAT)
        with pytest.raises(RoleChangeRefused) as refused:
            await change_role(session=session, member=only, role="member", actor_member_id=None,
                              actor_label="web:1")  # fmt: skip
    assert refused.value.reason == "last_secretariat"
    async with rt.db.session() as session:
        await make_member(session, name="Second", role=Role.SECRETARIAT)
        fresh = await session.get(Member, only.id)
        assert fresh is not None
        assert await change_role(session=session, member=fresh, role="member",
                                 actor_member_id=None, actor_label="web:1")  # fmt: skip


async def test_csv_export_follows_the_filter_and_leaves_out_simulated(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        await make_member(session, name="ნინო", community="kabali", phone="+995599100200")
        await make_member(session, name="=HYPERLINK(evil)", community="kabali")
        await make_member(session, name="Pona person", community="pona")
        await make_member(session, name="Sim", community="kabali", phone="+995500000009",
                          is_simulated=True)  # fmt: skip
        from tests.factories import community_id

        kabali = await community_id(session, "kabali")
    await secretariat.post("/admin/language", {"language": "en", "next": "/admin"})
    response = await secretariat.get(f"/admin/members.csv?community={kabali}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert sorted(r["Name"] for r in rows) == sorted(["ნინო", "'=HYPERLINK(evil)"])
    nino = next(r for r in rows if r["Name"] == "ნინო")
    assert nino["Phone"] == "+995599100200" and nino["Community"] == "Kabali"
    async with rt.db.session() as session:
        export = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "member.export")))
            .scalars()
            .one()
        )
    assert export.details["count"] == 2


async def test_the_audit_log_is_filterable(rt: Runtime, secretariat: Browser) -> None:
    async with rt.db.session() as session:
        giorgi = await make_member(session, name="Giorgi")
    await secretariat.get(f"/admin/members/{giorgi.id}")
    await secretariat.post(f"/admin/members/{giorgi.id}/role", {"role": "board"})
    log = text_of(await secretariat.get("/admin/audit"))
    assert "member.role" in log and "web.login" in log and "Secretariat" in log
    only_roles = text_of(await secretariat.get("/admin/audit?action=member.role"))
    assert "აუდიტის ჟურნალი (1)" in only_roles
    assert '{"from": "member", "to": "board"}' in only_roles
    by_target = text_of(await secretariat.get(f"/admin/audit?target=member:{giorgi.id}"))
    assert "(2)" in by_target  # the page was viewed, then the role changed
    none = text_of(await secretariat.get("/admin/audit?since=2000-01-01&until=2000-01-02"))
    assert "ჩანაწერი ვერ მოიძებნა" in none


async def test_looking_at_personal_data_is_in_the_audit_log(rt: Runtime, board: Browser) -> None:
    async with rt.db.session() as session:
        tamar = await make_member(session, name="Tamar", village="Kevkhiani")
    await board.get("/admin/members?q=Tamar")
    await board.get(f"/admin/members/{tamar.id}")
    async with rt.db.session() as session:
        seen = list(
            (
                await session.execute(
                    select(AuditLog).where(col(AuditLog.action).endswith("viewed"))
                )
            ).scalars()
        )
    listing = next(e for e in seen if e.action == "member.list_viewed")
    assert listing.actor_label.startswith("web:") and listing.details["total"] == 1
    assert listing.details["filter"]["q"] == "Tamar"
    page = next(e for e in seen if e.action == "member.viewed")
    assert page.target == f"member:{tamar.id}" and page.actor_label == listing.actor_label
    await board.get("/admin/members/99999")  # nothing shown, nothing logged
    async with rt.db.session() as session:
        views = (
            await session.execute(select(AuditLog).where(AuditLog.action == "member.viewed"))
        ).scalars()
        assert len(list(views)) == 1
