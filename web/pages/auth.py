"""Signing in and out: one-time links, optional passwords, language, one's own account."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.roles import Access
from bot.settings import Settings
from models.audit import record_audit
from models.dashboard import (
    MAX_FAILURES,
    MAX_FAILURES_PER_ADDRESS,
    PasswordRejected,
    WebAccount,
    check_password,
    clear_password,
    effective_role,
    live_sessions,
    login_blocked,
    open_session,
    peek_login_link,
    record_attempt,
    redeem_login_link,
    revoke_sessions,
    set_password,
)
from web.guard import (
    LANG_COOKIE,
    Staff,
    anonymous_form_ok,
    clear_session_cookie,
    current_staff,
    page,
    read_form,
    runtime,
    same_origin,
    set_session_cookie,
    with_headers,
)
from web.i18n import ui_language
from web.render import error_page, render


def login_url(settings: Settings, token: str) -> str:
    """The link a person opens; PUBLIC_BASE_URL when set, else this server's own address."""
    base = settings.public_base_url or f"http://{settings.http_host}:{settings.http_port}"
    return f"{base.rstrip('/')}/admin/link/{token}"


def safe_next(value: str | None) -> str:
    """Only our own pages: never another site, never a protocol-relative URL."""
    if value and value.startswith("/admin") and not value.startswith("//"):
        return value
    return "/admin"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _signed_in(request: Request, account_id: int, via: str, next_url: str) -> Response:
    rt = runtime(request)
    async with rt.db.session() as session:
        account = await session.get(WebAccount, account_id)
        assert account is not None
        key = await open_session(
            session=session,
            account=account,
            via=via,
            user_agent=request.headers.get("user-agent", ""),
        )
        await record_audit(
            session=session,
            action="web.login",
            actor_member_id=account.member_id,
            actor_label=f"web:{account.id}",
            target=f"web_account:{account.id}",
            details={"via": via},
        )
    response = RedirectResponse(safe_next(next_url), status_code=303)
    set_session_cookie(response, request, key)
    return with_headers(response)


async def login_page(request: Request) -> Response:
    if await current_staff(request) is not None:
        return with_headers(RedirectResponse("/admin", status_code=303))
    return await render(
        request,
        None,
        "login.html",
        next=safe_next(request.query_params.get("next")),
        expired=bool(request.query_params.get("expired")),
        error=None,
        login="",
    )


async def password_login(request: Request) -> Response:
    form = await read_form(request)
    next_url = safe_next(str(form.get("next", "")))
    if not anonymous_form_ok(request, form):
        return await error_page(request, None, 403, "errors.csrf")
    login = str(form.get("login", "")).strip().casefold()[:64]
    password = str(form.get("password", ""))[:200]
    limits = {
        f"login:{login}": MAX_FAILURES,
        f"ip:{client_address(request)}": MAX_FAILURES_PER_ADDRESS,
    }
    rt = runtime(request)
    error, account_id = "login.too_many", None
    async with rt.db.session() as session:
        if not await login_blocked(session=session, limits=limits):
            account = await check_password(session=session, login=login, password=password)
            role = await effective_role(session=session, account=account) if account else None
            await record_attempt(session=session, keys=list(limits), ok=role is not None)
            if account is not None and role is not None:
                account_id = account.id
            else:
                error = "login.wrong"
                await record_audit(
                    session=session,
                    action="web.login_failed",
                    actor_label="web",
                    target=f"login:{login}"[:120],
                )
    if account_id is not None:
        return await _signed_in(request, account_id, "password", next_url)
    status = 429 if error == "login.too_many" else 400
    return await render(
        request, None, "login.html", status=status, next=next_url, expired=False,
        error=error, login=login,
    )  # fmt: skip


async def link_page(request: Request) -> Response:
    """Confirm before using the link: link previews (Telegram fetches URLs) must not spend it."""
    token = request.path_params["token"]
    rt = runtime(request)
    async with rt.db.session() as session:
        link = await peek_login_link(session=session, token=token)
        account = await session.get(WebAccount, link.account_id) if link else None
    status = 200 if account is not None else 410
    return await render(request, None, "link.html", status=status, account=account, token=token)


async def use_link(request: Request) -> Response:
    token = request.path_params["token"]
    form = await read_form(request)
    if not anonymous_form_ok(request, form):
        return await error_page(request, None, 403, "errors.csrf")
    limits = {f"ip:{client_address(request)}": MAX_FAILURES_PER_ADDRESS}
    rt = runtime(request)
    async with rt.db.session() as session:
        if await login_blocked(session=session, limits=limits):
            return await render(request, None, "link.html", status=429, account=None,
                                token="", blocked=True)  # fmt: skip
        account = await redeem_login_link(session=session, token=token)
        role = await effective_role(session=session, account=account) if account else None
        await record_attempt(session=session, keys=list(limits), ok=role is not None)
    if account is None or account.id is None or role is None:
        return await render(request, None, "link.html", status=410, account=None, token="")
    return await _signed_in(request, account.id, "link", "/admin")


@page(Access.BOARD)
async def logout(request: Request, staff: Staff) -> Response:
    rt = runtime(request)
    async with rt.db.session() as session:
        fresh = await session.get(type(staff.web_session), staff.web_session.id)
        if fresh is not None:
            from models.base import utcnow

            fresh.revoked_at = utcnow()
            session.add(fresh)
        await record_audit(
            session=session,
            action="web.logout",
            actor_member_id=staff.member_id,
            actor_label=staff.actor_label,
            target=f"web_account:{staff.account.id}",
        )
    response = RedirectResponse("/admin/login", status_code=303)
    clear_session_cookie(response)
    return response


async def switch_language(request: Request) -> Response:
    """Georgian ⇄ English, for the signed-in account or (before login) this browser."""
    staff = await current_staff(request)
    form = await read_form(request)
    language = ui_language(str(form.get("language", "")))
    back = safe_next(str(form.get("next", "")))
    if staff is not None:
        import hmac

        given = str(form.get("csrf", ""))
        if not same_origin(request) or not hmac.compare_digest(given, staff.csrf):
            return await error_page(request, staff, 403, "errors.csrf")
        async with runtime(request).db.session() as session:
            account = await session.get(WebAccount, staff.account.id)
            assert account is not None
            account.language = language
            session.add(account)
    elif not anonymous_form_ok(request, form):
        return await error_page(request, None, 403, "errors.csrf")
    elif not back.startswith("/admin/l"):
        back = "/admin/login"
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(LANG_COOKIE, language, max_age=365 * 24 * 3600, path="/admin",
                        samesite="lax")  # fmt: skip
    return with_headers(response)


@page(Access.BOARD)
async def account_page(request: Request, staff: Staff) -> Response:
    async with runtime(request).db.session() as session:
        sessions = await live_sessions(session=session, account_id=staff.account.id or 0)
    return await render(
        request, staff, "account.html", sessions=sessions, error=None,
        done=request.query_params.get("done"), login=staff.account.login or "",
    )  # fmt: skip


@page(Access.BOARD)
async def account_password(request: Request, staff: Staff) -> Response:
    login, password = staff.field("login", 64), staff.field("password", 200)
    confirm = staff.field("confirm", 200)
    rt = runtime(request)
    error: str | None = None
    async with rt.db.session() as session:
        account = await session.get(WebAccount, staff.account.id)
        assert account is not None
        if password != confirm:
            error = "account.mismatch"
        else:
            try:
                await set_password(session=session, account=account, login=login, password=password)
            except PasswordRejected as exc:
                error = f"account.{exc.reason}"
        if error is None:
            await record_audit(
                session=session,
                action="web.password_set",
                actor_member_id=staff.member_id,
                actor_label=staff.actor_label,
                target=f"web_account:{account.id}",
                details={"login": account.login},
            )
            return RedirectResponse("/admin/account?done=password", status_code=303)
        sessions = await live_sessions(session=session, account_id=account.id or 0)
    return await render(request, staff, "account.html", status=400, sessions=sessions,
                        error=error, done=None, login=login)  # fmt: skip


@page(Access.BOARD)
async def account_password_remove(request: Request, staff: Staff) -> Response:
    async with runtime(request).db.session() as session:
        account = await session.get(WebAccount, staff.account.id)
        assert account is not None
        await clear_password(session=session, account=account)
        await record_audit(
            session=session,
            action="web.password_removed",
            actor_member_id=staff.member_id,
            actor_label=staff.actor_label,
            target=f"web_account:{account.id}",
        )
    return RedirectResponse("/admin/account?done=password_removed", status_code=303)


@page(Access.BOARD)
async def account_signout_others(request: Request, staff: Staff) -> Response:
    async with runtime(request).db.session() as session:
        count = await revoke_sessions(
            session=session, account_id=staff.account.id or 0, except_id=staff.web_session.id
        )
        await record_audit(
            session=session,
            action="web.sessions_revoked",
            actor_member_id=staff.member_id,
            actor_label=staff.actor_label,
            target=f"web_account:{staff.account.id}",
            details={"count": count},
        )
    return RedirectResponse("/admin/account?done=signed_out", status_code=303)


def login_redirect(next_path: str) -> str:
    return f"/admin/login?next={quote(next_path, safe='')}"


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/login", login_page, methods=["GET"]),
        Route("/admin/login", password_login, methods=["POST"]),
        Route("/admin/link/{token}", link_page, methods=["GET"]),
        Route("/admin/link/{token}", use_link, methods=["POST"]),
        Route("/admin/logout", logout, methods=["POST"]),
        Route("/admin/language", switch_language, methods=["POST"]),
        Route("/admin/account", account_page, methods=["GET"]),
        Route("/admin/account/password", account_password, methods=["POST"]),
        Route("/admin/account/password/remove", account_password_remove, methods=["POST"]),
        Route("/admin/account/signout-others", account_signout_others, methods=["POST"]),
    ]
