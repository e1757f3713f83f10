from __future__ import annotations

from dataclasses import fields

import pytest

from core.errors import ConfigError
from core.settings import DEFAULT_DATABASE_URL, Settings, describe_settings, load_settings


def test_every_setting_is_documented() -> None:
    assert len(describe_settings()) == len(fields(Settings))
    for variable, _default, text in describe_settings():
        assert variable.startswith("CRM_") and len(text) > 20


def test_environment_and_overrides() -> None:
    assert load_settings({}).database_url == DEFAULT_DATABASE_URL
    loaded = load_settings({"CRM_DATABASE_URL": "sqlite:///x.db", "CRM_DEMO_CUSTOMERS": "12"}, demo_seed=3)
    assert (loaded.database_url, loaded.demo_customers, loaded.demo_seed) == ("sqlite:///x.db", 12, 3)
    with pytest.raises(ConfigError, match="CRM_DEMO_CUSTOMERS"):
        load_settings({"CRM_DEMO_CUSTOMERS": "many"})


def test_every_setting_is_in_the_readme() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for variable, _default, _text in describe_settings():
        assert f"`{variable}`" in readme, variable


def test_the_store_time_zone_is_the_setting_or_the_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.business_hours import server_zone, store_zone

    monkeypatch.setenv("CRM_TIMEZONE", "Asia/Shanghai")
    assert store_zone() == "Asia/Shanghai"
    monkeypatch.setenv("CRM_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="not a time zone"):
        load_settings()
    monkeypatch.delenv("CRM_TIMEZONE")
    monkeypatch.setenv("TZ", "America/New_York")
    assert server_zone() == "America/New_York" == store_zone()
    assert store_zone("Asia/Shanghai") == "Asia/Shanghai"  # the zone the store recorded beats the server's


def test_a_store_keeps_the_zone_it_was_opened_in(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    """First opened on a Shanghai-clock server, the store reads its times on Shanghai time on a UTC server too,
    until CRM_TIMEZONE says otherwise."""
    from sqlalchemy.orm import Session

    from core import service
    from core.settings import Settings
    from core.store import open_store
    from tests.conftest import TEST_KEYRING

    monkeypatch.delenv("CRM_TIMEZONE", raising=False)
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    engine = open_store(Settings(database_url=sqlite_url), TEST_KEYRING)
    monkeypatch.setenv("TZ", "UTC")  # moved to a server on UTC
    engine = open_store(Settings(database_url=sqlite_url), TEST_KEYRING)
    with Session(engine) as s:
        assert service.calendar_of(s, None).store_timezone == "Asia/Shanghai"
    monkeypatch.setenv("CRM_TIMEZONE", "Europe/Berlin")
    engine = open_store(load_settings(database_url=sqlite_url), TEST_KEYRING)
    with Session(engine) as s:
        assert service.calendar_of(s, None).store_timezone == "Europe/Berlin"
    monkeypatch.delenv("CRM_TIMEZONE")
    with Session(open_store(Settings(database_url=sqlite_url), TEST_KEYRING)) as s:
        assert service.calendar_of(s, None).store_timezone == "Europe/Berlin"  # the record, not the server
