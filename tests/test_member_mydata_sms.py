"""SMS MYDATA names what else is stored, like /mydata does (grant applications, event answers,
youth sign-ups and initiatives, votes in named polls) — within two SMS parts in every language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGES
from bot.sms.encoding import sms_info
from handlers.privacy import SMS_LABELS
from models.base import utcnow
from models.event_rsvps import EventRsvp
from models.events import Event
from models.grants import GrantCall
from models.grants_applicants import GrantApplicant
from models.members import Member, SmsScript
from models.polls import Poll, PollBallot
from models.privacy import export_sections
from models.youth import Initiative
from models.youth_signups import YouthSignup
from tests.factories import make_member
from tests.fakes.sms_segments import segment_count
from tests.harness import RunningBot
from tests.registration_helpers import PATIENCE, patient_fakes  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("patient_fakes")


async def _grant_and_events(session: AsyncSession, member: Member, events: int) -> None:
    now = utcnow()
    call = GrantCall(title={"en": "Small farms 2026"}, min_amount=1000, max_amount=5000,
                     idea_deadline=now, full_deadline=now)  # fmt: skip
    session.add(call)
    await session.flush()
    assert call.id and member.id
    session.add(GrantApplicant(grant_id=call.id, member_id=member.id, applicant_type="person",
                               idea_title="Goat cheese dairy", village="Kabali"))  # fmt: skip
    for number in range(events):
        event = Event(kind="meeting", title={"en": f"Assembly {number}"}, starts_at=now,
                      ends_at=now)  # fmt: skip
        session.add(event)
        await session.flush()
        assert event.id
        session.add(EventRsvp(event_id=event.id, member_id=member.id, answer="going",
                              channel="sms"))  # fmt: skip


async def _in_every_part(session: AsyncSession, member: Member) -> None:
    """A grant application, an event answer, a named-poll vote, a sign-up and a proposal."""
    now = utcnow()
    await _grant_and_events(session, member, 1)
    other = await make_member(session, name="Someone Else", telegram=False)
    poll = Poll(question="Where to meet?", options=["Office", "School"], closes_at=now,
                reminder_at=now)  # fmt: skip
    proposal = Initiative(title={"en": "Clean the river"}, target_size=5, signup_deadline=now,
                          starts_at=now + timedelta(days=9), proposer_member_id=member.id,
                          lead_member_id=member.id)  # fmt: skip
    joined = Initiative(title={"en": "Plant trees"}, target_size=5, signup_deadline=now,
                        starts_at=now, lead_member_id=other.id)  # fmt: skip
    session.add_all([poll, proposal, joined])
    await session.flush()
    assert poll.id and joined.id and member.id
    session.add_all(
        [
            PollBallot(
                poll_id=poll.id,
                voter_key=f"m{member.id}",
                member_id=member.id,
                choices=[1],
                channel="sms",
                voted_at=now,
            ),
            YouthSignup(initiative_id=joined.id, member_id=member.id, why="I like trees"),
        ]
    )


async def test_sms_mydata_names_the_same_parts_as_mydata_on_telegram(bot: RunningBot) -> None:
    phone = "+995599515151"
    user = bot.tg.user(language_code="en")
    async with bot.rt.db.session() as session:
        member = await make_member(session, name="Levan Gelashvili", telegram=user.id,
                                   phone=phone, language="en")  # fmt: skip
        await _grant_and_events(session, member, 3)
    [reply] = await bot.sms(phone, "MYDATA")
    assert reply.startswith("Your data: Levan Gelashvili;") and "Erase: FORGET" in reply
    assert "Also: event answers: 3; grant applications: 1" in reply
    assert sms_info(reply).parts <= 2
    await user.send("/mydata")
    shown = await bot.tg.wait_until(
        lambda: next((m.body for m in user.inbox if "The file also holds" in m.body), None),
        PATIENCE,
    )
    assert "The file also holds: event answers: 3; grant applications: 1" in shown


async def test_sms_mydata_without_other_data_says_only_the_summary(bot: RunningBot) -> None:
    phone = "+995599515152"
    async with bot.rt.db.session() as session:
        await make_member(session, name="Levan Gelashvili", telegram=False, phone=phone,
                          language="en")  # fmt: skip
    [reply] = await bot.sms(phone, "MYDATA")
    assert reply.startswith("Your data: Levan Gelashvili;") and "Also" not in reply


# What each language can say in two parts when every part holds something: English and Latin
# letters name each part as /mydata does; Georgian and Azerbaijani letters switch to Latin to
# do so; Russian (Cyrillic, 67 letters a part) says how many more records there are.
EVERY_PART = {
    "en": "Also: event answers: 1; grant applications: 1; votes in named polls: 1; "
    "your initiatives: 1; youth initiative sign-ups: 1",
    "ka": "aseve: pasukhebi ghonisdziebebze: 1; sagranto ganatskhadebi: 1;",
    "az": "Hemcinin: tedbirlere cavablar: 1; qrant müracietleri: 1;",
    "ru": "Ещё записей: 5. Копия: /mydata в Telegram",
}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_sms_mydata_with_every_part_stays_within_two_parts(
    bot: RunningBot, language: str
) -> None:
    phone = "+995599515153"
    async with bot.rt.db.session() as session:
        member = await make_member(session, name="Nino Beridze", telegram=False, phone=phone,
                                   language=language, sms_script=SmsScript.NATIVE)  # fmt: skip
        await _in_every_part(session, member)
    [reply] = await bot.sms(phone, "MYDATA")
    assert "Nino Beridze" in reply and "FORGET" in reply
    assert EVERY_PART[language] in reply, reply
    assert sms_info(reply).parts <= 2 and segment_count(reply) <= 2, reply


async def test_sms_mydata_names_a_part_in_a_word_when_the_labels_do_not_fit(
    bot: RunningBot,
) -> None:
    phone = "+995599515154"
    async with bot.rt.db.session() as session:
        member = await make_member(session, name="Нино Беридзе", telegram=False, phone=phone,
                                   language="ru")  # fmt: skip
        await _grant_and_events(session, member, 2)
    [reply] = await bot.sms(phone, "MYDATA")
    assert "Также: встречи 2, гранты 1" in reply, reply
    assert sms_info(reply).parts <= 2, reply


def test_every_part_of_mydata_has_a_word_for_sms() -> None:
    assert {section.name for section in export_sections()} <= set(SMS_LABELS)
