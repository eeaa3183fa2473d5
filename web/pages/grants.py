"""Grant calls on the web: the calls with their phases and funnel, the applicants with their
stage (moved with models.grants_applicants.set_stage, the applicant told as /applicants does),
the awarded amount and co-financing of a funded applicant (asked right after "funded", with
models.grants_office.record_award and its warnings, as in Telegram), the call's totals, and
the two CSVs (the secretariat's list and the donor report without personal data). Applicants
no channel reaches are marked "tell in person"; paper applications are added from the call's
page while it takes interest (web/pages/grant_paper.py).

Calls are created, edited, published, closed and cancelled in web/pages/grant_forms.py (and
with /newgrant, /editgrant and the call's card in Telegram).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.i18n import t
from bot.roles import Access
from handlers.grants_notify import notify_stage
from models.base import utcnow
from models.communities import list_communities
from models.grants import PHASES, GrantStateError, GrantStatus, get_call, list_calls
from models.grants_applicants import (
    ACTIVE,
    Stage,
    allowed_next,
    applicants_of,
    get_applicant,
    set_stage,
)
from models.grants_input import MAX_AMOUNT, GrantInputError
from models.grants_labels import dimension_label, group_label, phase_label, stage_label
from models.grants_office import award_warnings, parse_gel, reachable, record_award
from models.grants_reports import DIMENSIONS, applicants_csv, counts_csv, gel, grant_counts
from models.members import Member
from web.forms import acting_member, on_behalf
from web.guard import Staff, audit, page, runtime
from web.pages import grant_paper
from web.render import error_page, render

ALL = tuple(GrantStatus)


@page(Access.BOARD)
async def grants_page(request: Request, staff: Staff) -> Response:
    async with runtime(request).db.session() as session:
        calls = await list_calls(session=session, statuses=ALL, limit=100)
        rows = [(c, (await grant_counts(session=session, call=c)).total) for c in calls]
    return await render(request, staff, "grants.html", rows=rows, now=utcnow(),
                        phase_label=phase_label, t_member=t)  # fmt: skip


@page(Access.BOARD)
async def grant_page(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=request.path_params["grant_id"])
        if call is None:
            return await error_page(request, staff, 404, "errors.not_found")
        assert call.id is not None
        counts = await grant_counts(session=session, call=call)
        people = [(a, m) for a, m in await applicants_of(session=session, grant_id=call.id)
                  if not m.is_simulated]  # fmt: skip
        active = sum(a.stage in ACTIVE for a, _ in people)  # told if the call is cancelled
        communities = {c.id: c for c in await list_communities(session=session) if c.id}
    if people:  # applicants' names: a view of personal data, logged
        await audit(request, staff, "grant.applicants_viewed", call.code, {"count": len(people)})
    ages = (rt.settings.youth_min_age, rt.settings.youth_max_age)
    lang = staff.language
    rows: list[tuple[Any, Member, list[str]]] = [(a, m, allowed_next(call, a)) for a, m in people]
    breakdowns = [
        (dimension_label(d, lang),
         [(group_label(d, g, lang, communities, ages), f) for g, f in counts.breakdown(d)])
        for d in DIMENSIONS
    ]  # fmt: skip
    award_for, warnings = _award_notice(request, people, call)
    return await render(
        request, staff, "grant.html", call=call, counts=counts, rows=rows, phases=PHASES,
        breakdowns=breakdowns, stage_label=stage_label, phase_label=phase_label, t_member=t,
        done=request.query_params.get("done"), error=request.query_params.get("error"),
        active=active, award_for=award_for, warnings=warnings, gel=gel, funded=Stage.FUNDED,
        max_amount=MAX_AMOUNT, reachable=reachable, paper=call.accepts_interest(utcnow()),
    )  # fmt: skip


def _award_notice(
    request: Request, people: list[tuple[Any, Member]], call: Any
) -> tuple[int | None, list[tuple[str, dict[str, Any]]]]:
    """The applicant whose amount was just asked for or recorded, and the warnings of what was
    recorded (computed again from the saved amounts, never taken from the URL)."""
    wanted = request.query_params.get("a", "")
    found = next((a for a, _ in people if wanted.isdigit() and a.id == int(wanted)), None)
    if found is None:
        return None, []
    warnings: list[tuple[str, dict[str, Any]]] = []
    if request.query_params.get("done") == "awarded" and found.awarded_amount is not None:
        checked = award_warnings(call, found.awarded_amount, found.cofinancing_amount or 0)
        values = {"low": gel(call.min_amount), "high": gel(call.max_amount),
                  "share": checked.share, "pct": call.cofinancing_pct}  # fmt: skip
        warnings = [(key, values) for key in checked.keys]
    return found.id, warnings


@page(Access.SECRETARIAT)
async def move_applicant(request: Request, staff: Staff) -> Response:
    rt, now = runtime(request), utcnow()
    grant_id = request.path_params["grant_id"]
    applicant_id = request.path_params["applicant_id"]
    stage, expected = staff.field("stage", 20), staff.field("expected", 20)
    notify = staff.field("notify") == "on"
    back = f"/admin/grants/{grant_id}"
    try:
        async with rt.db.session() as session:
            applicant = await get_applicant(session=session, applicant_id=applicant_id)
            call = await get_call(session=session, grant_id=grant_id, lock=True)
            if applicant is None or call is None or applicant.grant_id != call.id:
                return await error_page(request, staff, 404, "errors.not_found")
            person = await session.get(Member, applicant.member_id)
            actor = await acting_member(session, staff)
            await set_stage(session=session, call=call, applicant=applicant, stage=stage,
                            actor=actor, now=now, expected=expected or None)  # fmt: skip
            await on_behalf(session, staff, "grant.stage", f"grant:{grant_id}", actor)
            reached = False
            if notify and person is not None:
                reached = await notify_stage(rt, session, call, applicant, person, now)
    except GrantStateError as exc:
        return RedirectResponse(f"{back}?error={exc.key}", status_code=303)
    rt.delivery.wake()
    done = "notified" if reached else ("unreachable" if notify else "recorded")
    ask = f"&a={applicant_id}" if stage == Stage.FUNDED else ""  # now the amount is asked
    return RedirectResponse(f"{back}?done={done}{ask}#a{applicant_id}", status_code=303)


@page(Access.SECRETARIAT)
async def award(request: Request, staff: Staff) -> Response:
    """The awarded grant and co-financing (GEL) of a funded applicant: record_award, saved even
    outside the call's terms, with its warnings shown (as the Telegram card does)."""
    rt, now = runtime(request), utcnow()
    grant_id = request.path_params["grant_id"]
    applicant_id = request.path_params["applicant_id"]
    back = f"/admin/grants/{grant_id}"
    try:
        amount = parse_gel(staff.field("amount", 40))
        cofinancing = parse_gel(staff.field("cofinancing", 40) or "0", allow_zero=True)
        async with rt.db.session() as session:
            applicant = await get_applicant(session=session, applicant_id=applicant_id)
            call = await get_call(session=session, grant_id=grant_id)
            if applicant is None or call is None or applicant.grant_id != call.id:
                return await error_page(request, staff, 404, "errors.not_found")
            actor = await acting_member(session, staff)
            await record_award(session=session, call=call, applicant=applicant, amount=amount,
                               cofinancing=cofinancing, actor=actor, now=now)  # fmt: skip
            await on_behalf(session, staff, "grant.award", f"grant:{grant_id}", actor)
    except (GrantInputError, GrantStateError) as exc:
        return RedirectResponse(
            f"{back}?error={exc.key}&a={applicant_id}#a{applicant_id}", status_code=303
        )
    return RedirectResponse(f"{back}?done=awarded&a={applicant_id}#a{applicant_id}",
                            status_code=303)  # fmt: skip


@page(Access.SECRETARIAT)
async def export_applicants(request: Request, staff: Staff) -> Response:
    return await _export(request, staff, personal=True)


@page(Access.SECRETARIAT)
async def export_counts(request: Request, staff: Staff) -> Response:
    return await _export(request, staff, personal=False)


async def _export(request: Request, staff: Staff, *, personal: bool) -> Response:
    rt = runtime(request)
    ages = (rt.settings.youth_min_age, rt.settings.youth_max_age)
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=request.path_params["grant_id"])
        if call is None:
            return await error_page(request, staff, 404, "errors.not_found")
        communities = {c.id: c for c in await list_communities(session=session) if c.id}
        if personal:
            body = await applicants_csv(
                session=session, call=call, language=staff.language,
                communities=communities, ages=ages, tz=rt.settings.tz,
            )  # fmt: skip
        else:
            counts = await grant_counts(session=session, call=call)
            body = counts_csv(call, counts, language=staff.language, communities=communities,
                              ages=ages)  # fmt: skip
    kind = "applicants" if personal else "counts"
    await audit(request, staff, f"grant.export_{kind}", call.code)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{call.code}-{kind}.csv"'},
    )


def routes() -> list[BaseRoute]:
    base = "/admin/grants/{grant_id:int}"
    return [
        Route("/admin/grants", grants_page, methods=["GET"]),
        Route(base, grant_page, methods=["GET"]),
        Route(base + "/applicants/{applicant_id:int}/stage", move_applicant, methods=["POST"]),
        Route(base + "/applicants/{applicant_id:int}/award", award, methods=["POST"]),
        Route(base + "/applicants.csv", export_applicants, methods=["GET"]),
        Route(base + "/counts.csv", export_counts, methods=["GET"]),
        *grant_paper.routes(),
    ]
