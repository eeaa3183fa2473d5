"""What the secretariat types for a grant call, read and checked: amounts, percentages, links,
dates of phases, event codes — and the vocabulary (applicant types, phases in their order) and
the whole-call checks (texts, terms, phases in order). Every refusal is a `GrantInputError`
with a catalog key.

Shared by /newgrant, /editgrant and (later) the dashboard, so a value is judged the same way
everywhere. Nothing here touches the database.
"""

from __future__ import annotations

import enum
import re
import tomllib
import unicodedata
from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path

from bot.settings import PACKAGE_DATA
from bot.text_input import scrub
from models.events import EventInputError, event_id_from_code, parse_local_datetime

PRIORITIES_FILE = PACKAGE_DATA / "grant_priorities.toml"
MAX_TITLE = 200
MAX_DESCRIPTION = 3000
MAX_URL = 500
MAX_IDEA = 200
MAX_AMOUNT = 10_000_000  # GEL; anything above is a typo
DEFAULT_DEADLINE_TIME = "18:00"  # a deadline typed as a date only closes at the end of the day
DEFAULT_PHASE_TIME = "10:00"  # other phases typed as a date only

_DASHES = re.compile(r"\s*(?:-|–|—|\.\.|to|до|dək|მდე)\s*", re.IGNORECASE)
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


class ApplicantType(enum.StrEnum):
    INDIVIDUAL = "individual"
    COMPANY = "company"
    COOPERATIVE = "cooperative"
    NGO = "ngo"
    INITIATIVE_GROUP = "initiative_group"
    MUNICIPAL = "municipal"


APPLICANT_TYPES: tuple[str, ...] = tuple(ApplicantType)
# The dated phases in their required order (columns of GrantCall). Info sessions come first.
PHASES: tuple[str, ...] = (
    "idea_deadline",
    "shortlist_at",
    "training_at",
    "full_deadline",
    "interviews_at",
    "results_at",
    "contract_at",
)
DEADLINES: tuple[str, ...] = ("idea_deadline", "full_deadline")
REQUIRED_PHASES = frozenset(DEADLINES)


class GrantInputError(ValueError):
    """Input that cannot be used; `key` is the catalog message, `values` its placeholders.

    Values may hold phase names (`phase`, `previous`: codes of models.grants.PHASES) and
    datetimes; the adapter renders them in the reader's language.
    """

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class GrantStateError(ValueError):
    """The call or the application is not in a state that allows this; `key` says why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", scrub(text)).split())


def check_title(text: str) -> str:
    title = clean(text)
    if not title:
        raise GrantInputError("grants.err_title_required")
    if len(title) > MAX_TITLE:
        raise GrantInputError("grants.err_too_long", limit=MAX_TITLE)
    return title


def check_description(text: str, *, required: bool) -> str:
    description = unicodedata.normalize("NFC", scrub(text)).strip()
    if required and not description:
        raise GrantInputError("grants.err_description_required")
    if len(description) > MAX_DESCRIPTION:
        raise GrantInputError("grants.err_too_long", limit=MAX_DESCRIPTION)
    return description


def _number(text: str) -> int:
    digits = re.sub(r"[\s,'’_\u00a0\u202f]", "", text)
    digits = digits.removesuffix("gel").removesuffix("ლარი").removesuffix("₾")
    if not digits.isdigit():
        raise GrantInputError("grants.err_amount_format")
    return int(digits)


def parse_amount_range(text: str) -> tuple[int, int]:
    """`1000-20000`, `1 000 – 150 000`, `1,000 to 150,000 GEL` → (1000, 150000) in GEL.

    One number is both the smallest and the largest grant.
    """
    cleaned = clean(text).casefold().replace("gel", "").replace("ლარი", "").replace("₾", "")
    parts = [part for part in _DASHES.split(cleaned.strip()) if part.strip()]
    if len(parts) not in (1, 2):
        raise GrantInputError("grants.err_amount_format")
    low, high = _number(parts[0]), _number(parts[-1])
    if low <= 0 or high > MAX_AMOUNT:
        raise GrantInputError("grants.err_amount_bounds", limit=MAX_AMOUNT)
    if low > high:
        raise GrantInputError("grants.err_amount_order")
    return low, high


def parse_percent(text: str) -> int:
    """The applicant's own contribution: `10`, `10%`, `0` (none) → an integer 0–90."""
    cleaned = clean(text).rstrip("%").strip()
    if not re.fullmatch(r"\d{1,3}", cleaned) or int(cleaned) > 90:
        raise GrantInputError("grants.err_percent")
    return int(cleaned)


def parse_url(text: str) -> str:
    url = clean(text)
    if not url.casefold().startswith(("http://", "https://")) and "." in url and " " not in url:
        url = "https://" + url
    if len(url) > MAX_URL or not _URL.match(url):
        raise GrantInputError("grants.err_url")
    return url


def parse_phase_time(text: str, *, deadline: bool, tz: tzinfo, now: datetime) -> datetime:
    """A phase date in the LAG's time zone → aware UTC; a date alone gets a default hour."""
    parts = clean(text).replace("T", " ").split()
    if len(parts) == 1:
        parts.append(DEFAULT_DEADLINE_TIME if deadline else DEFAULT_PHASE_TIME)
    try:
        return parse_local_datetime(" ".join(parts), tz=tz, now=now)
    except EventInputError as exc:
        key = "grants.err_no_such_date" if exc.key == "events.err_no_such_date" else None
        raise GrantInputError(key or "grants.err_date_format") from exc


def parse_event_codes(text: str) -> list[int]:
    """`E12, E14` / `e12 е14` / `12` → [12, 14] (order kept, repeats dropped)."""
    ids: list[int] = []
    for token in re.split(r"[,;\s]+", clean(text)):
        if not token:
            continue
        event_id = event_id_from_code(token)
        if event_id is None:
            raise GrantInputError("grants.err_event_code", code=token)
        if event_id not in ids:
            ids.append(event_id)
    if not ids:
        raise GrantInputError("grants.err_event_code", code=text.strip() or "?")
    return ids


def check_idea_title(text: str) -> str:
    title = clean(text)
    if len(title) > MAX_IDEA:
        raise GrantInputError("grants.err_too_long", limit=MAX_IDEA)
    return title


@lru_cache(maxsize=4)
def load_priorities(path: Path = PRIORITIES_FILE) -> tuple[tuple[str, dict[str, str]], ...]:
    """(code, names by language) of the LDS priority areas in the data file."""
    with path.open("rb") as fh:
        rows = tomllib.load(fh).get("priority", [])
    return tuple(
        (str(row["code"]), {k: str(v) for k, v in row.items() if k != "code"}) for row in rows
    )


def priority_name(code: str, language: str, path: Path = PRIORITIES_FILE) -> str:
    for known, names in load_priorities(path):
        if known == code:
            return names.get(language) or names.get("ka") or code
    return code


# -- a call checked as a whole ---------------------------------------------------------------


def check_texts(title: dict[str, str], description: dict[str, str]) -> None:
    if not (title.get("ka") or "").strip():
        raise GrantInputError("grants.err_title_required")
    if not (description.get("ka") or "").strip():
        raise GrantInputError("grants.err_description_required")
    if any(len(text) > MAX_TITLE for text in title.values()):
        raise GrantInputError("grants.err_too_long", limit=MAX_TITLE)
    if any(len(text) > MAX_DESCRIPTION for text in description.values()):
        raise GrantInputError("grants.err_too_long", limit=MAX_DESCRIPTION)


def check_terms(
    priorities: list[str], applicant_types: list[str], low: int, high: int, pct: int
) -> None:
    known = {code for code, _ in load_priorities()}
    if not priorities or set(priorities) - known:
        raise GrantInputError("grants.err_priorities")
    if not applicant_types or set(applicant_types) - set(APPLICANT_TYPES):
        raise GrantInputError("grants.err_types")
    if low <= 0 or low > high:
        raise GrantInputError("grants.err_amount_order")
    if not 0 <= pct <= 90:
        raise GrantInputError("grants.err_percent")


def check_phases(
    phases: dict[str, datetime | None],
    *,
    now: datetime,
    future: set[str] | None = None,
    sessions: list[datetime] | None = None,
    complete: bool = True,
) -> None:
    """Deadlines present (unless not `complete`: a form half filled), every phase later than
    the one before, the phases in `future` (default: all) after `now`, and info sessions
    (their start times) before the idea deadline."""
    for name in REQUIRED_PHASES if complete else ():
        if phases.get(name) is None:
            raise GrantInputError("grants.err_phase_missing", phase=name)
    previous: tuple[str, datetime] | None = None
    for name in PHASES:
        moment = phases.get(name)
        if moment is None:
            continue
        if (future is None or name in future) and moment <= now:
            raise GrantInputError("grants.err_phase_past", phase=name)
        if previous is not None and moment <= previous[1]:
            raise GrantInputError(
                "grants.err_phase_order", phase=name, previous=previous[0], when=previous[1]
            )
        previous = (name, moment)
    idea = phases.get("idea_deadline")
    if idea is not None and sessions and max(sessions) >= idea:
        raise GrantInputError("grants.err_session_after_deadline", when=idea)
