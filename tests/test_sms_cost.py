"""What SMS cost: segment counting, Latin SMS for Georgian and Azerbaijani, who an audience
reaches on which channel, which language version each member gets, the monthly budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.runtime import Runtime
from bot.sms.encoding import sms_info
from bot.sms.translit import to_latin_sms
from models.audiences import Audience, audience_reach
from models.base import utcnow
from models.broadcast_costs import estimate_cost, month_sms_parts
from models.broadcasts import compose
from models.members import Member
from models.outbox import OutStatus, enqueue
from tests.factories import community_id, make_member
from tests.fakes.sms_segments import segment_count

# -- segment counting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "parts", "forcing"),
    [
        ("Kreba khval 11 saatze", "GSM-7", 1, None),
        ("a" * 160, "GSM-7", 1, None),
        ("a" * 161, "GSM-7", 2, None),
        ("€" * 80, "GSM-7", 1, None),  # the euro sign costs two septets
        ("€" * 81, "GSM-7", 2, None),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 3, None),  # an escape pair is never split
        ("[grant] {info} ~ | \\ ^", "GSM-7", 1, None),
        ("Kreba ხვალ", "UCS-2", 1, "ხ"),
        ("a" * 69 + "ა", "UCS-2", 1, "ა"),
        ("a" * 70 + "ა", "UCS-2", 2, "ა"),
        ("Görüş üçün", "UCS-2", 1, "ş"),  # ö ü are GSM-7, ş is not
        ("Görüşmək", "UCS-2", 1, "ş"),
        ("Gorus", "GSM-7", 1, None),
        ("Встреча завтра", "UCS-2", 1, "В"),
        ("It’s on Monday", "UCS-2", 1, "’"),  # a typographic apostrophe costs a lot
        ("🌧" * 35, "UCS-2", 1, "🌧"),  # surrogate pairs: two units each
        ("🌧" * 36, "UCS-2", 2, "🌧"),
    ],
)
def test_sms_parts_and_the_character_that_forces_ucs2(
    text: str, encoding: str, parts: int, forcing: str | None
) -> None:
    info = sms_info(text)
    assert (info.encoding, info.parts, info.forcing_char) == (encoding, parts, forcing)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aZ09 .,€[]{}~ხაშ\nВə🌧’ü"), max_size=400))
def test_our_count_agrees_with_the_reference_count(text: str) -> None:
    assert sms_info(text).parts == segment_count(text)


# -- Latin SMS ----------------------------------------------------------------------------------

ANNOUNCEMENTS = [
    "ძვირფასო წევრებო! ლაგოდეხის ადგილობრივი სამოქმედო ჯგუფი გიწვევთ საერთო კრებაზე, რომელიც "
    "გაიმართება 12 დეკემბერს, 11:00 საათზე, მუნიციპალიტეტის საკრებულოს დარბაზში. დღის "
    "წესრიგში: 2027 წლის სამოქმედო გეგმა და ახალი საგრანტო კონკურსი.",
    "ცხადდება საგრანტო კონკურსი მცირე ბიზნესისა და ფერმერებისთვის. გრანტის ოდენობა: 5 000-დან "
    "20 000 ლარამდე, თანადაფინანსება 20%. საპროექტო იდეების მიღება გრძელდება 15 იანვრამდე.",
    "ხვალ, 10 საათზე, კაბალის თემის ცენტრში შეხვედრაა გრანტების შესახებ. გელოდებით!",
    "ყურადღება! ძლიერი წვიმის გამო ლაგოდეხი-ჰერეთის გზა ჩაკეტილია. შეხვედრა აფენში გადაიდო.",
    "ტრენინგი ახალგაზრდებისთვის: როგორ დავწეროთ საპროექტო განაცხადი. 20-21 დეკემბერი, "
    "ნინიგორის სკოლა, 10:00-16:00.",
    "გამარჯობა! შეგახსენებთ: ხუთშაბათს 18:00-ზე გამგეობის სხდომაა ოფისში.",
]


def test_georgian_in_latin_letters_costs_about_half_the_parts() -> None:
    native = [sms_info(text + "\nშესაწყვეტად: STOP") for text in ANNOUNCEMENTS]
    latin = [sms_info(to_latin_sms(text + "\nშესაწყვეტად: STOP")) for text in ANNOUNCEMENTS]
    assert all(info.encoding == "UCS-2" for info in native)
    assert all(info.encoding == "GSM-7" for info in latin)
    for n, lat in zip(native, latin, strict=True):
        assert lat.parts <= -(-n.parts // 2)  # at most half, rounded up
    total_native, total_latin = sum(i.parts for i in native), sum(i.parts for i in latin)
    assert (total_native, total_latin) == (15, 8)  # 1.9× fewer parts on these six
    # In characters the cut is larger still: 67 UCS-2 units vs 153 septets per part.
    assert sum(i.units for i in native) / 67 > 2.1 * sum(i.units for i in latin) / 153


def test_romanization_follows_the_national_system_without_apostrophes() -> None:
    assert to_latin_sms("წყალი ჭიაურში, ყაბალი, ღვინო, ჟურნალი, ძმა") == (
        "tsqali chiaurshi, qabali, ghvino, zhurnali, dzma"
    )
    assert to_latin_sms("„ლაგოდეხი“ — 2026") == '"lagodekhi" - 2026'


def test_azerbaijani_letters_are_simplified_for_latin_sms() -> None:
    text = "Qrant müsabiqəsi: ərizələr dekabrın 15-dək qəbul edilir. Ətraflı: Şəhla xanım"
    assert to_latin_sms(text) == (
        "Qrant müsabiqesi: erizeler dekabrin 15-dek qebul edilir. Etrafli: Sehla xanim"
    )
    assert sms_info(text).encoding == "UCS-2"
    assert sms_info(to_latin_sms(text)).encoding == "GSM-7"


# -- audiences, reach and language ---------------------------------------------------------------


async def test_reach_counts_per_channel_for_normal_and_urgent_messages(rt: Runtime) -> None:
    async with rt.db.session() as session:
        kabali = await community_id(session, "kabali")
        await make_member(session, community="kabali")  # Telegram and phone
        await make_member(session, community="kabali", telegram=False)  # SMS only
        await make_member(session, community="kabali", phone=False)  # Telegram only
        await make_member(session, community="kabali", telegram_unreachable_at=utcnow())
        await make_member(session, community="kabali", phone=False,
                          telegram_unreachable_at=utcnow())  # blocked, no phone  # fmt: skip
        await make_member(session, community="kabali", telegram=False, sms_opt_out_at=utcnow())
        await make_member(session, community="kabali", consent_announcements=False)
        await make_member(session, community="pona")
        audience = Audience(communities=[kabali])
        normal = await audience_reach(session=session, audience=audience, now=utcnow())
        urgent = await audience_reach(session=session, audience=audience, now=utcnow(), urgent=True)
    assert (normal.total, normal.telegram, normal.sms, normal.unreachable, normal.opted_out) == (
        4, 2, 2, 1, 2,
    )  # fmt: skip
    assert (urgent.total, urgent.telegram, urgent.sms) == (4, 2, 3)


@pytest.mark.parametrize(
    ("language", "texts", "gets"),
    [
        ("az", {"ka": "ka", "ru": "ru", "az": "az"}, "az"),
        ("az", {"ka": "ka", "ru": "ru"}, "ru"),  # never Georgian when Russian exists
        ("az", {"ka": "ka"}, "ka"),
        ("ru", {"ka": "ka", "en": "en"}, "ka"),
        ("en", {"ka": "ka", "ru": "ru"}, "ka"),
        ("ka", {"ka": "ka", "en": "en"}, "ka"),
    ],
)
def test_each_member_gets_their_language_or_the_fallback(
    language: str, texts: dict[str, str], gets: str
) -> None:
    message = compose(texts, Member(language=language))
    assert (message.language, message.text) == (gets, gets)


async def test_the_estimate_counts_each_recipient_in_their_version_and_script(rt: Runtime) -> None:
    async with rt.db.session() as session:
        await make_member(session, telegram=False, language="ka")
        await make_member(session, telegram=False, language="ka", sms_script="latin")
        await make_member(session, telegram=False, language="az")  # gets Russian
        await make_member(session, language="en")  # Telegram: no SMS cost
        reach = await audience_reach(session=session, audience=Audience(), now=utcnow())
    texts = {"ka": ANNOUNCEMENTS[2], "ru": "Завтра в 10:00 встреча о грантах в Кабали."}
    estimate = estimate_cost(
        texts=texts, reach=reach, urgent=False, settings=rt.settings, month_spent=0.0
    )
    ka, ru = estimate.versions["ka"], estimate.versions["ru"]
    assert (ka.sms_native, ka.sms_latin, ka.telegram_recipients) == (1, 1, 1)
    assert (ru.sms_native, ru.sms_latin) == (1, 0)
    assert estimate.sms_parts == ka.native.parts + ka.latin.parts + ru.native.parts == 2 + 1 + 1
    assert estimate.cost == pytest.approx(4 * rt.settings.sms_price_per_part)


async def test_this_months_spend_counts_sent_and_waiting_sms_only(rt: Runtime) -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    async with rt.db.session() as session:

        async def sms(text: str, status: str, segments: int = 0, **fields: object) -> None:
            row = await enqueue(session=session, channel="sms", provider="twilio",
                                address="+995599000001", text=text)  # fmt: skip
            row.status, row.segments, row.created_at = status, segments, now
            for name, value in fields.items():
                setattr(row, name, value)
            session.add(row)

        await sms("sent", OutStatus.DELIVERED, 3)
        await sms("ხვალ კრებაა", OutStatus.QUEUED)  # waiting: 1 part, estimated
        await sms("never accepted", OutStatus.FAILED, 0)
        await sms("cancelled", OutStatus.CANCELLED, 0)
        await sms("last month", OutStatus.DELIVERED, 5, created_at=now - timedelta(days=30))
        await sms("simulated", OutStatus.DELIVERED, 2, provider="simulator")
        parts = await month_sms_parts(session=session, settings=rt.settings, now=now)
    assert parts == 4
