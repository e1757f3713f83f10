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


def test_a_store_records_its_zone_and_warns_on_a_server_on_another_clock(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """First opened on a Shanghai-clock server, the store says so when a UTC server opens it, until
    CRM_TIMEZONE records the operator's choice."""
    from sqlalchemy.orm import Session

    from core import facts, service
    from core.settings import Settings
    from core.store import open_store
    from tests.conftest import TEST_KEYRING

    def recorded() -> str | None:
        with Session(engine) as s:
            return facts.get_meta(s, service.ZONE_KEY)

    monkeypatch.delenv("CRM_TIMEZONE", raising=False)
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    engine = open_store(Settings(database_url=sqlite_url), TEST_KEYRING)
    assert recorded() == "Asia/Shanghai" and not caplog.records
    monkeypatch.setenv("TZ", "UTC")  # moved to a server on UTC
    engine = open_store(Settings(database_url=sqlite_url), TEST_KEYRING)
    assert recorded() == "Asia/Shanghai"
    assert any(
        "stamped in Asia/Shanghai" in r.getMessage() and "TZ=Asia/Shanghai" in r.getMessage() for r in caplog.records
    )
    caplog.clear()
    engine = open_store(Settings(database_url=sqlite_url, timezone="UTC"), TEST_KEYRING)  # the operator decides
    assert recorded() == "UTC" and not caplog.records
