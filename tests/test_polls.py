"""Poll rules without channels: one changeable vote, anonymity, suppression, chart, times."""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from bot.runtime import Runtime
from handlers.polls_chart import chart_data, georgian_font_path, render_chart
from handlers.polls_when import parse_closing
from models.audiences import Audience
from models.members import Member
from models.polls import Poll, PollBallot, PollError, PollInvalid, open_poll, reminder_time
from models.polls_results import GroupRow, close_poll, poll_results, suppress, tally
from models.polls_voting import VoteOutcome, cast_vote, voter_key, withdraw_vote
from tests.factories import make_member

SECRET = "test-secret-key-0123456789"
YOUTH = (14, 29)
TBILISI = ZoneInfo("Asia/Tbilisi")
T0 = datetime(2030, 6, 12, 10, 0, tzinfo=TBILISI).astimezone(UTC)  # a Wednesday morning


async def a_poll(
    session: AsyncSession, *, anonymous: bool = False, multiple: bool = False, days: int = 3
) -> tuple[Poll, list[Member]]:
    return await open_poll(
        session=session,
        question="რომელი თარიღი გაწყობთ ტრენინგისთვის?",
        options=["3 დეკ", "5 დეკ", "10 დეკ"],
        multiple=multiple,
        anonymous=anonymous,
        audience=Audience.everyone(),
        closes_at=T0 + timedelta(days=days),
        results_live=False,
        results_to_voters=True,
        created_by=None,
        youth_ages=YOUTH,
        now=T0,
    )


async def vote(
    session: AsyncSession, poll: Poll, member: Member, *choices: int, channel: str = "telegram"
) -> VoteOutcome:
    result = await cast_vote(
        session=session,
        poll=poll,
        member=member,
        choices=list(choices),
        channel=channel,
        app_secret=SECRET,
        youth_ages=YOUTH,
        now=T0 + timedelta(hours=1),
    )
    return result.outcome


async def test_a_member_votes_once_and_may_change_the_vote_on_the_other_channel(
    rt: Runtime,
) -> None:
    async with rt.db.session() as session:
        nino = await make_member(session)
        poll, _ = await a_poll(session)
        assert await vote(session, poll, nino, 2, channel="telegram") == VoteOutcome.RECORDED
        assert await vote(session, poll, nino, 2, channel="sms") == VoteOutcome.UNCHANGED
        assert await vote(session, poll, nino, 3, channel="sms") == VoteOutcome.CHANGED
        results = await poll_results(session=session, poll=poll)
    assert (results.voters, results.counts) == (1, [0, 0, 1])


async def test_withdrawing_removes_the_vote_and_a_second_withdrawal_is_refused(rt: Runtime) -> None:
    async with rt.db.session() as session:
        nino = await make_member(session)
        poll, _ = await a_poll(session)
        await vote(session, poll, nino, 1)
        await withdraw_vote(session=session, poll=poll, member=nino, app_secret=SECRET, now=T0)
        assert (await poll_results(session=session, poll=poll)).voters == 0
        with pytest.raises(PollError) as refused:
            await withdraw_vote(session=session, poll=poll, member=nino, app_secret=SECRET, now=T0)
    assert refused.value.reason == "not_voted"


async def test_single_choice_takes_one_answer_and_multiple_choice_takes_several(
    rt: Runtime,
) -> None:
    async with rt.db.session() as session:
        nino = await make_member(session)
        single, _ = await a_poll(session)
        several, _ = await a_poll(session, multiple=True)
        with pytest.raises(PollError) as one_only:
            await vote(session, single, nino, 1, 3)
        with pytest.raises(PollError) as out_of_range:
            await vote(session, single, nino, 4)
        await vote(session, several, nino, 3, 1, 3)
        results = await poll_results(session=session, poll=several)
    assert (one_only.value.reason, out_of_range.value.reason) == ("one_only", "bad_option")
    assert (results.voters, results.counts) == (1, [1, 0, 1])


async def test_only_members_the_poll_was_sent_to_may_vote(rt: Runtime) -> None:
    async with rt.db.session() as session:
        nino = await make_member(session)
        poll, recipients = await a_poll(session)
        latecomer = await make_member(session)  # registered after the poll went out
        with pytest.raises(PollError) as not_recipient:
            await vote(session, poll, latecomer, 1)
        assert await vote(session, poll, nino, 1) == VoteOutcome.RECORDED
    assert [m.id for m in recipients] == [nino.id] and poll.audience_size == 1
    assert not_recipient.value.reason == "not_recipient"


async def test_votes_after_close_are_refused(rt: Runtime) -> None:
    async with rt.db.session() as session:
        nino = await make_member(session)
        poll, _ = await a_poll(session)
        assert poll.id is not None
        await close_poll(
            session=session, poll_id=poll.id, closed_by="test", app_secret=SECRET, now=T0
        )
        with pytest.raises(PollError) as closed:
            await vote(session, poll, nino, 1)
    assert closed.value.reason == "closed"


async def test_a_poll_needs_two_to_ten_distinct_answers_and_a_sane_closing_time(
    rt: Runtime,
) -> None:
    async with rt.db.session() as session:
        for options, closes in (
            (["only one"], T0 + timedelta(days=1)),
            (["a", "A"], T0 + timedelta(days=1)),
            ([str(n) for n in range(11)], T0 + timedelta(days=1)),
            (["a", "b"], T0 + timedelta(minutes=5)),
            (["a", "b"], T0 + timedelta(weeks=9)),
        ):
            with pytest.raises(PollInvalid):
                await open_poll(
                    session=session, question="?", options=options, multiple=False,
                    anonymous=False, audience=Audience(), closes_at=closes, results_live=False,
                    results_to_voters=False, created_by=None, youth_ages=YOUTH, now=T0,
                )  # fmt: skip


async def test_anonymous_ballots_keep_groups_but_no_member_channel_or_time(rt: Runtime) -> None:
    async with rt.db.session() as session:
        nino = await make_member(session, birth_year=2005, gender="female", sector="private")
        poll, _ = await a_poll(session, anonymous=True)
        await vote(session, poll, nino, 2, channel="sms")
        ballot = (await session.execute(select(PollBallot))).scalars().one()
    assert ballot.member_id is None and ballot.channel is None and ballot.voted_at is None
    assert nino.id is not None and ballot.voter_key == voter_key(poll, nino.id, SECRET)
    assert ballot.voter_key != voter_key(poll, nino.id, "another-secret")  # needs the app key
    assert len(ballot.voter_key) == 64
    assert (ballot.choices, ballot.sector, ballot.gender, ballot.youth) == (
        [2],
        "private",
        "female",
        True,
    )


async def test_after_close_nobody_can_tell_who_chose_what_in_an_anonymous_poll(rt: Runtime) -> None:
    async with rt.db.session() as session:
        members = [await make_member(session) for _ in range(6)]
        poll, _ = await a_poll(session, anonymous=True)
        for n, member in enumerate(members):
            await vote(session, poll, member, 1 + n % 2)
        assert poll.id is not None and poll.ballot_salt is not None
        closed = await close_poll(
            session=session, poll_id=poll.id, closed_by="test", app_secret=SECRET, now=T0
        )
    assert closed is not None and set(closed.voter_ids) == {m.id for m in members}
    async with rt.db.session() as session:
        stored = await session.get(Poll, poll.id)
        left = (await session.execute(select(PollBallot))).scalars().all()
    assert stored is not None and stored.ballot_salt is None  # the key cannot be recomputed
    assert left == []  # no ballot rows: no choice sits beside anyone's groups
    assert stored.final_results is not None and stored.final_results["counts"] == [3, 3, 0]
    with pytest.raises(PollError):
        voter_key(stored, members[0].id or 0, SECRET)


async def test_named_ballots_keep_who_voted_how_and_when(rt: Runtime) -> None:
    async with rt.db.session() as session:
        nino = await make_member(session)
        poll, _ = await a_poll(session)
        await vote(session, poll, nino, 3, channel="sms")
        ballot = (await session.execute(select(PollBallot))).scalars().one()
    assert (ballot.member_id, ballot.channel, ballot.choices) == (nino.id, "sms", [3])


async def test_quick_presses_and_a_close_at_the_same_moment_stay_consistent(rt: Runtime) -> None:
    async with rt.db.session() as session:
        members = [await make_member(session) for _ in range(6)]
        poll, _ = await a_poll(session)
    assert poll.id is not None
    poll_id = poll.id

    async def press(member: Member, choice: int) -> None:
        async with rt.db.session() as session:
            fresh = await session.get(Poll, poll_id)
            assert fresh is not None
            with contextlib.suppress(PollError):
                await vote(session, fresh, member, choice)

    async def close() -> None:
        await asyncio.sleep(0.01)
        async with rt.db.session() as session:
            await close_poll(
                session=session, poll_id=poll_id, closed_by="t", app_secret=SECRET, now=T0
            )

    await asyncio.gather(*(press(m, 1 + n % 3) for m in members for n in range(3)), close())
    async with rt.db.session() as session:
        stored = await session.get(Poll, poll_id)
        kept = (await session.execute(select(PollBallot))).scalars().all()
    assert stored is not None and stored.final_results is not None
    assert stored.final_results["voters"] == len(kept)  # no vote slipped in after the freeze
    assert len({b.member_id for b in kept}) == len(kept)  # one ballot per member


# -- results and suppression ------------------------------------------------------------------
class B:
    def __init__(self, choice: int, community: int | None = 1, sector: str | None = "civil",
                 youth: bool | None = False, gender: str | None = "female") -> None:  # fmt: skip
        self.choices = [choice]
        self.community_id, self.sector, self.youth, self.gender = community, sector, youth, gender


def test_groups_smaller_than_five_are_shown_as_less_than_five() -> None:
    ballots = [B(1, community=1) for _ in range(6)] + [B(2, community=2) for _ in range(7)]
    ballots += [B(2, community=3) for _ in range(2)] + [B(1, community=4) for _ in range(3)]
    results = tally(2, 40, ballots)
    rows = {r.group: r for r in results.breakdowns["community"]}
    assert rows["1"] == GroupRow("1", voters=6, counts=[6, 0])
    assert rows["2"] == GroupRow("2", voters=7, counts=[0, 7])
    assert rows["3"].hidden == "small" and rows["3"].counts is None
    assert rows["4"].hidden == "small" and rows["4"].voters is None
    assert results.others["community"] == GroupRow("other", voters=5, counts=[3, 2])
    assert (results.voters, results.counts, results.turnout) == (18, [9, 9], 45)


def test_one_small_group_is_not_left_to_subtraction_from_the_totals() -> None:
    # Kabali 2 (hidden) would be totals minus the others: the next smallest is hidden too.
    ballots = [B(1, community=1) for _ in range(6)] + [B(2, community=2) for _ in range(9)]
    ballots += [B(2, community=7) for _ in range(2)]
    rows = {r.group: r for r in tally(2, 30, ballots).breakdowns["community"]}
    assert rows["7"].hidden == "small"
    assert rows["1"].hidden == "complement" and rows["2"].hidden is None


def test_suppression_never_shows_a_hidden_sum_under_five() -> None:
    rows, other = suppress({"a": [3, 0], "b": [1, 0]}, {"a": 3, "b": 1})
    assert [r.hidden for r in rows] == ["small", "small"] and other is None


# -- chart --------------------------------------------------------------------------------------
async def test_the_chart_gets_one_bar_per_answer_with_its_count(rt: Runtime) -> None:
    async with rt.db.session() as session:
        members = [await make_member(session) for _ in range(4)]
        poll, _ = await a_poll(session)
        for member, choice in zip(members, (2, 2, 2, 1), strict=True):
            await vote(session, poll, member, choice)
        results = await poll_results(session=session, poll=poll)
    data = chart_data(poll, results, "ka")
    assert [(b.label, b.count, b.percent) for b in data.bars] == [
        ("1) 3 დეკ", 1, 25), ("2) 5 დეკ", 3, 75), ("3) 10 დეკ", 0, 0),
    ]  # fmt: skip
    assert data.title.startswith(f"{poll.code} · რომელი") and "4 / 4" in data.footer
    png, boxes = render_chart(data)
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.format == "PNG" and image.size[0] == 900
    widths = [right - left for left, _, right, _ in boxes]
    assert widths[1] > 0 and widths[2] == 0 and widths[1] == pytest.approx(3 * widths[0], abs=2)
    pixels = Image.open(io.BytesIO(png)).convert("RGB")
    left, top, right, bottom = boxes[1]
    assert pixels.getpixel(((left + right) // 2, (top + bottom) // 2)) != (255, 255, 255)


def test_georgian_labels_get_a_font_with_georgian_glyphs() -> None:
    assert georgian_font_path() is not None  # DejaVu Sans has Georgian on this machine


# -- times --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("18:00", datetime(2030, 6, 12, 18, 0, tzinfo=TBILISI)),
        ("09:30", datetime(2030, 6, 13, 9, 30, tzinfo=TBILISI)),  # past today: tomorrow
        ("15.06 18:00", datetime(2030, 6, 15, 18, 0, tzinfo=TBILISI)),
        ("2030-07-01 12:00", datetime(2030, 7, 1, 12, 0, tzinfo=TBILISI)),
        ("20.06", datetime(2030, 6, 20, 23, 59, tzinfo=TBILISI)),
        ("90m", datetime(2030, 6, 12, 11, 30, tzinfo=TBILISI)),
        ("2h", datetime(2030, 6, 12, 12, 0, tzinfo=TBILISI)),
        ("3 დღე", datetime(2030, 6, 15, 10, 0, tzinfo=TBILISI)),
        ("2 недели", datetime(2030, 6, 26, 10, 0, tzinfo=TBILISI)),
    ],
)
def test_closing_times_are_read_in_tbilisi_time(typed: str, expected: datetime) -> None:
    assert parse_closing(typed, T0, TBILISI) == expected


@pytest.mark.parametrize("typed", ["tomorrow-ish", "31.02 10:00", "25:00", ""])
def test_unreadable_closing_times_are_refused(typed: str) -> None:
    assert parse_closing(typed, T0, TBILISI) is None


def test_the_reminder_goes_a_day_before_close_or_halfway_for_short_polls() -> None:
    assert reminder_time(T0, T0 + timedelta(days=5)) == T0 + timedelta(days=4)
    assert reminder_time(T0, T0 + timedelta(hours=6)) == T0 + timedelta(hours=3)
