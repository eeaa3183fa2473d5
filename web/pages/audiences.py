"""Saved audiences on the web: the list with who each one reaches now (the same live count
as the compose forms), rename and delete (confirmed) — the same models.audiences functions,
rules and audit entries as /audiences in Telegram. Saving happens on the compose forms
("Save as…" in the audience fields, web.forms.audience_button). Read-only for the board.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.roles import Access
from handlers.audience_picker import describe
from models.audiences import (
    MAX_NAME,
    AudienceNameError,
    audience_reach,
    delete_saved,
    get_saved,
    list_saved,
    rename_saved,
)
from models.base import utcnow
from web.forms import NAME_ERRORS, AudienceNote, acting_member
from web.guard import Staff, page, runtime
from web.render import error_page, render

DONE = ("renamed", "deleted")


async def _listing(
    request: Request, staff: Staff, *, note: AudienceNote | None = None,
    note_for: int | None = None, status: int = 200,
) -> Response:  # fmt: skip
    rt, now = runtime(request), utcnow()
    rows: list[tuple[Any, str, Any]] = []
    async with rt.db.session() as session:
        for saved in await list_saved(session=session):
            reach = await audience_reach(
                session=session, audience=saved.audience, now=now,
                youth_min=rt.settings.youth_min_age, youth_max=rt.settings.youth_max_age,
            )  # fmt: skip
            words = await describe(session, rt.settings, saved.filter, staff.language)
            rows.append((saved, words, reach))
    done = request.query_params.get("done")
    return await render(
        request, staff, "audiences.html", status=status, rows=rows, note=note, note_for=note_for,
        done=done if done in DONE else None, name_max=MAX_NAME,
    )  # fmt: skip


@page(Access.BOARD)
async def audiences_page(request: Request, staff: Staff) -> Response:
    return await _listing(request, staff)


@page(Access.SECRETARIAT)
async def rename(request: Request, staff: Staff) -> Response:
    saved_id = request.path_params["saved_id"]
    async with runtime(request).db.session() as session:
        saved = await get_saved(session=session, saved_id=saved_id)
        if saved is None:
            return await error_page(request, staff, 404, "errors.not_found")
        failed: AudienceNote | None = None
        try:
            await rename_saved(
                session=session, saved=saved, name=staff.field("name", 200),
                actor=await acting_member(session, staff), actor_label=staff.actor_label,
            )  # fmt: skip
        except AudienceNameError as error:
            failed = AudienceNote(saved.audience, NAME_ERRORS[error.key], dict(error.values), False)
    if failed is not None:
        return await _listing(request, staff, note=failed, note_for=saved_id, status=400)
    return RedirectResponse(f"/admin/audiences?done=renamed#s{saved_id}", status_code=303)


@page(Access.SECRETARIAT)
async def delete(request: Request, staff: Staff) -> Response:
    saved_id = request.path_params["saved_id"]
    confirmed = staff.field("confirm") == "yes"
    async with runtime(request).db.session() as session:
        saved = await get_saved(session=session, saved_id=saved_id)
        if saved is None:
            return await error_page(request, staff, 404, "errors.not_found")
        if confirmed:
            await delete_saved(
                session=session, saved=saved, actor=await acting_member(session, staff),
                actor_label=staff.actor_label,
            )  # fmt: skip
        unconfirmed = AudienceNote(saved.audience, "audience.confirm_needed", ok=False)
    if not confirmed:
        return await _listing(request, staff, note=unconfirmed, note_for=saved_id, status=400)
    return RedirectResponse("/admin/audiences?done=deleted", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/audiences", audiences_page, methods=["GET"]),
        Route("/admin/audiences/{saved_id:int}/rename", rename, methods=["POST"]),
        Route("/admin/audiences/{saved_id:int}/delete", delete, methods=["POST"]),
    ]
