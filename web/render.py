"""Jinja2 rendering for the dashboard: one environment, the staff language, a few filters."""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from web.guard import (
    Staff,
    pre_token,
    request_language,
    runtime,
    set_pre_cookie,
    with_headers,
)
from web.i18n import UI_LANGUAGE_NAMES, gettext

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The menu: (path, catalog key, secretariat only); pages add themselves in web.routes.
NAV: list[tuple[str, str, bool]] = []


def format_phone(phone: str | None) -> str:
    """+995 5XX XX XX XX for Georgian mobiles, as people read them."""
    if not phone:
        return ""
    if phone.startswith("+995") and len(phone) == 13:
        n = phone[4:]
        return f"+995 {n[:3]} {n[3:5]} {n[5:7]} {n[7:]}"
    return phone


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["phone"] = format_phone
    env.filters["fromiso"] = datetime.fromisoformat
    return env


def _local(tz: Any, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(tz).strftime(fmt) if value is not None else ""


def _query_with(request: Request, **changes: object) -> str:
    """This page's query string with some parameters replaced (pagination, sorting)."""
    params = {k: v for k, v in request.query_params.multi_items() if k not in changes}
    params.update({k: str(v) for k, v in changes.items() if v not in (None, "")})
    return "?" + urlencode(params)


async def render(
    request: Request,
    staff: Staff | None,
    template: str,
    status: int = 200,
    **context: Any,
) -> Response:
    rt = runtime(request)
    language = staff.language if staff else request_language(request)
    fresh_pre: str | None = None
    if staff is not None:
        csrf = staff.csrf
    else:
        csrf, fresh_pre = pre_token(request)
    values: dict[str, Any] = {
        "_": functools.partial(gettext, language),
        "lang": language,
        "languages": UI_LANGUAGE_NAMES,
        "staff": staff,
        "csrf": csrf,
        "path": request.url.path,
        "query": request.query_params,
        "local": functools.partial(_local, rt.settings.tz),
        "settings": rt.settings,
        "nav": [item for item in NAV if staff is not None and (staff.can_write or not item[2])],
        "qs": functools.partial(_query_with, request),
    }
    values.update(context)
    html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status)
    set_pre_cookie(response, request, fresh_pre)
    return with_headers(response)


async def error_page(request: Request, staff: Staff | None, status: int, key: str) -> Response:
    return await render(request, staff, "error.html", status=status, message_key=key)
