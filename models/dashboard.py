"""Access to the secretariat's web dashboard: accounts, one-time login links, sessions.

Account (one per board/secretariat member, or a stand-alone one made by `lagbot admin link`)::

    created --> active --disabled by the secretariat--> disabled --enabled--> active

    A member-linked account has the member's role, read at every request: a member who is
    no longer board or secretariat (or no longer active) loses web access at once.

Login link (single use; only a SHA-256 of the token is stored)::

    issued --redeemed before expires_at--> used
    issued --expires_at passed--> refused

Session (the cookie holds a signed random key; only its SHA-256 is stored)::

    open --request within IDLE_TIMEOUT and before expires_at--> open (last_seen_at moves)
    open --logout | "sign out everywhere" | account disabled--> revoked
    open --idle or absolute lifetime over--> expired (refused)

Failed logins are counted per login name and per client address (`WebLoginAttempt`):
more than MAX_FAILURES in ATTEMPT_WINDOW and that key is refused until the window passes.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from models.base import UTCDateTime, utcnow
from models.members import Member, Role

LINK_LIFETIME = timedelta(minutes=10)
IDLE_TIMEOUT = timedelta(hours=12)
SESSION_LIFETIME = timedelta(days=7)
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILURES = 5  # per login name
MAX_FAILURES_PER_ADDRESS = 20  # an office behind one address has several people
_hasher = PasswordHasher()


class WebRole(enum.StrEnum):
    SECRETARIAT = "secretariat"  # everything
    BOARD = "board"  # read-only


class WebAccount(SQLModel, table=True):
    __tablename__ = "web_account"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", unique=True)
    name: str = Field(max_length=100)
    role: str = Field(default=WebRole.SECRETARIAT, max_length=20)  # when no member is linked
    login: str | None = Field(default=None, max_length=64, unique=True)
    password_hash: str | None = Field(default=None, max_length=200)
    language: str = Field(default="ka", max_length=2)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebLoginLink(SQLModel, table=True):
    __tablename__ = "web_login_link"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="web_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    issued_via: str = Field(max_length=20)  # cli | telegram | web
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="web_account.id", index=True)
    key_hash: str = Field(max_length=64, unique=True)
    via: str = Field(max_length=20)  # link | password
    user_agent: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebLoginAttempt(SQLModel, table=True):
    __tablename__ = "web_login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, index=True)  # "login:nino" | "ip:203.0.113.9"
    ok: bool = False
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# -- accounts -----------------------------------------------------------------------------


async def account_for_member(*, session: AsyncSession, member: Member) -> WebAccount:
    """The member's web account, made on first use."""
    assert member.id is not None
    found = await session.execute(select(WebAccount).where(WebAccount.member_id == member.id))
    account = found.scalars().first()
    if account is None:
        role = WebRole.SECRETARIAT if member.role == Role.SECRETARIAT else WebRole.BOARD
        account = WebAccount(member_id=member.id, name=member.name or f"#{member.id}", role=role)
        account.language = "en" if member.language == "en" else "ka"
        session.add(account)
        await session.flush()
    return account


async def standalone_account(*, session: AsyncSession, name: str, role: str) -> WebAccount:
    """A stand-alone account by name (first login on a fresh install), made on first use."""
    found = await session.execute(
        select(WebAccount).where(col(WebAccount.member_id).is_(None), WebAccount.name == name)
    )
    account = found.scalars().first()
    if account is None:
        account = WebAccount(name=name, role=WebRole(role))
        session.add(account)
        await session.flush()
    return account


async def effective_role(*, session: AsyncSession, account: WebAccount) -> WebRole | None:
    """What this account may do now; None when it may not log in at all."""
    if account.disabled_at is not None:
        return None
    if account.member_id is None:
        return WebRole(account.role)
    member = await session.get(Member, account.member_id)
    if member is None or not member.is_board:
        return None
    return WebRole.SECRETARIAT if member.is_admin else WebRole.BOARD


async def secretariat_left(*, session: AsyncSession, without_member: int | None = None) -> int:
    """How many secretariat people (members and stand-alone accounts) could still log in."""
    members = (
        select(func.count())
        .select_from(Member)
        .where(
            Member.role == Role.SECRETARIAT,
            Member.status == "active",
            col(Member.is_simulated).is_(False),
        )
    )
    if without_member is not None:
        members = members.where(Member.id != without_member)
    standalone = (
        select(func.count())
        .select_from(WebAccount)
        .where(
            col(WebAccount.member_id).is_(None),
            WebAccount.role == WebRole.SECRETARIAT,
            col(WebAccount.disabled_at).is_(None),
        )
    )
    return int((await session.execute(members)).scalar_one()) + int(
        (await session.execute(standalone)).scalar_one()
    )


# -- passwords ----------------------------------------------------------------------------


class PasswordRejected(ValueError):
    """The login name or password does not meet the rules (`reason` is a catalog key tail)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


MIN_PASSWORD = 10


async def set_password(
    *, session: AsyncSession, account: WebAccount, login: str, password: str
) -> None:
    """Choose a login name and password (argon2id); a clear PasswordRejected otherwise."""
    login = login.strip().casefold()
    if not (3 <= len(login) <= 64) or not all(ch.isalnum() or ch in "._-@" for ch in login):
        raise PasswordRejected("bad_login")
    if len(password) < MIN_PASSWORD:
        raise PasswordRejected("short_password")
    if password.strip().casefold() == login:
        raise PasswordRejected("password_is_login")
    taken = await session.execute(
        select(WebAccount.id).where(WebAccount.login == login, WebAccount.id != account.id)
    )
    if taken.first() is not None:
        raise PasswordRejected("login_taken")
    account.login = login
    account.password_hash = _hasher.hash(password)
    session.add(account)
    await session.flush()


async def clear_password(*, session: AsyncSession, account: WebAccount) -> None:
    account.password_hash = None
    session.add(account)
    await session.flush()


async def check_password(*, session: AsyncSession, login: str, password: str) -> WebAccount | None:
    """The account whose login and password these are, or None (same cost either way)."""
    found = await session.execute(
        select(WebAccount).where(WebAccount.login == login.strip().casefold())
    )
    account: WebAccount | None = found.scalars().first()
    stored = account.password_hash if account is not None else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if account is None or stored is None:
        return None
    if _hasher.check_needs_rehash(stored):
        account.password_hash = _hasher.hash(password)
        session.add(account)
    return account


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


# -- one-time links -----------------------------------------------------------------------


async def issue_login_link(
    *,
    session: AsyncSession,
    account: WebAccount,
    via: str,
    lifetime: timedelta = LINK_LIFETIME,
) -> str:
    """A fresh single-use token for this account; only its hash is kept."""
    assert account.id is not None
    token = secrets.token_urlsafe(32)
    session.add(
        WebLoginLink(
            account_id=account.id,
            token_hash=digest(token),
            issued_via=via,
            expires_at=utcnow() + lifetime,
        )
    )
    await session.flush()
    return token


async def peek_login_link(*, session: AsyncSession, token: str) -> WebLoginLink | None:
    """The link if it could still be used (does not use it)."""
    found = await session.execute(
        select(WebLoginLink).where(WebLoginLink.token_hash == digest(token))
    )
    link: WebLoginLink | None = found.scalars().first()
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    return link


async def redeem_login_link(*, session: AsyncSession, token: str) -> WebAccount | None:
    """Use the link once: the conditional UPDATE makes two clicks race to one winner."""
    now = utcnow()
    hashed = digest(token)
    result = await session.execute(
        update(WebLoginLink)
        .where(
            col(WebLoginLink.token_hash) == hashed,
            col(WebLoginLink.used_at).is_(None),
            col(WebLoginLink.expires_at) > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    link = (
        (await session.execute(select(WebLoginLink).where(WebLoginLink.token_hash == hashed)))
        .scalars()
        .one()
    )
    return await session.get(WebAccount, link.account_id)


# -- sessions -----------------------------------------------------------------------------


async def open_session(
    *, session: AsyncSession, account: WebAccount, via: str, user_agent: str = ""
) -> str:
    assert account.id is not None
    key = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            account_id=account.id,
            key_hash=digest(key),
            via=via,
            user_agent=user_agent[:200],
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    account.last_login_at = now
    session.add(account)
    await session.flush()
    return key


async def load_session(*, session: AsyncSession, key: str) -> tuple[WebSession, WebAccount] | None:
    """The live session for this cookie key, touched; None when unknown, revoked or expired."""
    found = await session.execute(select(WebSession).where(WebSession.key_hash == digest(key)))
    web_session = found.scalars().first()
    now = utcnow()
    if (
        web_session is None
        or web_session.revoked_at is not None
        or web_session.expires_at <= now
        or web_session.last_seen_at + IDLE_TIMEOUT <= now
    ):
        return None
    account = await session.get(WebAccount, web_session.account_id)
    if account is None:
        return None
    if now - web_session.last_seen_at > timedelta(minutes=1):  # spare a write per click
        web_session.last_seen_at = now
        session.add(web_session)
    return web_session, account


async def revoke_sessions(
    *, session: AsyncSession, account_id: int, except_id: int | None = None
) -> int:
    query = update(WebSession).where(
        col(WebSession.account_id) == account_id, col(WebSession.revoked_at).is_(None)
    )
    if except_id is not None:
        query = query.where(col(WebSession.id) != except_id)
    result = await session.execute(
        query.values(revoked_at=utcnow()).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def live_sessions(*, session: AsyncSession, account_id: int) -> list[WebSession]:
    now = utcnow()
    found = await session.execute(
        select(WebSession)
        .where(
            WebSession.account_id == account_id,
            col(WebSession.revoked_at).is_(None),
            col(WebSession.expires_at) > now,
            col(WebSession.last_seen_at) > now - IDLE_TIMEOUT,
        )
        .order_by(col(WebSession.last_seen_at).desc())
    )
    return list(found.scalars())


# -- rate limiting ------------------------------------------------------------------------


async def login_blocked(*, session: AsyncSession, limits: dict[str, int]) -> bool:
    """True when any key had its limit of failed tries within ATTEMPT_WINDOW."""
    since = utcnow() - ATTEMPT_WINDOW
    for key, limit in limits.items():
        failures = await session.execute(
            select(func.count())
            .select_from(WebLoginAttempt)
            .where(
                WebLoginAttempt.key == key[:120],
                col(WebLoginAttempt.ok).is_(False),
                col(WebLoginAttempt.at) > since,
            )
        )
        if int(failures.scalar_one()) >= limit:
            return True
    return False


async def record_attempt(*, session: AsyncSession, keys: list[str], ok: bool) -> None:
    for key in keys:
        session.add(WebLoginAttempt(key=key[:120], ok=ok))
    await session.flush()
