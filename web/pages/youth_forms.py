"""Youth initiatives created and edited on the web, with the youth capability's own rules
(models.youth: check_draft, propose_initiative, approve_proposal, set_initiative_text).

Create: the secretariat member writing it is its proposer and lead (as with /propose); with
"open for sign-ups now" (the default) it is approved at once — the same approve_proposal as
/proposals — otherwise it waits in the review queue like any proposal. Edit: the title and
description in every language (set_initiative_text, as /initiative_text does).

Wanted from the youth capability (not in models.youth yet, so not editable here): a
`update_initiative(session, initiative, draft, actor, now)` that changes the team size (the
seat pool's capacity, promoting from the reserve list), the dates, the community, skills and
"helpers welcome" of an open initiative, validated like check_draft and audited; the team told
of a date change (handlers.youth_notify). Until then those are changed in Telegram only by
declining and proposing again.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.i18n import LANGUAGES, t
from bot.roles import Access
from models.base import utcnow
from models.communities import list_communities
from models.youth import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    InitiativeDraft,
    YouthRefused,
    approve_proposal,
    get_initiative,
    propose_initiative,
    set_initiative_text,
    skill_catalog,
    skill_label,
)
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


def _draft(values: dict[str, Any], staff: Staff, tz: Any) -> InitiativeDraft:
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


def _refusal(exc: YouthRefused, language: str) -> str:
    return t(exc.key, language, **exc.values)


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
        draft = _draft(values, staff, rt.settings.tz)
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


@page(Access.SECRETARIAT)
async def edit_initiative_page(request: Request, staff: Staff) -> Response:
    async with runtime(request).db.session() as session:
        initiative = await get_initiative(
            session=session, initiative_id=request.path_params["initiative_id"]
        )
    if initiative is None:
        return await error_page(request, staff, 404, "errors.not_found")
    values: dict[str, Any] = {}
    for lang in LANGUAGES:
        values[f"title_{lang}"] = initiative.title.get(lang, "")
        values[f"description_{lang}"] = initiative.description.get(lang, "")
    return await _form(request, staff, values, initiative=initiative)


@page(Access.SECRETARIAT)
async def edit_initiative(request: Request, staff: Staff) -> Response:
    """Each language whose title or description changed, through set_initiative_text."""
    rt, now = runtime(request), utcnow()
    initiative_id = request.path_params["initiative_id"]
    values = _values(staff)
    changed: list[str] = []
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
        except YouthRefused as exc:
            await session.rollback()  # every language or none
            error = _refusal(exc, staff.language)
    if error is not None:
        async with rt.db.session() as session:
            fresh = await get_initiative(session=session, initiative_id=initiative_id)
        return await _form(request, staff, values, initiative=fresh, error=error, status=400)
    done = "texts_saved" if changed else "unchanged"
    return RedirectResponse(f"/admin/youth/{initiative_id}?done={done}", status_code=303)


def routes() -> list[BaseRoute]:
    base = "/admin/youth/{initiative_id:int}"
    return [
        Route("/admin/youth/new", new_initiative_page, methods=["GET"]),
        Route("/admin/youth/new", create_initiative, methods=["POST"]),
        Route(base + "/edit", edit_initiative_page, methods=["GET"]),
        Route(base + "/edit", edit_initiative, methods=["POST"]),
    ]
