"""Deployment settings: read once at start-up from the environment and an optional instance file.

Settings are the things that differ per deployment (database, Redis, secrets, mail, base URL).
The firm's privacy policy is *not* a setting: it is data, see :mod:`portal.policy`.

Load order (later wins): defaults, ``instance/config.toml`` (optional), ``PORTAL_*`` environment
variables, then overrides passed to :func:`portal.create_app` by tests. A wrong or missing value
stops start-up with :class:`SettingsError`, whose message names the setting and never echoes a
secret value.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from pydantic import (
    AnyHttpUrl,
    EmailStr,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Secret keys shorter than this are refused: they would make sessions and tokens guessable.
MIN_SECRET_LENGTH = 32


class SettingsError(Exception):
    """A deployment setting is missing or wrong. The message is safe to print."""


class Settings(BaseSettings):
    """Every deployment setting, with its default and meaning.

    Environment variables carry the ``PORTAL_`` prefix: ``PORTAL_DATABASE_URL``,
    ``PORTAL_SECRET_KEY`` and so on. The same names, lower-case, work as keys in
    ``instance/config.toml``.
    """

    model_config = SettingsConfigDict(
        env_prefix="PORTAL_", extra="forbid", validate_default=True, frozen=True
    )

    #: ``demo`` is the embedded default (SQLite, simulators, mail to files, in-process jobs);
    #: ``production`` demands real secrets, PostgreSQL-grade settings and HTTPS.
    environment: Literal["demo", "production", "test"] = "demo"
    #: SQLAlchemy URL. Relative SQLite paths are resolved inside the instance folder.
    database_url: str = "sqlite:///portal.db"
    #: Redis URL for rate limits and the task queue in production; empty uses local storage.
    redis_url: str = ""
    #: Signs sessions and CSRF tokens. Required (at least 32 characters) outside demo and test.
    secret_key: SecretStr | None = None
    #: Fernet keys (comma separated, newest first) that encrypt gathered data and secrets at
    #: rest. Older keys stay readable so keys can be rotated.
    data_keys: SecretStr | None = None
    #: The public URL the portal is reached at; used in links in e-mails.
    base_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:5000")
    #: Path of the firm's policy file, relative to the instance folder.
    policy_file: str = "policy.toml"
    #: ``file`` writes each e-mail as .eml into ``mail_outbox``; ``smtp`` sends it.
    mail_transport: Literal["file", "smtp"] = "file"
    mail_outbox: str = "outbox"
    mail_from: EmailStr = "privacy@example.nl"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    #: ``starttls`` upgrades a plain connection; ``tls`` connects with TLS from the start.
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    #: Send cookies only over HTTPS. On by default; the demo on http://127.0.0.1 turns it off.
    secure_cookies: bool = True
    #: Time zone in which dates and times are shown to people (stored times are UTC).
    timezone: str = "Europe/Amsterdam"
    #: Default language of pages and e-mails.
    default_locale: Literal["nl", "en"] = "nl"
    #: Connection settings per source key of the policy (base URL, credentials, timeouts), e.g.
    #: ``[connectors.webshop]`` in config.toml or ``PORTAL_CONNECTORS`` as JSON. Secret values
    #: are never logged.
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: One time budget for gathering from all sources at once, in seconds.
    gather_budget_seconds: float = Field(default=20.0, gt=0, le=120)
    #: How long gathered data is held (encrypted) before it is purged, in minutes.
    gathered_ttl_minutes: int = Field(default=30, ge=1, le=24 * 60)
    #: Log level of the portal's own loggers.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: Seconds an SMTP connection may take before a send counts as failed (and is retried).
    smtp_timeout: float = Field(default=10.0, gt=0, le=120)
    #: Minutes a sign-in code and sign-in link stay valid.
    login_code_minutes: int = Field(default=15, ge=1, le=60)
    #: Wrong codes allowed before a code stops working and a new one must be asked for.
    login_code_attempts: int = Field(default=5, ge=1, le=20)
    #: A signed-in session ends after this many minutes without a request...
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    #: ...and this many hours after signing in, whatever happens.
    session_max_hours: int = Field(default=12, ge=1, le=24 * 30)
    #: Rate limits (Flask-Limiter notation, ``;`` between limits) on asking for a sign-in code,
    #: per client IP address and per e-mail address, and on entering codes.
    login_rate_per_ip: str = "10 per 15 minutes;50 per day"
    login_rate_per_address: str = "5 per 15 minutes;20 per day"
    code_rate_per_ip: str = "30 per 15 minutes"
    code_rate_per_address: str = "15 per 15 minutes"
    #: Days a browser stays known for the addresses someone signed in with there (a signed
    #: cookie, renewed at each sign-in): it then has its own allowance under the per-address
    #: limits above, so strangers asking codes for an address cannot lock its owner out.
    known_browser_days: int = Field(default=90, ge=1, le=400)
    #: Days a browser stays known for the staff members who completed both sign-in steps there
    #: (a signed cookie, renewed at each sign-in): it then has its own allowance under the
    #: per-account limits of the back office, and is neither counted towards nor held by the
    #: lock-out that failed attempts from other browsers cause.
    staff_known_browser_days: int = Field(default=30, ge=1, le=400)
    #: How many reverse proxies stand in front of the portal and set ``X-Forwarded-For`` and
    #: ``X-Forwarded-Proto`` (0: none, the client connects directly). With 1 behind nginx, the
    #: sign-in limits per IP address count the visitor's address, not the proxy's. Never set
    #: it higher than the real number of proxies: a visitor could then choose their address.
    proxy_hops: int = Field(default=0, ge=0, le=5)
    #: Where background tasks (mail, reminders, purging, write-backs) run. ``auto``: a Redis
    #: queue when ``redis_url`` is set, else ``sqlite`` (``immediate`` for the tests). ``sqlite``:
    #: a queue file in the instance folder. Both are served by ``huey_consumer
    #: portal.worker.huey``. ``immediate``: in-process, without retries or daily jobs.
    task_queue: Literal["auto", "immediate", "sqlite", "redis"] = "auto"
    #: The privacy contact gets a daily e-mail listing open requests whose deadline is this
    #: many days away or fewer (or has passed).
    reminder_days: int = Field(default=7, ge=0, le=60)
    #: Sign-in through the firm's OpenID Connect identity provider (optional). Its issuer URL,
    #: e.g. ``https://login.example.nl``; the portal reads ``<issuer>/.well-known/
    #: openid-configuration``. Empty: no "Sign in with ..." button and no such route. Register
    #: ``<base_url>/auth/oidc/callback`` as the redirect URI at the provider.
    oidc_issuer: str = ""
    #: The portal's client id and secret at the identity provider; required with ``oidc_issuer``.
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr | None = None
    #: The provider's name on the button ("Inloggen met <name>"); default: the issuer's host.
    oidc_name: str = Field(default="", max_length=60)

    def public_url(self, path: str) -> str:
        """``path`` (``/mijn-gegevens/``) on the portal's public address, ``base_url``: what
        e-mails, the identity provider and the downloads name, whatever host a request used."""
        return str(self.base_url).rstrip("/") + path

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must be an sqlite:/// or postgresql:// URL")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a known time zone, e.g. Europe/Amsterdam") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @model_validator(mode="after")
    def _production_demands(self) -> Settings:
        if self.environment == "production":
            if self.secret_key is None:
                raise ValueError("secret_key: required in production")
            if self.data_keys is None:
                raise ValueError("data_keys: required in production")
            if not self.secure_cookies:
                raise ValueError("secure_cookies: must be true in production")
            if self.database_url.startswith("sqlite:"):
                raise ValueError("database_url: production runs on PostgreSQL")
            if self.task_queue == "immediate":
                raise ValueError("task_queue: production needs a queue with a worker (redis)")
            if not self.redis_url:
                # the sign-in rate limits must count across every web worker, and the task
                # queue must reach the workers
                raise ValueError(
                    "redis_url: required in production (shared rate limits and the task queue)"
                )
            if self.mail_transport != "smtp":
                # "file" writes every message, sign-in codes included, in the clear to disk
                raise ValueError("mail_transport: production sends e-mail by smtp")
        if self.secret_key is not None:
            if len(self.secret_key.get_secret_value()) < MIN_SECRET_LENGTH:
                raise ValueError(f"secret_key: must be at least {MIN_SECRET_LENGTH} characters")
        return self

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if not self.oidc_issuer:
            return self
        if not self.oidc_issuer.startswith(("https://", "http://")):
            raise ValueError("oidc_issuer: must be an https:// URL")
        if self.environment == "production" and not self.oidc_issuer.startswith("https://"):
            raise ValueError("oidc_issuer: must be an https:// URL in production")
        if not self.oidc_client_id:
            raise ValueError("oidc_client_id: required when oidc_issuer is set")
        if self.oidc_client_secret is None:
            raise ValueError("oidc_client_secret: required when oidc_issuer is set")
        return self


def _read_instance_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None


def load_settings(instance_path: Path, overrides: dict[str, Any] | None = None) -> Settings:
    """Read, merge and validate the settings.

    :raises SettingsError: with one line per wrong setting, naming it and saying what is wrong.
    """
    values: dict[str, Any] = {}
    config_file = instance_path / "config.toml"
    if config_file.is_file():
        values.update(_read_instance_file(config_file))
    # Environment variables override the file: pydantic-settings gives init values priority,
    # so drop file values that the environment also sets.
    for name in list(values):
        if f"PORTAL_{name.upper()}" in os.environ:
            values.pop(name)
    values.update(overrides or {})
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """One line per error, naming the setting and its variable; input values are never shown."""
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if not loc and ":" in message:
            # Cross-field checks name their setting at the start of the message.
            loc, message = (part.strip() for part in message.split(":", 1))
        if err["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling)"
        lines.append(f"setting {loc} (PORTAL_{loc.upper()}): {message}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def firm_zone() -> ZoneInfo:
    """The firm's time zone (the ``timezone`` setting) of the running application."""
    settings: Settings = current_app.extensions["portal.settings"]
    return ZoneInfo(settings.timezone)


def firm_today() -> date:
    """Today in the firm's time zone (``timezone``), not the server's (often UTC): the day a
    request is received on, a deadline is counted from and a reminder counts for."""
    return datetime.now(firm_zone()).date()
