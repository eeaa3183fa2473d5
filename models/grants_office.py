"""Paper applications and awarded amounts: what the secretariat records for an applicant.

A villager who brings an idea to the office on paper is added to the call by the secretariat
(/applicants G3 → "Add a paper application"): an existing member found by name or phone, or a
new person (name, phone if any, community, language) created from the paper form — recorded as
channel "office" under the same rules as "I'm interested" (models.grants_applicants
.register_interest: one per member per call, an applicant type the call accepts, while the
call takes interest) and audited with the secretariat member as the actor. From then on they
are an applicant like any other; one without a phone or Telegram is told in person.

When an applicant is funded the secretariat records the awarded amount and the applicant's
co-financing (GEL). An amount outside the call's range, or a co-financing share below the
call's percentage, is saved with a warning (the Board may have decided so); totals per call
are in models.grants_reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import record_audit
from models.communities import Community
from models.grants import GrantCall
from models.grants_applicants import GrantApplicant, InterestOutcome, Stage, register_interest
from models.grants_input import MAX_AMOUNT, GrantInputError, GrantStateError
from models.member_fields import FieldError, parse_phone, validate_name
from models.members import Consent, Member, member_by_phone

OFFICE = "office"  # the channel of a paper application
PAPER_FORM = "grant-office"  # the consent's text version: the paper application form


def check_name(text: str) -> str:
    try:
        return validate_name(text)
    except FieldError as exc:
        raise GrantInputError("grants.err_office_name") from exc


async def check_phone(*, session: AsyncSession, text: str) -> str:
    """A mobile number nobody has yet (an existing member is found by search instead)."""
    try:
        phone = parse_phone(text)
    except FieldError as exc:
        raise GrantInputError("grants.err_office_phone") from exc
    other = await member_by_phone(session=session, phone=phone)
    if other is not None:
        raise GrantInputError("grants.err_office_phone_taken", who=f"#{other.id} {other.name}")
    return phone


async def office_person(
    *,
    session: AsyncSession,
    name: str,
    phone: str | None,
    community: Community,
    language: str,
    actor: Member | None,
    now: datetime,
    actor_label: str = "",
) -> Member:
    """A person known from a paper application form: a member without Telegram, reached by SMS
    when they gave a phone, told in person otherwise. The form is their data consent (paper);
    announcements need their own opt-in, so none is recorded. `actor` is the secretariat
    member; a stand-alone web account has none and is named by `actor_label` (`web:<id>`)."""
    member = Member(
        name=check_name(name),
        phone=await check_phone(session=session, text=phone) if phone else None,
        phone_verified=False,
        language=language,
        community_id=community.id,
        joined_via=OFFICE,
        consent_data_at=now,
        consent_announcements=False,
        created_at=now,
        updated_at=now,
    )
    session.add(member)
    await session.flush()
    assert member.id is not None
    session.add(
        Consent(member_id=member.id, kind="data", given=True, channel="paper",
                text_version=PAPER_FORM, at=now,
                details={"by": actor.id if actor else _label(actor, actor_label)})
    )  # fmt: skip
    await record_audit(
        session=session, action="member.office_create",
        actor_member_id=actor.id if actor else None,
        actor_label=_label(actor, actor_label), target=f"member:{member.id}",
        details={"phone": phone is not None},
    )  # fmt: skip
    return member


async def home_village(
    *, session: AsyncSession, member: Member, community: Community | None = None
) -> str:
    """Where a paper application comes from: the member's village, else their community's
    (or the one the secretariat picked) Georgian name, else nothing."""
    if member.village:
        return member.village
    home = community or (
        await session.get(Community, member.community_id) if member.community_id else None
    )
    return home.name("ka") if home else ""


async def register_office(
    *,
    session: AsyncSession,
    call: GrantCall,
    member: Member,
    applicant_type: str,
    idea_title: str,
    village: str,
    actor: Member | None,
    now: datetime,
    youth_ages: tuple[int, int] = (14, 29),
    community_id: int | None = None,
    actor_label: str = "",
) -> InterestOutcome:
    """A paper application: interest registered on the member's behalf (channel "office").
    `actor` None with `actor_label`: a stand-alone web account entered it (never the member)."""
    if member.is_simulated:
        raise GrantStateError("grants.err_not_member")
    outcome = await register_interest(
        session=session, call=call, member=member, applicant_type=applicant_type,
        idea_title=idea_title, village=village, channel=OFFICE, now=now, youth_ages=youth_ages,
        actor=actor, actor_label="" if actor else _label(actor, actor_label),
    )  # fmt: skip
    if outcome.applicant.community_id is None and community_id is not None:
        outcome.applicant.community_id = community_id
        session.add(outcome.applicant)
    return outcome


def _label(actor: Member | None, actor_label: str) -> str:
    return actor_label or (f"member:{actor.id}" if actor else "system")


def reachable(member: Member) -> bool:
    """Notices can reach them (else the secretariat tells them in person)."""
    return member.is_active and (member.telegram_reachable() or member.sms_reachable())


# -- awarded amounts ----------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s,'’_]")


def parse_gel(text: str, *, allow_zero: bool = False) -> int:
    """`12000`, `12 000`, `12,000 GEL`, `₾12000` → 12000."""
    cleaned = text.strip().casefold()
    for word in ("gel", "ლარი", "₾", "lari", "лари", "лар"):
        cleaned = cleaned.replace(word, "")
    cleaned = _SEPARATORS.sub("", cleaned)
    if not cleaned.isdigit():
        raise GrantInputError("grants.err_award_format")
    value = int(cleaned)
    if value > MAX_AMOUNT or (value == 0 and not allow_zero):
        raise GrantInputError("grants.err_award_bounds", limit=MAX_AMOUNT)
    return value


@dataclass
class AwardWarnings:
    outside_range: bool = False
    low_share: bool = False
    share: int = 0  # the applicant's own share of the project, percent
    keys: list[str] = field(default_factory=list)


def award_warnings(call: GrantCall, amount: int, cofinancing: int) -> AwardWarnings:
    """Outside the call's range, or co-financing below the call's percentage of the project
    (grant + co-financing)."""
    share = round(100 * cofinancing / (amount + cofinancing)) if amount + cofinancing else 0
    found = AwardWarnings(share=share)
    if not call.min_amount <= amount <= call.max_amount:
        found.outside_range = True
        found.keys.append("grants.award_outside_range")
    if cofinancing * 100 < call.cofinancing_pct * (amount + cofinancing):
        found.low_share = True
        found.keys.append("grants.award_low_share")
    return found


async def record_award(
    *,
    session: AsyncSession,
    call: GrantCall,
    applicant: GrantApplicant,
    amount: int,
    cofinancing: int,
    actor: Member | None,
    now: datetime,
) -> AwardWarnings:
    """Record a funded applicant's grant and co-financing (GEL); audited `grant.award`.
    Saved even outside the call's terms — the warnings say what to double-check."""
    if applicant.stage != Stage.FUNDED:
        raise GrantStateError("grants.err_award_not_funded")
    if amount <= 0 or amount > MAX_AMOUNT or cofinancing < 0 or cofinancing > MAX_AMOUNT:
        raise GrantInputError("grants.err_award_bounds", limit=MAX_AMOUNT)
    warnings = award_warnings(call, amount, cofinancing)
    before = (applicant.awarded_amount, applicant.cofinancing_amount)
    applicant.awarded_amount, applicant.cofinancing_amount = amount, cofinancing
    applicant.updated_at = now
    session.add(applicant)
    await session.flush()
    await record_audit(
        session=session, action="grant.award", actor_member_id=actor.id if actor else None,
        actor_label=f"member:{actor.id}" if actor else "system",
        target=f"grant:{applicant.grant_id}:applicant:{applicant.id}",
        details={"amount": amount, "cofinancing": cofinancing, "before": list(before),
                 "warnings": warnings.keys},
    )  # fmt: skip
    return warnings
