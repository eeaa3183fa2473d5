"""The web dashboard's adapters: its routes, /weblogin in Telegram, `lagbot admin link`."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.roles import Access, add_command, telegram_member
from bot.runtime import Runtime, runtime_of
from bot.settings import Settings
from models.audit import record_audit
from models.dashboard import (
    LINK_LIFETIME,
    WebRole,
    account_for_member,
    issue_login_link,
    standalone_account,
)
from models.members import InvalidPhone, member_by_phone, normalize_phone
from models.outbox import Priority, enqueue

ORDER = 80


async def weblogin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/weblogin: a single-use link to the dashboard, valid 10 minutes, sent to this chat."""
    from web.pages.auth import login_url

    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    assert member is not None and member.telegram_id is not None  # the guard let them in
    async with rt.db.session() as session:
        account = await account_for_member(session=session, member=member)
        token = await issue_login_link(session=session, account=account, via="telegram")
        minutes = int(LINK_LIFETIME.total_seconds() // 60)
        await enqueue(
            session=session,
            channel="telegram",
            provider="telegram",
            address=str(member.telegram_id),
            text=t(
                "dashboard.weblogin_link",
                member.language,
                url=login_url(rt.settings, token),
                minutes=minutes,
            ),
            member_id=member.id,
            kind="weblogin",
            priority=Priority.REPLY,
        )
        await record_audit(
            session=session,
            action="web.link_issued",
            actor_member_id=member.id,
            actor_label=f"telegram:{member.telegram_id}",
            target=f"web_account:{account.id}",
            details={"via": "telegram"},
        )
    rt.delivery.wake("telegram")


def setup(rt: Runtime) -> None:
    from web.routes import dashboard_routes

    rt.web_routes.extend(dashboard_routes())
    add_command(
        rt,
        "weblogin",
        weblogin,
        description_key="dashboard.cmd_weblogin",
        access=Access.BOARD,
    )


# -- lagbot admin link --------------------------------------------------------------------


async def make_link(settings: Settings, args: argparse.Namespace) -> str:
    """Issue a one-time link for a member (by id or phone) or a stand-alone account."""
    from bot.db import Database
    from models.members import Member
    from web.pages.auth import login_url

    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            if args.member is not None or args.phone is not None:
                if args.member is not None:
                    member = await session.get(Member, args.member)
                else:
                    member = await member_by_phone(
                        session=session, phone=normalize_phone(args.phone)
                    )
                if member is None:
                    raise SystemExit("lagbot: no such member")
                if not member.is_board:
                    raise SystemExit(
                        "lagbot: that member is not in the board or the secretariat; "
                        "give them a role first"
                    )
                account = await account_for_member(session=session, member=member)
            else:
                account = await standalone_account(session=session, name=args.name, role=args.role)
                if account.disabled_at is not None:
                    raise SystemExit("lagbot: that account is disabled")
            token = await issue_login_link(
                session=session,
                account=account,
                via="cli",
                lifetime=timedelta(minutes=args.minutes),
            )
            await record_audit(
                session=session,
                action="web.link_issued",
                actor_label="cli",
                target=f"web_account:{account.id}",
                details={"via": "cli", "minutes": args.minutes},
            )
    finally:
        await db.dispose()
    return login_url(settings, token)


def _admin_link(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import run_migrations

    run_migrations(settings.database_url)
    try:
        url = asyncio.run(make_link(settings, args))
    except InvalidPhone:
        print("lagbot: that is not a mobile number", flush=True)
        return 2
    print(f"One-time login link (valid {args.minutes} minutes, single use):\n{url}")
    return 0


def add_cli(subparsers: Any) -> None:
    admin = subparsers.add_parser("admin", help="the web dashboard's accounts")
    admin_sub = admin.add_subparsers(dest="admin_command", metavar="ACTION")
    link = admin_sub.add_parser(
        "link",
        help="print a one-time login link to the dashboard",
        description="Without options: a stand-alone secretariat account named 'admin' "
        "(first login on a fresh install).",
    )
    who = link.add_mutually_exclusive_group()
    who.add_argument("--member", type=int, help="a board or secretariat member's id")
    who.add_argument("--phone", help="a board or secretariat member's phone")
    who.add_argument("--name", default="admin", help="a stand-alone account's name")
    link.add_argument(
        "--role",
        choices=[r.value for r in WebRole],
        default=WebRole.SECRETARIAT.value,
        help="for a stand-alone account: secretariat (full) or board (read-only)",
    )
    link.add_argument("--minutes", type=int, default=30, choices=range(1, 24 * 60 + 1),
                      metavar="MINUTES", help="how long the link works (default 30)")  # fmt: skip
    link.set_defaults(func=_admin_link)
