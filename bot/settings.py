"""All configuration, read once from the environment and `.env` (pydantic-settings)."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LANGUAGES: tuple[str, ...] = ("ka", "az", "ru", "en")
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "xxx", "dev", "test", "placeholder"}
PACKAGE_DATA = Path(__file__).resolve().parent.parent / "models" / "data"


class SettingsError(Exception):
    """A setting is wrong or missing; the message is one line naming it."""


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


class Settings(BaseSettings):
    """lagbot's settings; every field is documented in the README's configuration table."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    environment: Literal["dev", "test", "production"] = "dev"
    database_url: str = "sqlite+aiosqlite:///./data/lagbot.sqlite3"
    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_poll_timeout: int = Field(default=20, ge=0, le=50)
    # Twilio
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    # SMS Gateway for Android (a local SIM)
    sms_gateway_url: str | None = None
    sms_gateway_username: str | None = None
    sms_gateway_password: SecretStr | None = None
    sms_gateway_signing_key: SecretStr | None = None
    sms_outbound_provider: Literal["twilio", "gateway"] = "twilio"
    # Web
    public_base_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    web_secret_key: SecretStr | None = None
    # Locale
    timezone: str = "Asia/Tbilisi"
    default_language: Literal["ka", "az", "ru", "en"] = "ka"
    # Bootstrap admins
    secretariat_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    secretariat_phones: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Membership rules (confirm with the LAG: kept as settings)
    youth_min_age: int = 14
    youth_max_age: int = 29
    consent_age: int = 16
    consent_text_version: str = "2026-11"
    # Delivery
    sms_price_per_part: float = 0.05
    sms_currency: str = "USD"
    sms_monthly_budget: float = 50.0
    sms_quiet_weekdays: str = "22:00-08:00"
    sms_quiet_weekends: str = "20:00-09:00"
    telegram_rate_per_second: float = 25.0
    sms_rate_per_second: float = 1.0
    # A claimed outbox row whose holder stopped renewing it for this long is re-queued.
    delivery_claim_lease_seconds: float = Field(default=120.0, ge=1.0)
    gateway_rate_per_window: int = 30
    gateway_rate_window_seconds: int = 1800
    # Scheduler
    # Bounded: each tick reads every provider's tables, so a tiny value only burns the CPU.
    scheduler_tick_seconds: float = Field(default=30.0, ge=0.1, le=3600.0)
    digest_weekday: int = Field(default=0, ge=0, le=6)
    digest_hour: int = Field(default=10, ge=0, le=23)
    # Events (the statute's quorum is not public: confirm with the LAG)
    assembly_quorum: float = Field(default=0.5, gt=0, le=1)  # share of formal LAG members
    assembly_quorum_strict: bool = True  # True: more than that share; False: at least it
    event_reminders_assembly: str = "7d,1d,2h"  # general assembly, to the whole audience
    event_reminders_training: str = "1d,2h"  # trainings, workshops, seminars, info sessions
    event_reminders_board: str = "2d,2h"  # board meetings, to the board
    # Data files (another LAG swaps these)
    communities_file: Path = PACKAGE_DATA / "communities.toml"
    interests_file: Path = PACKAGE_DATA / "interests.toml"
    holidays_file: Path = PACKAGE_DATA / "holidays.toml"
    log_level: str = "INFO"

    _split_ids = field_validator("secretariat_telegram_ids", mode="before")(_split_csv)
    _split_phones = field_validator("secretariat_phones", mode="before")(_split_csv)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.split(":///", 1)[1]
        if not (
            value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")
        ):
            raise ValueError("use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db")
        return value

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> Settings:
        if self.environment == "dev":
            return self
        for name in (
            "telegram_bot_token",
            "telegram_webhook_secret",
            "twilio_auth_token",
            "sms_gateway_password",
            "sms_gateway_signing_key",
            "web_secret_key",
        ):
            secret = getattr(self, name)
            if (
                secret is not None
                and secret.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
            ):
                raise ValueError(f"{name.upper()} is a placeholder; set a real secret")
        if self.environment == "production" and self.web_secret_key is None:
            raise ValueError("WEB_SECRET_KEY must be set in production")
        return self

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None and bool(
            self.telegram_bot_token.get_secret_value()
        )

    @property
    def twilio_enabled(self) -> bool:
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token
            and (self.twilio_from or self.twilio_messaging_service_sid)
        )

    @property
    def gateway_enabled(self) -> bool:
        return bool(
            self.sms_gateway_url and self.sms_gateway_username and self.sms_gateway_password
        )

    @property
    def secret_key(self) -> str:
        """The key that signs cookies and links; dev falls back to a fixed one."""
        if self.web_secret_key is not None:
            return self.web_secret_key.get_secret_value()
        if self.telegram_bot_token is not None:
            return "lagbot:" + self.telegram_bot_token.get_secret_value()
        return "lagbot-dev-only-secret"


def describe_error(exc: ValidationError) -> str:
    """One line naming the first bad setting, e.g. `HTTP_PORT: Input should be ...`."""
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"]).upper() or "settings"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"invalid setting {name}: {message}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a bad value raises SettingsError with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_error(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
