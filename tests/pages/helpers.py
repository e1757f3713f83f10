"""Driving the app through AppTest: open it, sign in through the real form."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import DEMO_PASSWORD

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_app(monkeypatch: pytest.MonkeyPatch, url: str, **query: object) -> AppTest:
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def sign_in(at: AppTest, username: str, password: str = DEMO_PASSWORD) -> AppTest:
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click()
    return at.run()


def signed_in(monkeypatch: pytest.MonkeyPatch, url: str, username: str, **query: object) -> AppTest:
    at = sign_in(open_app(monkeypatch, url, **query), username)
    assert not at.exception, at.exception
    assert not any("incorrect" in e.value for e in at.error), "sign-in failed"
    return at
