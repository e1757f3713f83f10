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


def test_the_display_zone_is_the_setting_or_the_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    from core import clock
    from core.business_hours import server_zone

    monkeypatch.setenv("CRM_TIMEZONE", "Asia/Shanghai")
    assert clock.zone_name() == "Asia/Shanghai"
    monkeypatch.setenv("CRM_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="not a time zone"):
        load_settings()
    monkeypatch.delenv("CRM_TIMEZONE")
    monkeypatch.setenv("TZ", "America/New_York")
    assert server_zone() == "America/New_York" == clock.zone_name()
