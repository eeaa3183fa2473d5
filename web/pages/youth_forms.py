"""Youth initiatives created and edited on the web, with the youth capability's own rules
(models.youth: check_draft, propose_initiative, approve_proposal, set_initiative_text;
models.youth_changes.update_initiative through handlers.youth_notify.update_and_notify).

Create: the secretariat member writing it is its proposer and lead (as with /propose); with
"open for sign-ups now" (the default) it is approved at once — the same approve_proposal as
/proposals — otherwise it waits in the review queue like any proposal. Edit: the title and
description in every language (set_initiative_text, as /initiative_text does) and, while the
initiative is proposed, open or full, the team size, dates, community, skills wanted and
"non-youth helpers" (as /edit_initiative does: the team size never below the team, a larger
team promotes from the reserve list and those promoted are told, new dates are told to the
team, a date on a public holiday is saved with the scheduler's warning). One form, one
transaction: a refused value saves nothing. Every change is audited by the model functions
(a stand-alone account cannot edit: the rules name a member as the actor).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.i18n import LANGUAGES
from bot.roles import Access
from handlers.youth_notify import refusal, update_and_notify
from models.base import utcnow
from models.communities import list_communities
from models.holidays import holiday_warning
from models.youth import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    Initiative,
    InitiativeDraft,
    YouthRefused,
    approve_proposal,
    get_initiative,
    propose_initiative,
    set_initiative_text,
    skill_catalog,
    skill_label,
)
from models.youth_changes import EDITABLE
from web.forms import acting_member
from web.guard import Staff, page, runtime
from web.i18n import gettext
from web.render import error_page, render


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _values(staff: Staff) -> dict[str, Any]:
    values: dict[str, Any] = {
        "size": staff.field("size", 4),
        "deadline": staff.field("deadline", 10),
        "start": staff.field("start", 10),
        "community": staff.field("community", 6),
        "skills": [s for s in staff.fields("skills") if s in skill_catalog()],
        "skills_other": staff.field("skills_other", 200),
        "helpers": staff.field("helpers") == "on",
        "open_now": staff.field("open_now") == "on",
    }
    for lang in LANGUAGES:
        values[f"title_{lang}"] = staff.field(f"title_{lang}", MAX_TITLE + 1)
        values[f"description_{lang}"] = staff.field(f"description_{lang}", MAX_DESCRIPTION + 1)
    return values


def _draft(values: dict[str, Any], tz: Any) -> InitiativeDraft:
    """The form as /propose's draft: the deadline at the end of its day, the start at 10:00."""
    deadline, start = _day(values["deadline"]), _day(values["start"])
    if deadline is None or start is None:
        raise YouthRefused("youth.refused_deadline_past" if deadline is None
                           else "youth.refused_start_before_deadline")  # fmt: skip
    size = values["size"]
    community = values["community"]
    return InitiativeDraft(
        title={k: values[f"title_{k}"] for k in LANGUAGES if values[f"title_{k}"]},
        description={
            k: values[f"description_{k}"] for k in LANGUAGES if values[f"description_{k}"]
        },
        target_size=int(size) if size.isdigit() else 0,
        signup_deadline=datetime.combine(deadline, time(23, 59), tzinfo=tz),
        starts_at=datetime.combine(start, time(10, 0), tzinfo=tz),
        community_id=int(community) if community.isdigit() else None,
        skills=list(values["skills"]),
        skills_other=values["skills_other"],
        allows_non_youth=bool(values["helpers"]),
    )


async def _form(
    request: Request, staff: Staff, values: dict[str, Any], *, initiative: Any = None,
    error: str | None = None, status: int = 200,
) -> Response:  # fmt: skip
    async with runtime(request).db.session() as session:
        communities = await list_communities(session=session)
    lang = staff.language
    return await render(
        request, staff, "initiative_form.html", status=status, v=values, i=initiative,
        error=error, langs=LANGUAGES, community_list=communities,
        skills=[(code, skill_label(code, lang)) for code in skill_catalog()],
    )  # fmt: skip


def _(key: str, staff: Staff) -> str:
    """A staff-facing message from the web catalogs."""
    return gettext(staff.language, key)


def _refusal(exc: YouthRefused, language: str, code: str = "") -> str:
    """The member-facing refusal, statuses named and placeholders filled (as in Telegram)."""
    return refusal(exc, language, code)


@page(Access.SECRETARIAT)
async def new_initiative_page(request: Request, staff: Staff) -> Response:
    values: dict[str, Any] = {f"{f}_{lang}": "" for f in ("title", "description")
                              for lang in LANGUAGES}  # fmt: skip
    values.update(size="10", deadline="", start="", community="", skills=[], skills_other="",
                  helpers=False, open_now=True)  # fmt: skip
    return await _form(request, staff, values)


@page(Access.SECRETARIAT)
async def create_initiative(request: Request, staff: Staff) -> Response:
    rt, now = runtime(request), utcnow()
    values = _values(staff)
    try:
        draft = _draft(values, rt.settings.tz)
        async with rt.db.session() as session:
            actor = await acting_member(session, staff)
            if actor is None:  # an initiative needs a member as its proposer and lead
                return await _form(request, staff, values, status=400,
                                   error=_("youth.error_needs_member", staff))  # fmt: skip
            initiative = await propose_initiative(
                session=session, draft=draft, proposer=actor, now=now
            )
            if values["open_now"]:
                await approve_proposal(session=session, initiative=initiative, actor=actor,
                                       now=now)  # fmt: skip
    except YouthRefused as exc:
        return await _form(request, staff, values, error=_refusal(exc, staff.language),
                           status=400)  # fmt: skip
    done = "created_open" if values["open_now"] else "created"
    return RedirectResponse(f"/admin/youth/{initiative.id}?done={done}", status_code=303)


def _local_day(moment: datetime, tz: Any) -> str:
    return moment.astimezone(tz).date().isoformat()


def _stored_values(initiative: Initiative, tz: Any) -> dict[str, Any]:
    """What the edit form shows for an initiative."""
    values: dict[str, Any] = {
        "size": str(initiative.target_size),
        "deadline": _local_day(initiative.signup_deadline, tz),
        "start": _local_day(initiative.starts_at, tz),
        "community": str(initiative.community_id or ""),
        "skills": list(initiative.skills),
        "skills_other": initiative.skills_other,
        "helpers": initiative.allows_non_youth,
        "open_now": False,
    }
    for lang in LANGUAGES:
        values[f"title_{lang}"] = initiative.title.get(lang, "")
        values[f"description_{lang}"] = initiative.description.get(lang, "")
    return values


def _changes(values: dict[str, Any], initiative: Initiative, tz: Any) -> dict[str, Any]:
    """The form's non-text fields as update_initiative's keywords. A date shown unchanged
    keeps the stored moment (the form has days only), so an untouched date is no change."""
    draft = _draft(values, tz)  # the same reading of the form as for a new initiative
    changes: dict[str, Any] = {
        "target_size": draft.target_size,
        "community_id": draft.community_id,
        "skills": list(draft.skills or []),
        "skills_other": draft.skills_other,
        "allows_non_youth": draft.allows_non_youth,
    }
    if values["deadline"] != _local_day(initiative.signup_deadline, tz):
        changes["signup_deadline"] = draft.signup_deadline
    if values["start"] != _local_day(initiative.starts_at, tz):
        changes["starts_at"] = draft.starts_at
    return changes


@page(Access.SECRETARIAT)
async def edit_initiative_page(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    async with rt.db.session() as session:
        initiative = await get_initiative(
            session=session, initiative_id=request.path_params["initiative_id"]
        )
    if initiative is None:
        return await error_page(request, staff, 404, "errors.not_found")
    values = _stored_values(initiative, rt.settings.tz)
    return await _form(request, staff, values, initiative=initiative)


@page(Access.SECRETARIAT)
async def edit_initiative(request: Request, staff: Staff) -> Response:
    """The texts of each changed language (set_initiative_text) and, while editable, the
    team size, dates, community, skills and helpers (update_and_notify): all or nothing."""
    rt, now = runtime(request), utcnow()
    tz = rt.settings.tz
    initiative_id = request.path_params["initiative_id"]
    values = _values(staff)
    changed: list[str] = []
    promoted = 0
    warn: list[str] = []
    async with rt.db.session() as session:
        initiative = await get_initiative(session=session, initiative_id=initiative_id)
        if initiative is None:
            return await error_page(request, staff, 404, "errors.not_found")
        actor = await acting_member(session, staff)
        if actor is None:
            return await _form(request, staff, values, initiative=initiative, status=400,
                               error=_("youth.error_needs_member", staff))  # fmt: skip
        error = None
        try:
            for lang in LANGUAGES:
                title, text = values[f"title_{lang}"], values[f"description_{lang}"]
                title_changed = title != initiative.title.get(lang, "")
                text_changed = text != initiative.description.get(lang, "")
                if not (title_changed or text_changed):
                    continue
                await set_initiative_text(
                    session=session, initiative=initiative, language=lang, actor=actor,
                    now=now, title=title if title_changed else None,
                    description=text if text_changed else None,
                )  # fmt: skip
                changed.append(lang)
            if initiative.status in EDITABLE and staff.field("size", 4):
                update = await update_and_notify(
                    rt, session, initiative, actor, now, **_changes(values, initiative, tz)
                )
                changed += update.changed
                promoted = len(update.promoted)
                warn = [
                    name for name in ("signup_deadline", "starts_at")
                    if name in update.changed and holiday_warning(getattr(initiative, name),
                                                                  staff.language, rt.settings)
                ]  # fmt: skip
        except YouthRefused as exc:
            error = _refusal(exc, staff.language, f"Y{initiative_id}")
            await session.rollback()  # every change or none
    if error is not None:
        async with rt.db.session() as session:
            fresh = await get_initiative(session=session, initiative_id=initiative_id)
        return await _form(request, staff, values, initiative=fresh, error=error, status=400)
    rt.delivery.wake()
    fields = [name for name in changed if name not in LANGUAGES]
    done = "saved" if fields else ("texts_saved" if changed else "unchanged")
    extra = f"&promoted={promoted}" if promoted else ""
    extra += f"&warn={','.join(warn)}" if warn else ""
    return RedirectResponse(f"/admin/youth/{initiative_id}?done={done}{extra}", status_code=303)


def routes() -> list[BaseRoute]:
    base = "/admin/youth/{initiative_id:int}"
    return [
        Route("/admin/youth/new", new_initiative_page, methods=["GET"]),
        Route("/admin/youth/new", create_initiative, methods=["POST"]),
        Route(base + "/edit", edit_initiative_page, methods=["GET"]),
        Route(base + "/edit", edit_initiative, methods=["POST"]),
    ]
