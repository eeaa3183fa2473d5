"""The attendance sheet donors ask for (EU / CARE reporting), and the General Assembly quorum.

Participants are the members checked in at the door; before anyone is checked in, the sheet is
the sign-in list of those going (with an empty signature column to print). Totals are
disaggregated by community, sector, gender and age band. Simulated and erased members never
appear. The quorum counts formal LAG members (`Member.is_lag_member`) against the settings
ASSEMBLY_QUORUM / ASSEMBLY_QUORUM_STRICT, with the LEADER rule's 49% sector warning.
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from babel.dates import format_datetime
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.i18n import t
from bot.settings import Settings
from models.communities import Community
from models.event_attendance import Attendee, attendees
from models.event_rsvps import Answer
from models.events import Event
from models.members import Member, MemberStatus

LEADER_MAX_SECTOR_SHARE = 0.49  # EU Reg. 1303/2013 Art. 32: no sector above 49%
SECTORS = ("public", "private", "civil")
GENDERS = ("female", "male", "unsaid")
AGE_BANDS: tuple[tuple[int | None, int | None, str], ...] = (
    (None, 17, "under_18"),
    (18, 29, "18_29"),
    (30, 44, "30_44"),
    (45, 59, "45_59"),
    (60, None, "60_plus"),
)


def age_band(member: Member, year: int) -> str:
    age = member.age(year)
    if age is None:
        return "unknown"
    for low, high, key in AGE_BANDS:
        if (low is None or age >= low) and (high is None or age <= high):
            return key
    return "unknown"


def sector_label(sector: str | None, language: str) -> str:
    return {
        "public": t("events.sector_public", language),
        "private": t("events.sector_private", language),
        "civil": t("events.sector_civil", language),
    }.get(sector or "", t("events.not_stated", language))


def gender_label(gender: str | None, language: str) -> str:
    return {
        "female": t("events.gender_female", language),
        "male": t("events.gender_male", language),
    }.get(gender or "", t("events.not_stated", language))


def band_label(band: str, language: str) -> str:
    return {
        "under_18": t("events.band_under_18", language),
        "18_29": "18–29",
        "30_44": "30–44",
        "45_59": "45–59",
        "60_plus": "60+",
    }.get(band, t("events.not_stated", language))


def answer_label(status: str, language: str) -> str:
    return {
        "going": t("events.answer_going", language),
        "waitlist": t("events.answer_waitlist", language),
        "maybe": t("events.answer_maybe", language),
        "no": t("events.answer_no", language),
    }.get(status, t("events.answer_invited", language))


def _hhmm(moment: datetime, settings: Settings, language: str) -> str:
    return format_datetime(moment.astimezone(settings.tz), "HH:mm", locale=language)


@dataclass
class SheetRow:
    number: int
    name: str
    community: str
    village: str
    sector: str
    gender: str
    age_band: str
    lag_member: bool
    organisation: str
    answer: str
    checked_in: str


@dataclass
class Sheet:
    event: Event
    language: str
    checked_in_only: bool  # False: nobody checked in yet, the sheet lists those going
    rows: list[SheetRow]
    totals: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _totals(labels: list[str], order: list[str]) -> list[tuple[str, int]]:
    counts = Counter(labels)
    ordered = [(label, counts[label]) for label in order if counts.get(label)]
    rest = sorted((label, n) for label, n in counts.items() if label not in order)
    return ordered + rest


async def attendance_sheet(
    *, session: AsyncSession, event: Event, settings: Settings, language: str
) -> Sheet:
    people = await attendees(session=session, event=event)
    present = [a for a in people if a.rsvp.checked_in_at is not None]
    chosen: list[Attendee] = present or [a for a in people if a.status == "going"]
    communities = {c.id: c for c in (await session.execute(select(Community))).scalars()}
    community_order = [
        c.name(language) for c in sorted(communities.values(), key=lambda c: c.position)
    ]
    year = event.starts_at.astimezone(settings.tz).year
    rows: list[SheetRow] = []
    chosen.sort(key=lambda a: (a.rsvp.checked_in_at or event.starts_at, a.member.name or ""))
    not_stated = t("events.not_stated", language)
    for number, person in enumerate(chosen, start=1):
        member, checked = person.member, person.rsvp.checked_in_at
        community = communities.get(member.community_id or 0)
        answer_key = person.status if person.status != "invited" else "invited"
        rows.append(
            SheetRow(
                number=number,
                name=member.name or "",
                community=community.name(language) if community else not_stated,
                village=member.village or "",
                sector=sector_label(member.sector, language),
                gender=gender_label(member.gender, language),
                age_band=band_label(age_band(member, year), language),
                lag_member=member.is_lag_member,
                organisation=member.organisation or "",
                answer=answer_label(answer_key, language),
                checked_in=_hhmm(checked, settings, language) if checked else "",
            )
        )
    sheet = Sheet(event, language, bool(present), rows)
    sheet.totals = {
        "community": _totals([r.community for r in rows], community_order),
        "sector": _totals([r.sector for r in rows], [sector_label(s, language) for s in SECTORS]),
        "gender": _totals([r.gender for r in rows], [gender_label(g, language) for g in GENDERS]),
        "age_band": _totals(
            [r.age_band for r in rows], [band_label(b[2], language) for b in AGE_BANDS]
        ),
    }
    return sheet


def _headers(language: str) -> list[str]:
    return [
        "#",
        t("events.col_name", language),
        t("events.col_community", language),
        t("events.col_village", language),
        t("events.col_sector", language),
        t("events.col_gender", language),
        t("events.col_age_band", language),
        t("events.col_lag_member", language),
        t("events.col_organisation", language),
        t("events.col_answer", language),
        t("events.col_checked_in", language),
    ]


def _dimension_title(dimension: str, language: str) -> str:
    return {
        "community": t("events.col_community", language),
        "sector": t("events.col_sector", language),
        "gender": t("events.col_gender", language),
        "age_band": t("events.col_age_band", language),
    }[dimension]


def _cells(r: SheetRow, language: str) -> list[object]:
    lag = t("events.yes", language) if r.lag_member else t("events.no", language)
    return [
        r.number, r.name, r.community, r.village, r.sector, r.gender, r.age_band,
        lag, r.organisation, r.answer, r.checked_in,
    ]  # fmt: skip


def sheet_csv(sheet: Sheet) -> str:
    """Participants, then a blank row and the totals per dimension; UTF-8 BOM for Excel."""
    language = sheet.language
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(_headers(language))
    for r in sheet.rows:
        writer.writerow(_cells(r, language))
    writer.writerow([])
    writer.writerow([t("events.total", language), len(sheet.rows)])
    for dimension, rows in sheet.totals.items():
        writer.writerow([])
        writer.writerow([_dimension_title(dimension, language), t("events.count", language)])
        writer.writerows(rows)
    return out.getvalue()


def sheet_html(sheet: Sheet, *, when: str, settings: Settings) -> str:
    """A printable A4 page: the list with a signature column, then the totals."""
    language, event = sheet.language, sheet.event
    e = html.escape
    title = t("events.sheet_title", language, title=event.title_in(language))
    subtitle = t(
        "events.sheet_subtitle" if sheet.checked_in_only else "events.sheet_subtitle_signin",
        language,
        when=when,
        place=event.place,
        code=event.code,
    )
    head = "".join(f"<th>{e(h)}</th>" for h in _headers(language))
    head += f"<th class=sig>{e(t('events.col_signature', language))}</th>"
    body = "".join(
        "<tr>"
        + "".join(f"<td>{e(str(v))}</td>" for v in _cells(r, language))
        + "<td class=sig></td></tr>"
        for r in sheet.rows
    )
    totals = "".join(
        f"<table class=totals><caption>{e(_dimension_title(d, language))}</caption>"
        + "".join(f"<tr><td>{e(label)}</td><td>{n}</td></tr>" for label, n in rows)
        + "</table>"
        for d, rows in sheet.totals.items()
    )
    total_line = f"{e(t('events.total', language))}: {len(sheet.rows)}"
    return f"""<!doctype html>
<html lang="{e(language)}"><head><meta charset="utf-8">
<title>{e(title)}</title>
<style>
@page {{ size: A4 landscape; margin: 12mm; }}
body {{ font-family: "Noto Sans Georgian", "DejaVu Sans", Arial, sans-serif; font-size: 11pt; }}
h1 {{ font-size: 15pt; margin: 0 0 4px; }}
p.sub {{ margin: 0 0 10px; color: #333; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #444; padding: 3px 5px; text-align: left; vertical-align: top; }}
th {{ background: #eee; }}
td.sig, th.sig {{ width: 22%; }}
tr {{ page-break-inside: avoid; }}
.totals {{ width: auto; display: inline-table; margin: 12px 16px 0 0; }}
caption {{ font-weight: bold; text-align: left; }}
</style></head><body>
<h1>{e(title)}</h1>
<p class="sub">{e(subtitle)}</p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<p><strong>{total_line}</strong></p>
{totals}
</body></html>
"""


@dataclass(frozen=True)
class Quorum:
    formal_total: int
    needed: int
    expected: int  # formal members answering Going (seated)
    present: int  # formal members checked in
    sectors_expected: dict[str, int]
    sectors_present: dict[str, int]

    @property
    def expected_ok(self) -> bool:
        return self.formal_total > 0 and self.expected >= self.needed

    @property
    def present_ok(self) -> bool:
        return self.formal_total > 0 and self.present >= self.needed

    def over_limit(self, present: bool = True) -> list[str]:
        """Sectors above 49% of the formal members present (or expected)."""
        split = self.sectors_present if present else self.sectors_expected
        total = sum(split.values())
        return [s for s, n in split.items() if total and n / total > LEADER_MAX_SECTOR_SHARE]


def quorum_needed(total: int, share: float, strict: bool) -> int:
    """Strict: more than `share` of `total`; else at least `share` of it."""
    if strict:
        return math.floor(total * share + 1e-9) + 1
    return math.ceil(total * share - 1e-9)


async def assembly_quorum(*, session: AsyncSession, event: Event, settings: Settings) -> Quorum:
    total = (
        await session.execute(
            select(func.count()).where(
                col(Member.is_lag_member).is_(True),
                col(Member.status) == MemberStatus.ACTIVE,
                col(Member.is_simulated).is_(False),
            )
        )
    ).scalar_one()
    people = [a for a in await attendees(session=session, event=event) if a.member.is_lag_member]
    expected = [a for a in people if a.status == "going" and a.rsvp.answer == Answer.GOING]
    present = [a for a in people if a.rsvp.checked_in_at is not None]
    return Quorum(
        formal_total=int(total),
        needed=quorum_needed(int(total), settings.assembly_quorum, settings.assembly_quorum_strict),
        expected=len(expected),
        present=len(present),
        sectors_expected=dict(Counter(a.member.sector or "unknown" for a in expected)),
        sectors_present=dict(Counter(a.member.sector or "unknown" for a in present)),
    )
