"""`lagbot import members FILE.csv`: the LAG's spreadsheet, with every bad row reported."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.cli import main
from bot.db import Database
from bot.runtime import Runtime
from handlers.member_import import render_report
from models.audit import AuditLog
from models.member_import import import_members
from models.members import Consent, Member
from tests.factories import make_member

SHEET = """სახელი;ტელეფონი;თემი;სოფელი;სექტორი;ორგანიზაცია;წევრი
ნინო ბერიძე;599 11 22 33;არეშფერანი;ზემო ბოლქვი;სამოქალაქო;;კი
Mamuka Kapanadze;+995 577 44 55 66;Kabali;Ganjala;private;Kabali Farmers;yes
Nophone Person;;Apeni;;public;;no
;599 00 00 01;Apeni;;public;;no
Bad Phone;12345;Apeni;;public;;no
Bad Community;599 00 00 03;Atlantis;;civil;;no
Bad Sector;599 00 00 04;Apeni;;farmer;;no
Bad Member;599 00 00 05;Apeni;;civil;;maybe
Dup Phone;599 11 22 33;Apeni;;civil;;no
Formal Nosector;599 00 00 06;Apeni;;;;yes

Landline Owner;0322 24 11 11;Apeni;;civil;;no
"""


async def test_import_reports_bad_rows_and_keeps_paper_consent(rt: Runtime) -> None:
    async with rt.db.session() as session:
        existing = await make_member(
            session, name="Mamuka", telegram=True, phone="+995577445566", sector=None, village=None
        )
        report = await import_members(
            session=session,
            settings=rt.settings,
            content="\ufeff".encode() + SHEET.encode(),
            consent_date=date(2025, 5, 1),
            form_version="paper-2025",
            source="members.csv",
        )
    assert (report.created, report.updated) == (2, 1)
    reasons = {p.line: render_report_line(p.key, p.values) for p in report.problems}
    assert sorted(reasons) == [5, 6, 7, 8, 9, 10, 11, 13]
    assert "name" in reasons[5]
    assert "mobile number" in reasons[6]
    assert "Atlantis" in reasons[7]
    assert "farmer" in reasons[8]
    assert "maybe" in reasons[9]
    assert "line 2" in reasons[10]
    assert "needs a sector" in reasons[11]
    assert "landline" in reasons[13]
    async with rt.db.session() as session:
        members = {m.name: m for m in (await session.execute(select(Member))).scalars()}
        paper = (
            (await session.execute(select(Consent).where(col(Consent.channel) == "paper")))
            .scalars()
            .all()
        )
        audit = (
            (await session.execute(select(AuditLog).where(col(AuditLog.action) == "member.import")))
            .scalars()
            .one()
        )
    assert set(members) == {"Mamuka", "ნინო ბერიძე", "Nophone Person"}
    mamuka = members["Mamuka"]  # matched by phone: keeps his own name, gets the sheet's facts
    assert mamuka.id == existing.id and mamuka.is_lag_member and mamuka.sector == "private"
    assert mamuka.organisation == "Kabali Farmers" and mamuka.village == "Ganjala"
    nino = members["ნინო ბერიძე"]
    assert (nino.phone, nino.sector, nino.village, nino.is_lag_member, nino.joined_via) == (
        "+995599112233",
        "civil",
        "ზემო ბოლქვი",
        True,
        "import",
    )
    assert nino.phone_verified is False and nino.consent_announcements is False
    assert {(c.kind, c.text_version, c.at.date().isoformat()) for c in paper} == {
        ("data", "paper-2025", "2025-05-01")
    }
    assert len(paper) == 3
    assert audit.details == {"created": 2, "updated": 1, "problems": 8}


def render_report_line(key: str, values: dict[str, object]) -> str:
    from bot.i18n import t

    return t(key, "en", **values)


async def test_a_file_that_is_not_a_member_list_is_refused_whole(rt: Runtime) -> None:
    async with rt.db.session() as session:
        no_header = await import_members(
            session=session,
            settings=rt.settings,
            content=b"1,2,3\n4,5,6\n",
            consent_date=date.today(),
            form_version="v1",
        )
        latin1 = await import_members(
            session=session,
            settings=rt.settings,
            content="name\nJosé\n".encode("latin-1"),
            consent_date=date.today(),
            form_version="v1",
        )
    assert render_report(no_header, "en").startswith("The first line must name the columns")
    assert "CSV UTF-8" in render_report(latin1, "en")


def test_the_lagbot_command_imports_and_prints_the_report(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "members.csv"
    sheet.write_text(
        "name,phone,community,sector,member\n"
        "Eter Jafaridze,599 55 44 33,Shroma,civil,yes\n"
        "Broken Row,not a phone,Shroma,civil,no\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    args = ["import", "members", str(sheet), "--language", "en"]
    assert main([*args, "--dry-run"]) == 0
    assert "Check only (nothing saved): 1 new" in capsys.readouterr().out
    assert main([*args, "--consent-date", "2025-03-01", "--form-version", "F-3"]) == 0
    out = capsys.readouterr().out
    assert "Line 3:" in out and "Imported: 1 new, 0 updated, 1 skipped." in out

    async def check() -> list[Member]:
        db = Database(db_url)
        async with db.session() as session:
            found = list((await session.execute(select(Member))).scalars())
        await db.dispose()
        return found

    [eter] = asyncio.run(check())
    assert (eter.name, eter.phone, eter.is_lag_member) == ("Eter Jafaridze", "+995599554433", True)
