"""What villagers type, in four scripts, and how the SMS layer reads and counts it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sms.encoding import sms_info
from bot.sms.grammar import parse_code, parse_numbers, token_variants
from bot.sms.translit import keyboard_to_georgian, romanize, to_latin_sms


@pytest.mark.parametrize(
    ("typed", "code"),
    [("E12", "e12"), ("e12", "e12"), ("Е12", "e12"), ("Р7", "p7"), ("ე12", "e12"), ("G3", "g3")],
)
def test_codes_in_any_script(typed: str, code: str) -> None:
    assert parse_code(typed) == code


@pytest.mark.parametrize("typed", ["E", "12", "EE12", "E12345678", "hello"])
def test_not_codes(typed: str) -> None:
    assert parse_code(typed) is None


def test_numbers_never_merge() -> None:
    assert parse_numbers("2") == [2]
    assert parse_numbers("1,3") == [1, 3]
    assert parse_numbers("1 3") == [1, 3]
    assert parse_numbers("1, 3") == [1, 3]
    assert parse_numbers("13") == [13]
    assert parse_numbers("a") is None


def test_georgian_keyword_spellings_meet() -> None:
    assert "tsevri" in token_variants("წევრი")
    assert "tsevri" in token_variants("wevri")  # Georgian typed on a Latin keyboard
    assert "tsevri" in token_variants("tsevri")
    assert "stop" in token_variants("STOP")
    assert "стоп" in token_variants("СТОП")


def test_casefold_not_upper_for_georgian() -> None:
    assert "ა".upper() != "ა"  # U+1C90: why upper() must never be used for matching
    assert "ა" in token_variants("Ა")


def test_romanization_drops_apostrophes_and_is_gsm7() -> None:
    text = "ლაგოდეხის ადგილობრივი განვითარების ჯგუფი — ყრილობა 12 დეკემბერს"
    latin = to_latin_sms(text)
    assert latin.startswith("lagodekhis adgilobrivi ganvitarebis jgupi - qriloba")
    assert sms_info(latin).encoding == "GSM-7"
    assert sms_info(text).encoding == "UCS-2"
    assert keyboard_to_georgian("wevri") == "წევრი"
    assert romanize("ჭიაური") == "chiauri"


ANNOUNCEMENTS = [
    "ლაგოდეხის ადგილობრივი განვითარების ჯგუფი გიწვევთ ტრენინგზე „ბიზნეს გეგმის წერა“, "
    "რომელიც გაიმართება 12 დეკემბერს, 11:00 საათზე, ლაგოდეხის მუნიციპალიტეტის საკრებულოს "
    "დარბაზში. ტრენინგი უფასოა. ადგილების რაოდენობა შეზღუდულია. დასწრება დაადასტურეთ: "
    "YES E12, უარი: NO E12.",
    "გენერალური ასამბლეა შედგება 20 დეკემბერს 12:00 საათზე, ნინიგორის საჯარო სკოლაში. "
    "დღის წესრიგი: 2027 წლის ბიუჯეტი, მმართველობითი საბჭოს ანგარიში, ახალი წევრების მიღება "
    "და საგრანტო კონკურსის პირობები. გთხოვთ დაადასტუროთ დასწრება: YES E14.",
]


@pytest.mark.parametrize("announcement", ANNOUNCEMENTS)
def test_latin_script_at_least_halves_georgian_sms_parts(announcement: str) -> None:
    native, latin = sms_info(announcement), sms_info(to_latin_sms(announcement))
    assert latin.encoding == "GSM-7"
    assert native.parts >= 2 * latin.parts


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("{" * 80, "GSM-7", 1),
        ("{" * 81, "GSM-7", 2),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 3),  # an escape pair is never split
        ("ა" * 70, "UCS-2", 1),
        ("ა" * 71, "UCS-2", 2),
        ("a" * 69 + "ə", "UCS-2", 1),
        ("ö" * 160, "GSM-7", 1),
        ("😀" * 35, "UCS-2", 1),
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_segments(text: str, encoding: str, parts: int) -> None:
    info = sms_info(text)
    assert (info.encoding, info.parts) == (encoding, parts)


def test_forcing_character_is_named() -> None:
    assert sms_info("Meeting at 10, see you — LAG").forcing_char == "—"


@given(st.text(max_size=300))
def test_any_text_is_countable_and_normalizable(text: str) -> None:
    info = sms_info(text)
    assert info.parts >= 0
    for word in text.split():
        token_variants(word)
        parse_code(word)
    parse_numbers(text)
    to_latin_sms(text)
