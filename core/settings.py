"""Typed settings read once from the environment (or Streamlit secrets, passed in by the UI).

Settings are passed around explicitly; nothing in core reads the environment behind a caller's back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from core.rules import Smtp

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'crm.db'}"


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class Settings:
    """Every knob of CRM Cockpit; each field's help text is shown by `python -m core settings`."""

    database_url: str = field(
        default=DEFAULT_DATABASE_URL,
        metadata=_help(
            "SQLAlchemy URL of the store (env CRM_DATABASE_URL). SQLite by default; "
            "postgresql+psycopg://... or mysql+pymysql://... for a server."
        ),
    )
    demo_customers: int = field(
        default=5000,
        metadata=_help(
            "Customers the app seeds into an empty default database on first start "
            "(env CRM_DEMO_CUSTOMERS; 0 disables the automatic demo)."
        ),
    )
    demo_seed: int = field(
        default=42,
        metadata=_help("Random seed of the automatic demo data (env CRM_DEMO_SEED)."),
    )
    admin_totp: int = field(
        default=0,
        metadata=_help(
            "1: administrators must use two-step sign-in (an authenticator app's code after the password; "
            "env CRM_ADMIN_TOTP). Anyone may turn it on for themselves either way."
        ),
    )
    show_errors: int = field(
        default=0,
        metadata=_help(
            "Developers only (env CRM_SHOW_ERRORS=1): an unexpected error reaches the page with its "
            "traceback. Off, the user sees a short message with a reference and the traceback goes "
            "to the server log only."
        ),
    )
    demo_password: str | None = field(
        default=None,
        metadata=_help(
            "Password of every demo user when the app seeds the demo on first start (env "
            "CRM_DEMO_PASSWORD); unset, each demo user gets a random one, printed in the terminal."
        ),
    )
    import_folder: str = field(
        default="data/feeds",
        metadata=_help(
            "Watched folder of `python -m core import-folder` (env CRM_IMPORT_FOLDER): one sub-folder per "
            "source (data/feeds/erp/...), each file imported with the source's saved mapping and moved to "
            "done/ or failed/ beside its report."
        ),
    )
    feed_max_age_hours: int = field(
        default=1,
        metadata=_help(
            "The data-quality page flags a source whose last import is older than this many hours "
            "(env CRM_FEED_MAX_AGE_HOURS; the integration delay target is one hour)."
        ),
    )
    read_database_url: str = field(
        default="",
        metadata=_help(
            "A read-only replica of the store (env CRM_READ_DATABASE_URL; empty: none): the cached figures "
            "(cockpit, lists, charts, analytics) are read from it, every write and every check before a write "
            "from CRM_DATABASE_URL. Figures may lag the primary by the replica's delay."
        ),
    )
    timezone: str = field(
        default="",
        metadata=_help(
            "The time zone users see and enter times in, as an IANA name such as Asia/Shanghai (env "
            "CRM_TIMEZONE; empty: the server's own zone). The store keeps UTC instants whatever the server's "
            "clock, so this can change at any time; periods, SLA clocks and 'today' follow it."
        ),
    )
    retention_holdout_percent: int = field(
        default=10,
        metadata=_help(
            "Share of the customers the churn model warns about that get no retention action, so that the "
            "actions' effect is measured against them (env CRM_RETENTION_HOLDOUT_PERCENT, 0 to 50)."
        ),
    )
    smtp_host: str = field(
        default="",
        metadata=_help(
            "SMTP server for the e-mails automation rules send (env CRM_SMTP_HOST; empty: notifications stay in "
            "the app). The password, if the server wants one, is CRM_SMTP_PASSWORD or smtp_password in "
            ".streamlit/secrets.toml."
        ),
    )
    smtp_port: int = field(
        default=25,
        metadata=_help("Port of the SMTP server (env CRM_SMTP_PORT; 587 turns on STARTTLS)."),
    )
    smtp_sender: str = field(
        default="crm-cockpit@localhost",
        metadata=_help("From address of the rules' e-mails (env CRM_SMTP_SENDER)."),
    )
    smtp_user: str = field(
        default="",
        metadata=_help("User name for the SMTP server (env CRM_SMTP_USER; empty: no sign-in)."),
    )
    rules_every_minutes: int = field(
        default=15,
        metadata=_help(
            "How often the app itself runs the automation rules' time triggers (no contact, churn risk) and sends "
            "their e-mails, on the first page load after this many minutes (env CRM_RULES_EVERY_MINUTES; 0: only "
            "`python -m core run-rules` from cron)."
        ),
    )
    cache_ttl_seconds: int = field(
        default=300,
        metadata=_help(
            "How long the UI may reuse a computed figure before asking the database "
            "again (env CRM_CACHE_TTL_SECONDS); writes clear the cache at once."
        ),
    )

    def smtp(self, *, env: Mapping[str, str] | None = None) -> Smtp | None:
        """The rules' mail server, or None when none is set up (the password from the environment or secrets)."""
        if not self.smtp_host:
            return None
        from core.rules import Smtp
        from core.secrets import smtp_password

        return Smtp(self.smtp_host, self.smtp_port, self.smtp_sender, self.smtp_user, smtp_password(env=env))

    @property
    def is_default_database(self) -> bool:
        return self.database_url == DEFAULT_DATABASE_URL


_ENV = {
    "database_url": "CRM_DATABASE_URL",
    "demo_customers": "CRM_DEMO_CUSTOMERS",
    "demo_seed": "CRM_DEMO_SEED",
    "cache_ttl_seconds": "CRM_CACHE_TTL_SECONDS",
    "demo_password": "CRM_DEMO_PASSWORD",
    "show_errors": "CRM_SHOW_ERRORS",
    "admin_totp": "CRM_ADMIN_TOTP",
    "import_folder": "CRM_IMPORT_FOLDER",
    "feed_max_age_hours": "CRM_FEED_MAX_AGE_HOURS",
    "retention_holdout_percent": "CRM_RETENTION_HOLDOUT_PERCENT",
    "timezone": "CRM_TIMEZONE",
    "read_database_url": "CRM_READ_DATABASE_URL",
    "smtp_host": "CRM_SMTP_HOST",
    "smtp_port": "CRM_SMTP_PORT",
    "smtp_sender": "CRM_SMTP_SENDER",
    "smtp_user": "CRM_SMTP_USER",
    "rules_every_minutes": "CRM_RULES_EVERY_MINUTES",
}


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build Settings from `env` (default: os.environ) and explicit overrides (CLI flags)."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = env.get(_ENV[f.name])
        if raw in (None, ""):
            continue
        if f.type in ("int", int):
            try:
                values[f.name] = int(raw)
            except ValueError:
                raise ConfigError(f"{_ENV[f.name]} must be a whole number, got {raw!r}") from None
        else:
            values[f.name] = raw
    values.update({k: v for k, v in overrides.items() if v is not None})
    if not 0 <= int(values.get("retention_holdout_percent", 10)) <= 50:  # type: ignore[call-overload]
        raise ConfigError("CRM_RETENTION_HOLDOUT_PERCENT must be between 0 and 50.")
    zone = str(values.get("timezone") or "")
    if zone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"CRM_TIMEZONE {zone!r} is not a time zone (use a name like Asia/Shanghai).") from None
    return Settings(**values)  # type: ignore[arg-type]


def describe_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for every setting, for docs and the CLI."""
    return [(_ENV[f.name], str(f.default), f.metadata.get("help", "")) for f in fields(Settings)]
