"""Importing the LAG's member spreadsheet (CSV): people matched by phone, paper consent kept.

Columns (header names in English, Georgian, Azerbaijani or Russian; only `name` is
required): name, phone, community, village, sector, organisation, member (yes/no), and
optionally language, announcements (yes/no), consent_date, consent_version. Every row that
cannot be read is reported with its line number and the reason; the others are imported
in one transaction. A matched person keeps what they entered themselves; the spreadsheet
fills what is empty and decides formal membership and the organisation.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.i18n import LANGUAGES
from bot.settings import Settings
from models.audit import record_audit
from models.communities import Community, list_communities
from models.member_fields import (
    FieldError,
    clean_text,
    match_community,
    match_sector,
    parse_phone,
    parse_yes_no,
    validate_name,
    validate_organisation,
    validate_village,
)
from models.members import Consent, Member, MemberStatus, member_by_phone

HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name", "სახელი", "სახელი გვარი", "სახელი და გვარი", "ad",
             "ad soyad", "имя", "фио"),
    "phone": ("phone", "mobile", "ტელეფონი", "ტელ", "მობილური", "telefon", "телефон"),
    "community": ("community", "თემი", "icma", "община"),
    "village": ("village", "სოფელი", "kənd", "село"),
    "sector": ("sector", "სექტორი", "sektor", "сектор"),
    "organisation": ("organisation", "organization", "org", "ორგანიზაცია", "təşkilat",
                     "организация"),
    "member": ("member", "lag member", "formal", "წევრი", "üzv", "член"),
    "language": ("language", "ენა", "dil", "язык"),
    "announcements": ("announcements", "სიახლეები", "elanlar", "объявления"),
    "consent_date": ("consent_date", "consent date", "თანხმობის თარიღი"),
    "consent_version": ("consent_version", "form version", "ფორმის ვერსია"),
}  # fmt: skip


@dataclass
class RowProblem:
    line: int
    key: str  # i18n key of the reason
    values: dict[str, object] = field(default_factory=dict)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    file_error: str | None = None  # i18n key: the file as a whole could not be read


@dataclass
class _Row:
    line: int
    name: str
    phone: str | None
    community: Community
    village: str | None
    sector: str | None
    organisation: str | None
    formal: bool
    language: str | None
    announcements: bool
    consent_at: datetime
    version: str


def decode(content: bytes) -> str | None:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            text = content.decode(encoding)
        except UnicodeError:
            continue
        if encoding == "utf-16" and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
            return None
        return text
    return None


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        title = clean_text(title).casefold().strip("*: ")
        for name, aliases in HEADERS.items():
            if title in aliases and name not in found:
                found[name] = index
    return found


def _parse_row(
    line: int,
    cells: list[str],
    columns: dict[str, int],
    communities: list[Community],
    settings: Settings,
    default_date: date,
    default_version: str,
) -> _Row:
    def cell(name: str) -> str:
        index = columns.get(name)
        return clean_text(cells[index]) if index is not None and index < len(cells) else ""

    name = validate_name(cell("name"))
    phone = parse_phone(cell("phone")) if cell("phone") else None
    if not cell("community"):
        raise FieldError("members.import_no_community")
    community = match_community(cell("community"), communities)
    if community is None:
        raise FieldError("members.import_bad_community", value=cell("community"))
    sector = match_sector(cell("sector")) if cell("sector") else None
    if cell("sector") and sector is None:
        raise FieldError("members.import_bad_sector", value=cell("sector"))
    formal = False
    if cell("member"):
        answer = parse_yes_no(cell("member"))
        if answer is None:
            raise FieldError("members.import_bad_yes_no", value=cell("member"))
        formal = answer
    if formal and sector is None:
        raise FieldError("members.err_member_sector")
    announcements = parse_yes_no(cell("announcements")) is True if cell("announcements") else False
    language = cell("language").casefold() or None
    if language is not None and language not in LANGUAGES:
        raise FieldError("members.import_bad_language", value=cell("language"))
    consent_day = default_date
    if cell("consent_date"):
        try:
            consent_day = date.fromisoformat(cell("consent_date"))
        except ValueError:
            raise FieldError("members.import_bad_date", value=cell("consent_date")) from None
    return _Row(
        line=line,
        name=name,
        phone=phone,
        community=community,
        village=validate_village(cell("village")) if cell("village") else None,
        sector=sector,
        organisation=validate_organisation(cell("organisation")) if cell("organisation") else None,
        formal=formal,
        language=language,
        announcements=announcements,
        consent_at=datetime.combine(consent_day, time(12), tzinfo=settings.tz),
        version=cell("consent_version") or default_version,
    )


async def import_members(
    *,
    session: AsyncSession,
    settings: Settings,
    content: bytes,
    consent_date: date,
    form_version: str,
    source: str = "csv",
) -> ImportReport:
    """Read the file, report bad rows, create or update the good ones (caller commits)."""
    report = ImportReport()
    text = decode(content)
    if text is None:
        report.file_error = "members.import_not_utf8"
        return report
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], ",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    columns = _columns(header or [])
    if "name" not in columns:
        report.file_error = "members.import_no_header"
        return report
    communities = await list_communities(session=session)
    seen_phones: dict[str, int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        try:
            row = _parse_row(
                line, cells, columns, communities, settings, consent_date, form_version
            )
        except FieldError as error:
            report.problems.append(RowProblem(line, error.key, dict(error.values)))
            continue
        if row.phone is not None and row.phone in seen_phones:
            report.problems.append(
                RowProblem(line, "members.import_duplicate_phone", {"line": seen_phones[row.phone]})
            )
            continue
        if row.phone is not None:
            seen_phones[row.phone] = line
        created = await _store(session, settings, row, source)
        report.created += created
        report.updated += 1 - created
    await record_audit(
        session=session,
        action="member.import",
        actor_label="cli",
        target=source[:120],
        details={
            "created": report.created,
            "updated": report.updated,
            "problems": len(report.problems),
        },
    )
    return report


async def _match(session: AsyncSession, row: _Row) -> Member | None:
    if row.phone is not None:
        return await member_by_phone(session=session, phone=row.phone)
    candidates = await session.execute(
        select(Member).where(
            col(Member.community_id) == row.community.id,
            col(Member.status) != MemberStatus.ERASED,
        )
    )
    wanted = row.name.casefold()
    return next((m for m in candidates.scalars() if (m.name or "").casefold() == wanted), None)


async def _store(session: AsyncSession, settings: Settings, row: _Row, source: str) -> int:
    """Create or update one person; 1 when created."""
    member = await _match(session, row)
    created = member is None
    if member is None:
        member = Member(
            name=row.name,
            phone=row.phone,
            phone_verified=False,
            language=row.language or settings.default_language,
            community_id=row.community.id,
            village=row.village,
            sector=row.sector,
            consent_data_at=row.consent_at,
            consent_announcements=row.announcements,
            joined_via="import",
        )
    else:
        member.name = member.name or row.name
        member.community_id = member.community_id or row.community.id
        member.village = member.village or row.village
        member.sector = member.sector or row.sector
        member.consent_data_at = member.consent_data_at or row.consent_at
    if row.organisation:
        member.organisation = row.organisation
    if row.formal and not member.is_lag_member:
        member.lag_member_since = row.consent_at
    if not row.formal:
        member.lag_member_since = None
    member.is_lag_member = row.formal and member.status == MemberStatus.ACTIVE
    session.add(member)
    await session.flush()
    assert member.id is not None
    details = {"source": "import", "line": row.line}
    session.add(
        Consent(
            member_id=member.id,
            kind="data",
            given=True,
            channel="paper",
            text_version=row.version,
            at=row.consent_at,
            details=details,
        )
    )
    if row.announcements:
        if not member.consent_announcements:
            member.consent_announcements = True
        session.add(
            Consent(
                member_id=member.id,
                kind="announcements",
                given=True,
                channel="paper",
                text_version=row.version,
                at=row.consent_at,
                details=details,
            )
        )
    return 1 if created else 0
