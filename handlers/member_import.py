"""`lagbot import members FILE.csv`: the LAG's member spreadsheet into the database.

Prints one line per row it could not read (line number and reason), then the totals.
`--dry-run` reads and checks everything but saves nothing.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from pathlib import Path

from bot.i18n import LANGUAGES, t
from bot.settings import Settings
from models.member_import import ImportReport, import_members


def _subparsers(
    parent: argparse.ArgumentParser,
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The sub-commands of `parent`, created once (other capabilities may import too)."""
    for action in parent._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parent.add_subparsers(dest="import_what", metavar="WHAT")


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parent = sub.choices.get("import") or sub.add_parser("import", help="import data from files")
    members = _subparsers(parent).add_parser(
        "members", help="import the LAG member list (CSV; bad rows are reported, not imported)"
    )
    members.add_argument("file", type=Path, help="CSV file (UTF-8; comma, semicolon or tab)")
    members.add_argument(
        "--consent-date",
        type=date.fromisoformat,
        default=date.today(),
        help="date the paper consent forms were signed (YYYY-MM-DD)",
    )
    members.add_argument(
        "--form-version",
        default=None,
        help="version of the paper consent form (default: CONSENT_TEXT_VERSION)",
    )
    members.add_argument("--dry-run", action="store_true", help="check the file, save nothing")
    members.add_argument(
        "--language",
        choices=LANGUAGES,
        default=None,
        help="language of this report (default: DEFAULT_LANGUAGE)",
    )
    members.set_defaults(func=run_import)


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import run_migrations

    path: Path = args.file
    language = args.language or settings.default_language
    if not path.is_file():
        print(t("members.import_no_file", language, path=str(path)))
        return 2
    run_migrations(settings.database_url)
    report = asyncio.run(_import(settings, path.read_bytes(), args, path.name))
    print(render_report(report, language, dry_run=args.dry_run))
    return 1 if report.file_error else 0


async def _import(
    settings: Settings, content: bytes, args: argparse.Namespace, name: str
) -> ImportReport:
    from bot.db import Database
    from models.communities import sync_communities

    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as session:
            await sync_communities(session=session, path=settings.communities_file)
            report = await import_members(
                session=session,
                settings=settings,
                content=content,
                consent_date=args.consent_date,
                form_version=args.form_version or settings.consent_text_version,
                source=name,
            )
            if args.dry_run or report.file_error:
                await session.rollback()
            else:
                await session.commit()
    finally:
        await db.dispose()
    return report


def render_report(report: ImportReport, language: str, *, dry_run: bool = False) -> str:
    if report.file_error:
        return t(report.file_error, language)
    lines = [
        t("members.import_row", language, line=p.line, reason=t(p.key, language, **p.values))
        for p in report.problems
    ]
    key = "members.import_dry_run" if dry_run else "members.import_done"
    lines.append(
        t(
            key,
            language,
            created=report.created,
            updated=report.updated,
            problems=len(report.problems),
        )
    )
    return "\n".join(lines)
