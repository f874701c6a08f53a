"""One settings object, read from `CONTACTCENTER_*` environment variables and `DATABASE_URL`.

With nothing set the service runs on SQLite under `./data` and listens on 127.0.0.1:8080. A wrong
value stops start-up with one line naming the variable and what is wrong with it.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PREFIX = "CONTACTCENTER_"
# Variables under this prefix belong to the test suite and benchmarks, not to the service.
_NOT_SETTINGS = ("CONTACTCENTER_TEST_", "CONTACTCENTER_BENCH_")


class SettingsError(ValueError):
    """A setting that stops start-up; str() is the one line shown to the admin."""


@dataclass(frozen=True, slots=True)
class Mailbox:
    """A mailbox to poll, from `CONTACTCENTER_IMAP_URL` (a value of the settings)."""

    host: str
    port: int
    user: str
    password: str
    folder: str
    tls: bool

    @classmethod
    def from_url(cls, url: str) -> Mailbox:
        """`imaps://user:password@host[:port]/INBOX` (or `imap://` without TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise ValueError(f"{url!r} is not imaps://user:password@host/FOLDER")
        tls = parts.scheme == "imaps"
        return cls(
            parts.hostname,
            parts.port or (993 if tls else 143),
            unquote(parts.username),
            unquote(parts.password or ""),
            unquote(parts.path.lstrip("/")) or "INBOX",
            tls,
        )

    def __str__(self) -> str:  # no password in logs or sources
        return f"imap:{self.user}@{self.host}/{self.folder}"


class Settings(BaseModel):
    """Every setting of the service; the README's configuration table lists them all."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means SQLite in the data directory."
    )
    data_dir: Path = Field(default=Path("data"), description="Database, attachments, state.")
    host: str = Field(default="127.0.0.1", min_length=1, description="Address to listen on.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port to listen on.")
    default_region: str = Field(
        default="US", description="Region for phone and fax numbers written without '+'."
    )
    chat_origins: str = Field(
        default="",
        description="Sites whose pages may open the chat widget, comma-separated "
        "(https://www.example.com); the service's own pages always may.",
    )
    chat_identity_secret: str = Field(
        default="",
        description="Secret shared with the host site, which signs its logged-in users for the "
        "chat widget (HMAC-SHA256); empty: no signed identities.",
    )
    chat_reconnect_seconds: float = Field(
        default=60,
        ge=0.1,
        le=3600,
        description="How long a chat waits for its visitor to reconnect before a chat still "
        "with the bot or in the queue is abandoned.",
    )
    console_grace_seconds: float = Field(
        default=60,
        ge=0.1,
        le=3600,
        description="An available agent whose last console (event stream) has been gone this "
        "long is set away, with the reason shown to supervisors.",
    )
    chat_idle_minutes: float = Field(
        default=15,
        ge=0.01,
        le=1440,
        description="A chat with the bot or an agent closes, with a notice, after this long "
        "without a line.",
    )
    chat_frames_per_address: int = Field(
        default=100,
        ge=1,
        description="Chat frames one client address may send in 10 seconds (one connection: "
        "20); beyond them a warning, then the connection is closed.",
    )
    semantic_search: bool = Field(
        default=True,
        description="Rank knowledge-base articles by meaning too, when the semantic extra is "
        "installed; false: by words only.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body.")
    session_hours: float = Field(default=12.0, gt=0, description="Console login lifetime.")
    cookie_secure: bool = Field(default=False, description="Session cookie over HTTPS only.")
    shutdown_timeout: float = Field(
        default=30.0, ge=0, description="Seconds in-flight requests get to finish on SIGTERM."
    )
    db_pool_size: int = Field(
        default=20,
        ge=1,
        le=200,
        description=(
            "PostgreSQL connections kept open (a quarter more for bursts, and four of the "
            "instance's own: the leader lock, two that listen, one that notifies)."
        ),
    )
    reuse_port: bool = Field(
        default=False,
        description=(
            "Listen with SO_REUSEPORT, so that several instances on one machine share the HTTP "
            "and SMTP ports (`serve --workers N` sets it)."
        ),
    )
    short_abandon_seconds: float = Field(
        default=0.0,
        ge=0,
        le=60,
        description="Abandons after a shorter wait are left out of service level; 0 counts all.",
    )
    timezone: str = Field(
        default="UTC",
        description="The contact center's time zone (IANA name): where the dashboard's day "
        "begins, for its chart and its CSV export.",
    )
    routing_policy: Path | None = Field(
        default=None, description="Routing policy YAML; empty means the one that ships."
    )
    relationship_policy: Path | None = Field(
        default=None,
        description="Relationship policy YAML (lifecycle rules, tier review); empty means the "
        "one that ships.",
    )
    public_url: str = Field(
        default="",
        description="The address Twilio and browsers reach the service at, e.g. "
        "https://support.example.com; Twilio's signatures are checked against it. Empty: each "
        "request's own address (right when nothing sits in between).",
    )
    twilio_account_sid: str = Field(default="", description="Twilio account SID (AC...).")
    twilio_auth_token: str = Field(
        default="",
        description="Twilio auth token: checks webhook signatures, signs REST calls. Empty: "
        "the phone webhooks answer 503.",
    )
    twilio_api_url: str = Field(
        default="https://api.twilio.com", description="Twilio's REST API (tests use a stand-in)."
    )
    twilio_number: str = Field(
        default="",
        description="The number callbacks are placed from; empty: the number the caller dialled.",
    )
    ivr_flow: Path | None = Field(
        default=None, description="IVR flow YAML; empty means the one that ships."
    )
    hold_announce_seconds: float = Field(
        default=30.0, ge=5, le=600, description="Least time between position announcements."
    )
    record_calls: bool = Field(default=False, description="Record calls connected to agents.")
    order_status_url: str = Field(
        default="",
        description="Order-status service for phone self-service (GET URL?order=N, JSON "
        "{status}); empty: the demo orders.",
    )

    smtp_host: str = Field(default="127.0.0.1", description="Address the SMTP receiver listens on.")
    smtp_port: int = Field(
        default=0, ge=0, le=65535, description="SMTP receiver port; 0 leaves it off."
    )
    support_addresses: str = Field(
        default="support@example.com",
        description="Addresses mail is accepted for, comma-separated; the first one answers.",
    )
    smtp_max_bytes: int = Field(
        default=26_214_400, ge=1024, description="Largest mail accepted (552 above)."
    )

    smtp_max_connections: int = Field(
        default=10, ge=1, le=1000, description="SMTP sessions one client address may hold."
    )
    smtp_messages_per_minute: int = Field(
        default=120, ge=1, description="Messages one client address may send a minute."
    )
    imap_url: str = Field(
        default="",
        description="A mailbox to poll: imaps://user:password@host/INBOX; empty: none.",
    )
    imap_poll_seconds: float = Field(default=60, ge=1, description="Time between IMAP rounds.")
    mail_relay_host: str = Field(
        default="", description="SMTP relay for outgoing mail; empty: mail waits in the outbox."
    )
    mail_relay_port: int = Field(default=25, ge=1, le=65535, description="SMTP relay port.")
    ack_period_minutes: float = Field(
        default=60, ge=0, description="At most one acknowledgement per sender in this time."
    )
    fax_gateways: Path | None = Field(
        default=None,
        description="Fax-to-email gateways YAML (senders, number pattern, email-to-fax "
        "address); empty means the one that ships.",
    )
    follow_up_days: float = Field(
        default=7,
        ge=0,
        description="A mail on a thread closed less long ago goes first to the agent who "
        "handled it; later it routes as new mail. Both open a new interaction linked to it.",
    )

    @field_validator("imap_url")
    @classmethod
    def _imap_url(cls, value: str) -> str:
        if value:
            Mailbox.from_url(value)
        return value

    @field_validator("public_url", "twilio_api_url", "order_status_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// address")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (Europe/Berlin, UTC)") from None
        return value

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region code such as US, GB, CN or DE")
        return region

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        return normalize_database_url(value) if value else value

    @property
    def sqlalchemy_url(self) -> str:
        """The async URL actually used: DATABASE_URL, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'contactcenter.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def support_mailboxes(self) -> list[str]:
        return [a.strip().lower() for a in self.support_addresses.split(",") if a.strip()]

    @property
    def chat_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/").lower() for o in self.chat_origins.split(",") if o.strip()]

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


def normalize_database_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver for each backend."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"{url!r} is not a URL such as postgresql://user@host/db")
    base = scheme.split("+", 1)[0]
    if base in ("postgres", "postgresql"):
        return f"postgresql+asyncpg://{rest}"
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    raise ValueError(f"unsupported database {scheme!r}; use postgresql:// or sqlite://")


def _env_name(field: str) -> str:
    return "DATABASE_URL" if field == "database_url" else PREFIX + field.upper()


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment (and explicit overrides, e.g. from the command line)."""
    env = os.environ if environ is None else environ
    known = {_env_name(name): name for name in Settings.model_fields}
    values: dict[str, Any] = {}
    for var, raw in env.items():
        if var in known:
            values[known[var]] = raw
        elif var.startswith(PREFIX) and not var.startswith(_NOT_SETTINGS):
            close = difflib.get_close_matches(var, list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SettingsError(f"{var}: unknown setting{hint}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "settings"
        message = error["msg"].removeprefix("Value error, ")
        given = values.get(field)
        raise SettingsError(f"{_env_name(field)}: {message} (got {given!r})") from None
