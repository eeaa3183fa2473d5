"""Paper applications on the web: someone brought a project idea to the office on paper, and
the secretariat adds them to the call from its page — as "➕ Paper application" under
/applicants G3 does in Telegram (handlers/grants_office.py), with the same model calls:
models.grants_office.office_person for a new person (name, phone or none, community,
language; the paper form is their data consent) and register_office (register_interest's
rules: one per member per call, only the call's applicant types, while the call takes
interest), channel "office". An existing member is found by name or phone (active, not
simulated). A stand-alone account has no member: the model rows name the account
(`web:<id>`) and a `web.acted` row says which account did it.
"""

from __future__ import annotations

from datetime import tzinfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.i18n import LANGUAGES
from bot.roles import Access
from handlers.grants_render import error_text
from models.base import utcnow
from models.communities import Community, list_communities
from models.grants import GrantCall, GrantInputError, GrantStateError, get_call
from models.grants_applicants import applicant_of
from models.grants_input import check_idea_title
from models.grants_labels import stage_label, type_label
from models.grants_office import home_village, office_person, register_office
from models.members import Member, MemberStatus
from models.membership import find_members
from web.forms import acting_member, on_behalf
from web.guard import Staff, page, runtime
from web.i18n import gettext
from web.render import error_page, render

MATCHES = 20
NEW = "new"
# Refusals whose member-facing wording speaks to the applicant: said to the staff instead.
STAFF_WORDING = {
    "grants.err_details_locked": "grants.paper_err_duplicate",
    "grants.err_not_member": "grants.paper_err_person",
    "grants.err_village": "grants.paper_err_community",
}


def _values(staff: Staff | None) -> dict[str, str]:
    """What the form holds (as typed, so a refused form comes back with it)."""
    if staff is None or staff.form is None:
        return {"who": "", "name": "", "phone": "", "community_id": "", "language": "ka",
                "applicant_type": "", "idea": "", "q": ""}  # fmt: skip
    return {
        "who": staff.field("who", 20),
        "name": staff.field("name", 200),
        "phone": staff.field("phone", 40),
        "community_id": staff.field("community_id", 10),
        "language": staff.field("language", 5),
        "applicant_type": staff.field("applicant_type", 40),
        "idea": staff.field("idea", 400),
        "q": staff.field("q", 100),
    }


async def _search(request: Request, call: GrantCall, q: str) -> list[tuple[Member, str | None]]:
    """Active, real members matching a name or phone, each with their stage in this call."""
    if not q:
        return []
    assert call.id is not None
    async with runtime(request).db.session() as session:
        found = [
            m for m in await find_members(session=session, who=q)
            if m.status == MemberStatus.ACTIVE and not m.is_simulated
        ][:MATCHES]  # fmt: skip
        rows: list[tuple[Member, str | None]] = []
        for member in found:
            assert member.id is not None
            applicant = await applicant_of(session=session, grant_id=call.id, member_id=member.id)
            rows.append((member, applicant.stage if applicant else None))
    return rows


async def _form(
    request: Request,
    staff: Staff,
    call: GrantCall,
    values: dict[str, str],
    error: str = "",
    status: int = 200,
) -> Response:
    async with runtime(request).db.session() as session:
        communities = await list_communities(session=session)
    found = await _search(request, call, values["q"])
    lang = staff.language
    return await render(
        request, staff, "grant_paper.html", call=call, values=values, found=found,
        communities=communities, languages_all=LANGUAGES, error=error,
        open_=call.accepts_interest(utcnow()), stage_label=stage_label,
        types=[(code, type_label(code, lang)) for code in call.applicant_types],
        status=status,
    )  # fmt: skip


@page(Access.SECRETARIAT)
async def paper_page(request: Request, staff: Staff) -> Response:
    async with runtime(request).db.session() as session:
        call = await get_call(session=session, grant_id=request.path_params["grant_id"])
    if call is None:
        return await error_page(request, staff, 404, "errors.not_found")
    values = _values(None)
    values["q"] = request.query_params.get("q", "").strip()[:100]
    values["who"] = request.query_params.get("who", "")[:20]
    return await _form(request, staff, call, values)


def _refusal(exc: GrantInputError | GrantStateError, staff: Staff, call: GrantCall, tz: tzinfo,
             who: str, stage: str) -> str:  # fmt: skip
    """The refusal in the staff's words (the member-facing text where it fits them too)."""
    if exc.key == "grants.paper_err_who":
        return gettext(staff.language, exc.key)
    key = STAFF_WORDING.get(exc.key)
    if key is None:
        return error_text(exc, staff.language, tz)
    return gettext(staff.language, key, code=call.code, who=who,
                   stage=stage_label(stage, staff.language) if stage else "")  # fmt: skip


@page(Access.SECRETARIAT)
async def add_paper(request: Request, staff: Staff) -> Response:
    """Create the person if new, then register the paper application (channel "office")."""
    rt, now = runtime(request), utcnow()
    grant_id = request.path_params["grant_id"]
    values = _values(staff)
    who, stage = "", ""
    try:
        idea = check_idea_title(values["idea"])
        if not idea:
            raise GrantInputError("grants.err_office_idea")
        language = values["language"] if values["language"] in LANGUAGES else "ka"
        async with rt.db.session() as session:
            call = await get_call(session=session, grant_id=grant_id, lock=True)
            if call is None:
                return await error_page(request, staff, 404, "errors.not_found")
            community = (
                await session.get(Community, int(values["community_id"]))
                if values["community_id"].isdigit()
                else None
            )
            actor = await acting_member(session, staff)
            if values["who"] == NEW:
                if community is None:
                    raise GrantInputError("grants.err_village")
                person = await office_person(
                    session=session, name=values["name"], phone=values["phone"] or None,
                    community=community, language=language, actor=actor, now=now,
                    actor_label=staff.actor_label,
                )  # fmt: skip
            elif values["who"].isdigit():
                found = await session.get(Member, int(values["who"]))
                if found is None or found.status != MemberStatus.ACTIVE or found.is_simulated:
                    raise GrantStateError("grants.err_not_member")
                person = found
                assert person.id is not None and call.id is not None
                before = await applicant_of(session=session, grant_id=call.id, member_id=person.id)
                who, stage = f"#{person.id} {person.name or '—'}", before.stage if before else ""
            else:
                raise GrantInputError("grants.paper_err_who")
            village = await home_village(session=session, member=person, community=community)
            outcome = await register_office(
                session=session, call=call, member=person,
                applicant_type=values["applicant_type"], idea_title=idea, village=village,
                actor=actor, now=now,
                youth_ages=(rt.settings.youth_min_age, rt.settings.youth_max_age),
                community_id=community.id if community else None, actor_label=staff.actor_label,
            )  # fmt: skip
            await on_behalf(session, staff, "grant.office", f"grant:{call.id}", actor)
    except (GrantInputError, GrantStateError) as exc:
        async with rt.db.session() as session:
            shown = await get_call(session=session, grant_id=grant_id)
        if shown is None:
            return await error_page(request, staff, 404, "errors.not_found")
        message = _refusal(exc, staff, shown, rt.settings.tz, who, stage)
        return await _form(request, staff, shown, values, error=message, status=400)
    applicant_id = outcome.applicant.id
    done = "office_added" if outcome.created or outcome.restored else "office_updated"
    return RedirectResponse(
        f"/admin/grants/{grant_id}?done={done}&a={applicant_id}#a{applicant_id}", status_code=303
    )


def routes() -> list[BaseRoute]:
    base = "/admin/grants/{grant_id:int}/paper"
    return [
        Route(base, paper_page, methods=["GET"]),
        Route(base, add_paper, methods=["POST"]),
    ]
