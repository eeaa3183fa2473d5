"""Creating and editing a grant call on the web, publishing, closing and cancelling it — the
same checks and notices as /newgrant, /editgrant and the call's card in Telegram: models.grants
(create_call, GrantDraft, mark_closed), models.grants_input (every typed value),
models.grants_changes.apply_changes, and handlers.grants_notify (what changed to the applicants
still in the running, newly linked info sessions published, a wider audience announced,
publishing announced, cancelling told to every active applicant with its info sessions still to
come cancelled: cancel_and_notify). Closing and cancelling need the confirmation ticked, as in
Telegram they need the second button.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.i18n import LANGUAGES
from bot.roles import Access
from handlers.grants_notify import (
    announce,
    cancel_and_notify,
    notify_change,
    publish_and_announce,
    publish_sessions,
)
from handlers.grants_render import error_text
from models.audiences import Audience, select_members
from models.base import utcnow
from models.grants import (
    APPLICANT_TYPES,
    PHASES,
    REQUIRED_PHASES,
    GrantCall,
    GrantDraft,
    GrantInputError,
    GrantStateError,
    GrantStatus,
    create_call,
    get_call,
    info_sessions,
    mark_closed,
)
from models.grants_changes import NOTIFYING, apply_changes
from models.grants_input import (
    load_priorities,
    parse_amount_range,
    parse_event_codes,
    parse_percent,
    parse_url,
)
from models.grants_labels import phase_label, type_label
from web.forms import (
    AudienceNote,
    acting_member,
    audience_button,
    audience_choices,
    audience_from_form,
    local_input,
    on_behalf,
    parse_local,
)
from web.guard import Staff, page, runtime
from web.render import error_page, render


def _amount(low: int, high: int) -> str:
    return f"{low}-{high}" if low != high else str(low)


def values_of(call: GrantCall, sessions: list[int], tz: tzinfo) -> dict[str, Any]:
    """What the edit form shows for a call."""
    values: dict[str, Any] = {
        "priorities": list(call.priorities),
        "applicant_types": list(call.applicant_types),
        "amount": _amount(call.min_amount, call.max_amount),
        "cofinancing": str(call.cofinancing_pct),
        "manual_url": call.manual_url or "",
        "sessions": ", ".join(f"E{i}" for i in sessions),
    }
    for lang in LANGUAGES:
        values[f"title_{lang}"] = call.title.get(lang, "")
        values[f"description_{lang}"] = call.description.get(lang, "")
    for name in PHASES:
        values[f"phase_{name}"] = local_input(call.phase(name), tz)
    return values


def values_from(staff: Staff) -> dict[str, Any]:
    """What was typed, kept as typed (a refused form comes back with it)."""
    values: dict[str, Any] = {
        "priorities": staff.fields("priorities"),
        "applicant_types": [v for v in staff.fields("applicant_types") if v in APPLICANT_TYPES],
        "amount": staff.field("amount", 60),
        "cofinancing": staff.field("cofinancing", 10),
        "manual_url": staff.field("manual_url", 600),
        "sessions": staff.field("sessions", 200),
    }
    for lang in LANGUAGES:
        values[f"title_{lang}"] = staff.field(f"title_{lang}", 300)
        values[f"description_{lang}"] = staff.field(f"description_{lang}", 3500)
    for name in PHASES:
        values[f"phase_{name}"] = staff.field(f"phase_{name}", 20)
    return values


def _phases(values: dict[str, Any], tz: tzinfo, keep: GrantCall | None) -> dict[str, Any]:
    """Each phase as a datetime (None: empty). A value shown unchanged keeps the stored moment
    (the form has minutes only), so an untouched phase is not a change."""
    phases: dict[str, datetime | None] = {}
    for name in PHASES:
        text = values[f"phase_{name}"]
        if keep is not None and text and text == local_input(keep.phase(name), tz):
            phases[name] = keep.phase(name)
            continue
        moment = parse_local(text, tz) if text else None
        if text and moment is None:
            raise GrantInputError("grants.err_date_format")
        phases[name] = moment
    return phases


def parsed(values: dict[str, Any], audience: Audience, tz: tzinfo, keep: GrantCall | None
           ) -> tuple[dict[str, Any], list[int]]:  # fmt: skip
    """The form as GrantCall fields and info-session event ids, through models.grants_input
    (GrantInputError with the same catalog keys as in Telegram)."""
    low, high = parse_amount_range(values["amount"] or "")
    fields: dict[str, Any] = {
        "title": {k: values[f"title_{k}"] for k in LANGUAGES if values[f"title_{k}"]},
        "description": {
            k: values[f"description_{k}"] for k in LANGUAGES if values[f"description_{k}"]
        },
        "priorities": list(values["priorities"]),
        "applicant_types": list(values["applicant_types"]),
        "min_amount": low,
        "max_amount": high,
        "cofinancing_pct": parse_percent(values["cofinancing"] or "0"),
        "manual_url": parse_url(values["manual_url"]) if values["manual_url"] else None,
        "audience": audience.to_json(),
        **_phases(values, tz, keep),
    }
    sessions = parse_event_codes(values["sessions"]) if values["sessions"] else []
    return fields, sessions


async def _form(
    request: Request, staff: Staff, *, call: GrantCall | None, values: dict[str, Any],
    audience: Audience, error: str | None = None, status: int = 200,
    note: AudienceNote | None = None,
) -> Response:  # fmt: skip
    rt = runtime(request)
    lang = staff.language
    async with rt.db.session() as session:
        choices = await audience_choices(session, rt.settings)
        reach = len(await select_members(
            session=session, audience=audience, now=utcnow(),
            youth_min=rt.settings.youth_min_age, youth_max=rt.settings.youth_max_age,
        ))  # fmt: skip
    priorities = [(code, names.get(lang) or names.get("ka") or code)
                  for code, names in load_priorities()]  # fmt: skip
    return await render(
        request, staff, "grant_form.html", status=status, call=call, v=values, aud=audience,
        reach=reach, error=error, langs=LANGUAGES, aud_note=note, **choices,
        priorities=priorities, types=[(c, type_label(c, lang)) for c in APPLICANT_TYPES],
        phases=[(n, phase_label(n, lang), n in REQUIRED_PHASES) for n in PHASES],
    )  # fmt: skip


@page(Access.SECRETARIAT)
async def new_grant_page(request: Request, staff: Staff) -> Response:
    values = values_from_empty()
    return await _form(request, staff, call=None, values=values, audience=Audience())


def values_from_empty() -> dict[str, Any]:
    values: dict[str, Any] = {"priorities": [], "applicant_types": [], "amount": "",
                              "cofinancing": "0", "manual_url": "", "sessions": ""}  # fmt: skip
    values.update({f"{f}_{lang}": "" for f in ("title", "description") for lang in LANGUAGES})
    values.update({f"phase_{name}": "" for name in PHASES})
    return values


@page(Access.SECRETARIAT)
async def create_grant(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    tz, now = rt.settings.tz, utcnow()
    values, audience = values_from(staff), audience_from_form(staff)
    async with rt.db.session() as session:
        note = await audience_button(session, staff)
    if note is not None:  # "Use" or "Save as…": the form again, with that audience
        return await _form(request, staff, call=None, values=values, audience=note.audience,
                           note=note, status=200 if note.ok else 400)  # fmt: skip
    try:
        fields, sessions = parsed(values, audience, tz, None)
        for name in REQUIRED_PHASES:
            if fields[name] is None:
                raise GrantInputError("grants.err_phase_missing", phase=name)
        draft = GrantDraft(**fields, info_sessions=sessions)
        async with rt.db.session() as session:
            actor = await acting_member(session, staff)
            call = await create_call(session=session, draft=draft, actor=actor, now=now)
            await on_behalf(session, staff, "grant.create", f"grant:{call.id}", actor)
    except GrantInputError as exc:
        return await _form(request, staff, call=None, values=values, audience=audience,
                           error=error_text(exc, staff.language, tz), status=400)  # fmt: skip
    return RedirectResponse(f"/admin/grants/{call.id}?done=created", status_code=303)


async def _call_or_404(request: Request, staff: Staff) -> tuple[GrantCall, list[int]] | Response:
    async with runtime(request).db.session() as session:
        call = await get_call(session=session, grant_id=request.path_params["grant_id"])
        if call is None:
            return await error_page(request, staff, 404, "errors.not_found")
        linked = [e.id for e in await info_sessions(session=session, call=call) if e.id]
    return call, linked


@page(Access.SECRETARIAT)
async def edit_grant_page(request: Request, staff: Staff) -> Response:
    found = await _call_or_404(request, staff)
    if isinstance(found, Response):
        return found
    call, linked = found
    if call.status not in (GrantStatus.DRAFT, GrantStatus.PUBLISHED):
        return RedirectResponse(
            f"/admin/grants/{call.id}?error=grants.err_is_{call.status}", status_code=303
        )
    values = values_of(call, linked, runtime(request).settings.tz)
    return await _form(request, staff, call=call, values=values, audience=call.audience_filter())


@page(Access.SECRETARIAT)
async def edit_grant(request: Request, staff: Staff) -> Response:
    """Save; on a published call tell whom it concerns, as /editgrant does."""
    rt = runtime(request)
    tz, now = rt.settings.tz, utcnow()
    grant_id = request.path_params["grant_id"]
    values, audience = values_from(staff), audience_from_form(staff)
    async with rt.db.session() as session:
        note = await audience_button(session, staff)
        shown = await get_call(session=session, grant_id=grant_id) if note else None
    if note is not None:  # "Use" or "Save as…": the form again, with that audience
        if shown is None:
            return await error_page(request, staff, 404, "errors.not_found")
        return await _form(request, staff, call=shown, values=values, audience=note.audience,
                           note=note, status=200 if note.ok else 400)  # fmt: skip
    told = newcomers = 0
    try:
        async with rt.db.session() as session:
            call = await get_call(session=session, grant_id=grant_id, lock=True)
            if call is None:
                return await error_page(request, staff, 404, "errors.not_found")
            fields, sessions = parsed(values, audience, tz, call)
            actor = await acting_member(session, staff)
            audience_before = dict(call.audience)
            changed = await apply_changes(
                session=session, call=call, changes=fields, actor=actor, now=now,
                info_session_ids=sessions,
            )  # fmt: skip
            if call.status == GrantStatus.PUBLISHED:
                if NOTIFYING & set(changed):
                    told = await notify_change(rt, session, call, changed, now)
                if "info_sessions" in changed:
                    await publish_sessions(rt, session, call, actor, now)
                if call.audience != audience_before:
                    newcomers = (await announce(rt, session, call, now))[1]
            if changed:
                await on_behalf(session, staff, "grant.edit", f"grant:{call.id}", actor)
    except (GrantInputError, GrantStateError) as exc:
        async with rt.db.session() as session:
            call = await get_call(session=session, grant_id=grant_id)
        return await _form(request, staff, call=call, values=values, audience=audience,
                           error=error_text(exc, staff.language, tz), status=400)  # fmt: skip
    rt.delivery.wake()
    done = "saved" if changed else "unchanged"
    return RedirectResponse(
        f"/admin/grants/{grant_id}?done={done}&told={told}&newcomers={newcomers}",
        status_code=303,
    )


@page(Access.SECRETARIAT)
async def publish_grant(request: Request, staff: Staff) -> Response:
    """draft → published, announced to its audience (its draft info sessions published too)."""
    rt, now = runtime(request), utcnow()
    grant_id = request.path_params["grant_id"]
    try:
        async with rt.db.session() as session:
            call = await get_call(session=session, grant_id=grant_id, lock=True)
            if call is None:
                return await error_page(request, staff, 404, "errors.not_found")
            actor = await acting_member(session, staff)
            _, reached = await publish_and_announce(rt, session, call, actor, now)
            await on_behalf(session, staff, "grant.publish", f"grant:{call.id}", actor)
    except (GrantInputError, GrantStateError) as exc:
        message = error_text(exc, staff.language, rt.settings.tz)
        found = await _call_or_404(request, staff)
        if isinstance(found, Response):
            return found
        return await _form(request, staff, call=found[0],
                           values=values_of(found[0], found[1], rt.settings.tz),
                           audience=found[0].audience_filter(), error=message,
                           status=400)  # fmt: skip
    rt.delivery.wake()
    return RedirectResponse(f"/admin/grants/{grant_id}?done=published&told={reached}",
                            status_code=303)  # fmt: skip


@page(Access.SECRETARIAT)
async def close_grant(request: Request, staff: Staff) -> Response:
    """published → closed: the competition is over, no more reminders (confirmed)."""
    return await _end(request, staff, cancel=False)


@page(Access.SECRETARIAT)
async def cancel_grant(request: Request, staff: Staff) -> Response:
    """draft | published → cancelled: every active applicant told (confirmed)."""
    return await _end(request, staff, cancel=True)


async def _end(request: Request, staff: Staff, *, cancel: bool) -> Response:
    rt, now = runtime(request), utcnow()
    grant_id = request.path_params["grant_id"]
    back = f"/admin/grants/{grant_id}"
    if staff.field("confirm", 5) != "yes":
        return RedirectResponse(f"{back}?error=confirm", status_code=303)
    told = sessions = 0
    try:
        async with rt.db.session() as session:
            call = await get_call(session=session, grant_id=grant_id, lock=True)
            if call is None:
                return await error_page(request, staff, 404, "errors.not_found")
            actor = await acting_member(session, staff)
            if cancel:
                told, sessions = await cancel_and_notify(rt, session, call, actor, now)
            else:
                await mark_closed(session=session, call=call, actor=actor, now=now)
            action = "grant.cancel" if cancel else "grant.close"
            await on_behalf(session, staff, action, f"grant:{call.id}", actor)
    except GrantStateError as exc:
        return RedirectResponse(f"{back}?error={exc.key}", status_code=303)
    rt.delivery.wake()
    if not cancel:
        return RedirectResponse(f"{back}?done=closed", status_code=303)
    done = "cancelled_sessions" if sessions else "cancelled"
    return RedirectResponse(f"{back}?done={done}&told={told}&sessions={sessions}",
                            status_code=303)  # fmt: skip


def routes() -> list[BaseRoute]:
    base = "/admin/grants/{grant_id:int}"
    return [
        Route("/admin/grants/new", new_grant_page, methods=["GET"]),
        Route("/admin/grants/new", create_grant, methods=["POST"]),
        Route(base + "/edit", edit_grant_page, methods=["GET"]),
        Route(base + "/edit", edit_grant, methods=["POST"]),
        Route(base + "/publish", publish_grant, methods=["POST"]),
        Route(base + "/close", close_grant, methods=["POST"]),
        Route(base + "/cancel", cancel_grant, methods=["POST"]),
    ]
