"""What staff type into dashboard forms is kept without the characters no database keeps.

Text pasted from a PDF or a spreadsheet can carry a NUL; PostgreSQL refuses it in text and the
whole save failed (a 500). Every posted form is scrubbed once, where web/guard.py reads it.
"""

from __future__ import annotations

from sqlmodel import select

from bot.runtime import Runtime
from models.audit import AuditLog
from models.members import Member
from tests.dashboard_support import Browser, board, browser, secretariat
from tests.factories import make_member

__all__ = ["board", "browser", "secretariat"]  # fixtures used here


async def test_a_pasted_nul_in_a_member_edit_is_dropped_and_the_edit_saved(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        member = await make_member(session, name="Nino", sector="civil", birth_year=1980)
    await secretariat.get(f"/admin/members/{member.id}/edit")
    values = {
        "name": "Nino\x00 Beridze", "phone": "", "community_id": "", "village": "Leli\x00ani",
        "sector": "private", "birth_year": "1985", "gender": "female", "language": "ka",
        "sms_script": "native", "is_lag_member": "on", "organisation": "Kakheti\x00 Honey\x07",
    }  # fmt: skip
    saved = await secretariat.post(f"/admin/members/{member.id}/edit", values)
    assert saved.status_code == 303, saved.text
    async with rt.db.session() as session:
        fresh = await session.get(Member, member.id)
        assert fresh is not None
        assert (fresh.name, fresh.village, fresh.organisation) == (
            "Nino Beridze",
            "Leliani",
            "Kakheti Honey",
        )
        entry = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "member.edit")))
            .scalars()
            .one()
        )
    assert "\x00" not in str(entry.details)


async def test_a_nul_only_answer_counts_as_empty_and_is_explained(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        member = await make_member(session, name="Nino")
    await secretariat.get(f"/admin/members/{member.id}/edit")
    values = {
        "name": "\x00\x00", "phone": "", "village": "", "sector": "civil", "birth_year": "",
        "language": "ka", "sms_script": "native",
    }  # fmt: skip
    refused = await secretariat.post(f"/admin/members/{member.id}/edit", values)
    assert refused.status_code == 400  # the name is missing: said on the form, not a 500
    assert "\x00" not in refused.text
    async with rt.db.session() as session:
        fresh = await session.get(Member, member.id)
        assert fresh is not None and fresh.name == "Nino"


async def test_a_nul_typed_into_the_login_form_is_a_wrong_password_not_an_error(
    rt: Runtime, browser: Browser
) -> None:
    await browser.get("/admin/login")
    wrong = await browser.post("/admin/login", {"login": "ni\x00no", "password": "x\x00y"})
    assert wrong.status_code == 400  # refused like any wrong password; PostgreSQL saw no NUL
    async with rt.db.session() as session:
        rows = (await session.execute(select(AuditLog))).scalars().all()
    assert all("\x00" not in f"{r.target}{r.details}" for r in rows)
