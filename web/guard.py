"""Who is asking: signed session cookies, the role check on every page, CSRF on every form.

Every dashboard endpoint is wrapped by `page(access)`: it loads the session from the signed
HttpOnly cookie, re-reads the role (a member demoted in the bot loses the page at once),
refuses and audits a missing role, and on POST checks the Origin and the CSRF token before
the endpoint sees the form. Anonymous forms (login) use a signed pre-session cookie instead.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.roles import Access
from bot.text_input import scrub
from models.audit import record_audit
from models.dashboard import WebAccount, WebRole, WebSession, effective_role, load_session
from web.i18n import ui_language

if TYPE_CHECKING:
    from bot.runtime import Runtime

SESSION_COOKIE = "lagbot_session"
PRE_COOKIE = "lagbot_pre"
LANG_COOKIE = "lagbot_lang"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # A one-time link never leaks to another site in a Referer (and "no-referrer" would make
    # browsers send `Origin: null` on our own forms).
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


def _serializer(rt: Runtime, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(rt.settings.secret_key, salt=f"lagbot.web.{purpose}")


def _hmac(rt: Runtime, purpose: str, value: str) -> str:
    key = rt.settings.secret_key.encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def cookie_secure(rt: Runtime, request: Request) -> bool:
    base = rt.settings.public_base_url or ""
    return request.url.scheme == "https" or base.startswith("https://")


def set_session_cookie(response: Response, request: Request, key: str) -> None:
    rt = runtime(request)
    response.set_cookie(
        SESSION_COOKIE,
        _serializer(rt, "session").dumps(key),
        max_age=7 * 24 * 3600,
        path="/admin",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(rt, request),
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/admin")


def session_key(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        value = _serializer(runtime(request), "session").loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def pre_token(request: Request) -> tuple[str, str | None]:
    """The anonymous CSRF token, and the cookie value to set when there was none yet."""
    rt = runtime(request)
    raw = request.cookies.get(PRE_COOKIE)
    if raw:
        try:
            value = _serializer(rt, "pre").loads(raw)
            if isinstance(value, str):
                return _hmac(rt, "pre", value), None
        except BadSignature:
            pass
    value = secrets.token_urlsafe(16)
    return _hmac(rt, "pre", value), _serializer(rt, "pre").dumps(value)


def set_pre_cookie(response: Response, request: Request, cookie: str | None) -> None:
    if cookie is not None:
        response.set_cookie(
            PRE_COOKIE,
            cookie,
            max_age=3600,
            path="/admin",
            httponly=True,
            samesite="lax",
            secure=cookie_secure(runtime(request), request),
        )


def same_origin(request: Request) -> bool:
    """A form post from another site is refused (the Origin header, when the browser sends it)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    allowed = {host}
    base = runtime(request).settings.public_base_url
    if base:
        allowed.add(urlsplit(base).netloc)
    return urlsplit(origin).netloc in allowed


def anonymous_form_ok(request: Request, form: FormData) -> bool:
    token, fresh = pre_token(request)
    given = str(form.get("csrf", ""))
    return fresh is None and same_origin(request) and hmac.compare_digest(given, token)


async def read_form(request: Request) -> FormData:
    """The posted form, every typed value scrubbed once (`bot.text_input.scrub`): staff paste
    text from anywhere, and PostgreSQL refuses NUL in text — one would fail the whole save."""
    form = await request.form()
    return FormData(
        [
            (key, scrub(value) if isinstance(value, str) else value)
            for key, value in form.multi_items()
        ]
    )


def request_language(request: Request, account: WebAccount | None = None) -> str:
    if account is not None:
        return ui_language(account.language)
    return ui_language(request.cookies.get(LANG_COOKIE))


@dataclass
class Staff:
    """The signed-in person of one request."""

    account: WebAccount
    role: WebRole
    web_session: WebSession
    csrf: str
    form: FormData | None = None

    @property
    def language(self) -> str:
        return ui_language(self.account.language)

    @property
    def can_write(self) -> bool:
        return self.role == WebRole.SECRETARIAT

    @property
    def actor_label(self) -> str:
        return f"web:{self.account.id}"

    @property
    def member_id(self) -> int | None:
        return self.account.member_id

    def field(self, name: str, limit: int = 500) -> str:
        assert self.form is not None
        value = self.form.get(name, "")
        return (value if isinstance(value, str) else "").strip()[:limit]

    def fields(self, name: str) -> list[str]:
        assert self.form is not None
        return [v.strip() for v in self.form.getlist(name) if isinstance(v, str) and v.strip()]


Endpoint = Callable[[Request, Staff], Awaitable[Response]]
Wrapped = Callable[[Request], Awaitable[Response]]


def with_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def current_staff(request: Request) -> Staff | None:
    key = session_key(request)
    if key is None:
        return None
    rt = runtime(request)
    async with rt.db.session() as session:
        loaded = await load_session(session=session, key=key)
        if loaded is None:
            return None
        web_session, account = loaded
        role = await effective_role(session=session, account=account)
    if role is None:
        return None
    return Staff(account, role, web_session, _hmac(rt, "csrf", key))


def page(access: Access = Access.BOARD) -> Callable[[Endpoint], Wrapped]:
    """Require a live session with `access` (BOARD reads, SECRETARIAT changes); CSRF on POST."""
    from web.render import error_page

    def decorate(endpoint: Endpoint) -> Wrapped:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            staff = await current_staff(request)
            if staff is None:
                if request.method != "GET":
                    return with_headers(await error_page(request, None, 403, "errors.signed_out"))
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                expired = "&expired=1" if request.cookies.get(SESSION_COOKIE) else ""
                response = RedirectResponse(
                    f"/admin/login?next={quote(target, safe='')}{expired}", status_code=303
                )
                clear_session_cookie(response)
                return with_headers(response)
            needed = WebRole.SECRETARIAT if access == Access.SECRETARIAT else WebRole.BOARD
            if needed == WebRole.SECRETARIAT and not staff.can_write:
                async with runtime(request).db.session() as session:
                    await record_audit(
                        session=session,
                        action="access.refused",
                        actor_member_id=staff.member_id,
                        actor_label=staff.actor_label,
                        target=f"{request.method} {request.url.path}"[:120],
                    )
                return with_headers(await error_page(request, staff, 403, "errors.read_only"))
            if request.method == "POST":
                staff.form = await read_form(request)
                given = str(staff.form.get("csrf", ""))
                if not same_origin(request) or not hmac.compare_digest(given, staff.csrf):
                    return with_headers(await error_page(request, staff, 403, "errors.csrf"))
            return with_headers(await endpoint(request, staff))

        return wrapper

    return decorate


async def audit(
    request: Request,
    staff: Staff,
    action: str,
    target: str = "",
    details: dict[str, object] | None = None,
) -> None:
    """One audit entry for a change made from the dashboard (own transaction)."""
    async with runtime(request).db.session() as session:
        await record_audit(
            session=session,
            action=action,
            actor_member_id=staff.member_id,
            actor_label=staff.actor_label,
            target=target[:120],
            details=dict(details or {}),
        )
