"""What a member may answer for each profile field: validation, choices and their labels.

Shared by registration (Telegram and SMS), /profile and the CSV import, so a name, a phone
or a birth year is judged the same way everywhere. Errors are `FieldError(key, **values)`
with an i18n key; nothing here knows about channels.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import phonenumbers

from bot.i18n import t
from bot.sms.grammar import token_variants
from bot.sms.translit import romanize
from bot.text_input import scrub
from models.communities import Community
from models.members import Gender, InvalidPhone, Sector, normalize_phone

NAME_MIN, NAME_MAX = 2, 100
VILLAGE_MAX = 100
ORGANISATION_MAX = 200
OLDEST_AGE = 110
YOUNGEST_PLAUSIBLE_AGE = 5  # a younger "age" is a typo, not a child: asked again
REFUSED_BELOW_AGE = 14  # younger people are politely refused

SECTORS: tuple[str, ...] = (Sector.PUBLIC, Sector.PRIVATE, Sector.CIVIL)
GENDERS: tuple[str, ...] = (Gender.FEMALE, Gender.MALE, Gender.UNSAID)

_LINK = re.compile(r"(https?:|www\.|t\.me/|@|\.(com|ge|ru|az|net|org|info)\b)", re.IGNORECASE)
_NAME_PUNCTUATION = frozenset(" -'’.")

YES_WORDS = frozenset(
    {"yes", "y", "ok", "1", "კი", "ki", "დიახ", "diakh", "да", "da", "bəli", "beli", "hə", "he",
     "ha", "agree", "ვეთანხმები", "vetankhmebi", "согласен", "согласна", "razıyam", "raziyam"}
)  # fmt: skip
NO_WORDS = frozenset(
    {"no", "n", "2", "არა", "ara", "нет", "net", "xeyr", "yox", "yoh", "not"}
)  # fmt: skip


class FieldError(ValueError):
    """An answer that cannot be used; `key` is the i18n message telling why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Choice:
    """One option of a question: `code` goes into callback data or is matched by number."""

    code: str
    label: str
    latin: str | None = None  # the label in plain Latin letters, when it has its own
    selected: bool = False


@dataclass(frozen=True)
class Interest:
    code: str
    names: dict[str, str] = field(default_factory=dict)

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("ka") or self.code


# -- text fields ------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", scrub(text)).split())


def validate_name(text: str) -> str:
    """A person's name: 2–100 characters, letters of any script, no digits, links or emoji."""
    name = clean_text(text)
    if not name:
        raise FieldError("registration.err_name_empty")
    if _LINK.search(name):
        raise FieldError("registration.err_name_link")
    if any(ch.isdigit() for ch in name):
        raise FieldError("registration.err_name_digits")
    letters = sum(1 for ch in name if unicodedata.category(ch).startswith("L"))
    if letters < NAME_MIN:
        raise FieldError("registration.err_name_letters")
    if len(name) > NAME_MAX:
        raise FieldError("registration.err_name_long", max=NAME_MAX)
    for ch in name:
        category = unicodedata.category(ch)
        if not (category.startswith("L") or category.startswith("M") or ch in _NAME_PUNCTUATION):
            raise FieldError("registration.err_name_chars")
    return name


def validate_village(text: str) -> str:
    village = clean_text(text)
    letters = sum(1 for ch in village if unicodedata.category(ch).startswith("L"))
    if letters < 2 or _LINK.search(village):
        raise FieldError("registration.err_village")
    if len(village) > VILLAGE_MAX:
        raise FieldError("registration.err_village_long", max=VILLAGE_MAX)
    return village


def validate_organisation(text: str) -> str:
    organisation = clean_text(text)
    if not organisation or len(organisation) > ORGANISATION_MAX:
        raise FieldError("members.err_organisation", max=ORGANISATION_MAX)
    return organisation


def parse_phone(text: str) -> str:
    """E.164 for a mobile number (Georgian by default); landlines get their own message."""
    try:
        return normalize_phone(text)
    except InvalidPhone:
        pass
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    try:
        number = phonenumbers.parse(digits, "GE") if digits else None
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is not None
        and phonenumbers.is_valid_number(number)
        and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE
    ):
        raise FieldError("registration.err_phone_landline")
    raise FieldError("registration.err_phone")


def parse_birth_year(text: str, *, this_year: int) -> int:
    """A four-digit year; impossible years are asked again (ages under 14 are judged later)."""
    cleaned = clean_text(text).strip(" .")
    if not re.fullmatch(r"\d{4}", cleaned):
        raise FieldError("registration.err_year_format")
    year = int(cleaned)
    if year > this_year - YOUNGEST_PLAUSIBLE_AGE or year < this_year - OLDEST_AGE:
        raise FieldError("registration.err_year_range")
    return year


def age_rule(birth_year: int, *, this_year: int, consent_age: int) -> str:
    """`refused` under 14, `guardian` under the consent age, else `ok`."""
    age = this_year - birth_year
    if age < REFUSED_BELOW_AGE:
        return "refused"
    if age < consent_age:
        return "guardian"
    return "ok"


def is_youth_year(birth_year: int | None, *, this_year: int, low: int, high: int) -> bool:
    return birth_year is not None and low <= this_year - birth_year <= high


def parse_yes_no(text: str) -> bool | None:
    words = clean_text(text).split()
    if len(words) != 1:
        return None
    variants = token_variants(words[0])
    if variants & YES_WORDS:
        return True
    if variants & NO_WORDS:
        return False
    return None


# -- choices ----------------------------------------------------------------------------------


def sector_choices(language: str) -> list[Choice]:
    return [Choice(code, sector_label(code, language)) for code in SECTORS]


def sector_label(code: str | None, language: str) -> str:
    labels: dict[str, str] = {
        Sector.PUBLIC: t("registration.sector_public", language),
        Sector.PRIVATE: t("registration.sector_private", language),
        Sector.CIVIL: t("registration.sector_civil", language),
    }
    return labels.get(code or "", "—")


def gender_choices(language: str) -> list[Choice]:
    return [
        Choice(Gender.FEMALE, t("registration.gender_female", language)),
        Choice(Gender.MALE, t("registration.gender_male", language)),
        Choice(Gender.UNSAID, t("registration.gender_unsaid", language)),
    ]


def gender_label(code: str | None, language: str) -> str:
    for choice in gender_choices(language):
        if choice.code == code:
            return choice.label
    return "—"


def community_choices(communities: list[Community], language: str) -> list[Choice]:
    return [Choice(str(c.id), c.name(language), latin=c.name_latin) for c in communities]


@lru_cache(maxsize=4)
def load_interests(path: Path) -> tuple[Interest, ...]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    rows = data.get("interest", [])
    return tuple(
        Interest(str(row["code"]), {k: str(v) for k, v in row.items() if k != "code"})
        for row in rows
    )


def interest_choices(path: Path, language: str, selected: list[str]) -> list[Choice]:
    return [
        Choice(i.code, i.name(language), selected=i.code in selected) for i in load_interests(path)
    ]


def interest_labels(path: Path, codes: list[str], language: str) -> list[str]:
    """Names of the chosen interests, in the data file's order."""
    chosen = set(codes)
    return [i.name(language) for i in load_interests(path) if i.code in chosen]


def _folded(text: str) -> set[str]:
    """Ways a typed answer may match a label: casefolded, romanized, keyboard-layout Latin."""
    text = clean_text(text)
    forms = {text.casefold(), romanize(text.casefold())}
    if len(text.split()) == 1:
        forms |= token_variants(text)
    return {f.strip(" .") for f in forms if f}


def match_choice(text: str, choices: list[Choice]) -> Choice | None:
    """A typed answer: the option's number (1-based) or its label in any script."""
    cleaned = clean_text(text).strip(" .)")
    if cleaned.isdigit() and cleaned.isascii():
        index = int(cleaned)
        return choices[index - 1] if 1 <= index <= len(choices) else None
    typed = _folded(cleaned)
    if not typed:
        return None
    for choice in choices:
        labels = _folded(choice.label) | (_folded(choice.latin) if choice.latin else set())
        labels.add(choice.code.casefold())
        if typed & labels:
            return choice
    return None


def match_community(text: str, communities: list[Community]) -> Community | None:
    """A community by number, code, or name in any language or script (for typed answers)."""
    choices = [
        Choice(str(c.id), name, latin=c.name_latin)
        for c in communities
        for name in (c.name_ka, c.name_az, c.name_ru, c.name_en)
    ]
    cleaned = clean_text(text).strip(" .)")
    if cleaned.isdigit() and cleaned.isascii():
        index = int(cleaned)
        return communities[index - 1] if 1 <= index <= len(communities) else None
    by_code = {c.code: c for c in communities}
    if cleaned.casefold() in by_code:
        return by_code[cleaned.casefold()]
    found = match_choice(cleaned, choices)
    if found is None:
        return None
    return next(c for c in communities if str(c.id) == found.code)


def match_sector(text: str) -> str | None:
    """A sector by number (1–3), code or name in any of the four languages."""
    choices = [
        Choice(code, sector_label(code, language))
        for language in ("ka", "az", "ru", "en")
        for code in SECTORS
    ]
    cleaned = clean_text(text).strip(" .)")
    if cleaned in ("1", "2", "3"):
        return SECTORS[int(cleaned) - 1]
    aliases = {
        "public": Sector.PUBLIC, "state": Sector.PUBLIC, "საჯარო": Sector.PUBLIC,
        "private": Sector.PRIVATE, "business": Sector.PRIVATE, "კერძო": Sector.PRIVATE,
        "civil": Sector.CIVIL, "ngo": Sector.CIVIL, "სამოქალაქო": Sector.CIVIL,
        "государственный": Sector.PUBLIC, "частный": Sector.PRIVATE,
        "гражданский": Sector.CIVIL, "dövlət": Sector.PUBLIC, "özəl": Sector.PRIVATE,
        "vətəndaş": Sector.CIVIL,
    }  # fmt: skip
    for word in _folded(cleaned):
        if word in aliases:
            return aliases[word]
    found = match_choice(cleaned, choices) if not cleaned.isdigit() else None
    return found.code if found else None
