"""Whatever anyone types (or a forged button sends) at any registration step, nothing raises:
the flow answers with a question (and a reason) or ends cleanly. Drives the channel-free
functions directly, on the test database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.db import Database
from bot.outbound import sms_body
from bot.sms.encoding import sms_info
from handlers.registration import render
from handlers.registration_sms import sms_pages
from models.communities import list_communities, sync_communities
from models.dialogs import Dialog
from models.members import SmsScript
from models.profile import ALL_FIELDS, change_field
from models.registration import answer
from models.registration_prompts import SMS, SMS_STEPS, TELEGRAM, TELEGRAM_STEPS, Contact
from tests.conftest import make_settings
from tests.factories import make_member

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DRAFT: dict[str, object] = {
    "language": "ka",
    "consent_data_at": NOW.isoformat(),
    "consent_ann": True,
    "name": "ნინო ბერიძე",
    "phone": "+995599123456",
    "sector": "civil",
    "birth_year": 1990,
    "gender_consent": True,
    "gender": "female",
    "interests": ["tourism"],
}
typed = st.one_of(
    st.text(max_size=120),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "1",
            "15",
            "16",
            "99",
            "-1",
            "1990",
            "2020",
            "kI",
            "YES",
            "no",
            "599 12 34 56",
            "+995322241111",
            "JOIN",
            "HELP",
            "ა" * 150,
            "https://x.ge",
            "😀",
            "\x00",
            "1,3",
            "Kabali",
        ]
    ),
)
buttons = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.sampled_from(
        [
            "yes",
            "no",
            "skip",
            "v0",
            "v99",
            "done",
            "confirm",
            "edit:name",
            "edit:gender",
            "edit:bogus",
            "tourism",
            "public",
            "1",
            "999",
            "female",
        ]
    ),
)


def test_any_answer_at_any_step_never_raises(db_url: str) -> None:
    config = make_settings(db_url)
    with asyncio.Runner() as runner:
        db = Database(db_url)

        async def prepare() -> int:
            async with db.session() as session:
                await sync_communities(session=session, path=config.communities_file)
                found = [
                    c for c in await list_communities(session=session) if c.code == "areshperani"
                ]
                assert found[0].id is not None
                return found[0].id

        community_id = runner.run(prepare())
        steps = [(TELEGRAM, s) for s in (*TELEGRAM_STEPS, "link")] + [(SMS, s) for s in SMS_STEPS]

        @settings(
            max_examples=300,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(
            where=st.sampled_from(steps),
            text=typed,
            choice=buttons,
            contact=st.one_of(st.none(), st.builds(Contact, st.text(max_size=20), st.booleans())),
            language=st.sampled_from(["ka", "az", "ru", "en"]),
        )
        def one(
            where: tuple[str, str],
            text: str,
            choice: str | None,
            contact: Contact | None,
            language: str,
        ) -> None:
            runner.run(_one(db, config, community_id, where, text, choice, contact, language))

        one()
        runner.run(db.dispose())


async def _one(
    db: Database,
    config: object,
    community_id: int,
    where: tuple[str, str],
    text: str,
    choice: str | None,
    contact: Contact | None,
    language: str,
) -> None:
    from bot.settings import Settings

    assert isinstance(config, Settings)
    channel, step = where
    async with db.sessionmaker() as session:
        data = {
            **DRAFT,
            "language": language,
            "community_id": community_id,
            "done": list(TELEGRAM_STEPS if channel == TELEGRAM else SMS_STEPS),
        }
        data["done"] = [s for s in data["done"] if s != step]  # type: ignore[union-attr]
        if step == "link":
            data["link_member_id"] = 999999
        dialog = Dialog(
            channel=channel,
            address="+995599999999" if channel == SMS else "77",
            flow="registration",
            step=step,
            data=data,
        )
        session.add(dialog)
        await session.flush()
        outcome = await answer(
            session=session,
            settings=config,
            channel=channel,
            dialog=dialog,
            text=text,
            choice=choice if channel == TELEGRAM else None,
            contact=contact if channel == TELEGRAM else None,
            now=NOW,
        )
        assert outcome.kind in ("ask", "done", "refused", "linked")
        if outcome.kind == "ask":
            assert outcome.prompt is not None
            if channel == TELEGRAM:
                body, _ = render(outcome.prompt, language)
                assert body and len(body) <= 4096
            else:
                script = str(dialog.data.get("sms_script") or SmsScript.NATIVE)
                for page in sms_pages(outcome.prompt, language, script):
                    assert sms_info(sms_body(None, page, script=script)).parts <= 2
        await session.rollback()


def test_any_profile_answer_never_raises(db_url: str) -> None:
    from models.member_fields import FieldError

    config = make_settings(db_url)
    with asyncio.Runner() as runner:
        db = Database(db_url)

        async def prepare() -> None:
            async with db.session() as session:
                await sync_communities(session=session, path=config.communities_file)

        runner.run(prepare())

        async def edit(name: str, text: str, choice: str | None) -> None:
            async with db.sessionmaker() as session:
                member = await make_member(session, phone="+995599777666", telegram=4242)
                try:
                    await change_field(
                        session=session,
                        settings=config,
                        member=member,
                        name=name,
                        now=NOW,
                        text=text,
                        choice=choice,
                    )
                except FieldError as error:
                    assert error.key.startswith(("registration.", "members."))
                await session.rollback()

        @settings(
            max_examples=150,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(name=st.sampled_from([*ALL_FIELDS, "bogus"]), text=typed, choice=buttons)
        def one(name: str, text: str, choice: str | None) -> None:
            runner.run(edit(name, text, choice))

        one()
        runner.run(db.dispose())
