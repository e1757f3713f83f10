"""The command line, run in-process against temporary databases."""

from __future__ import annotations

import json

import pytest

from core.access import SYSTEM
from core.cli import main


def test_seed_then_kpis(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "--database-url",
                sqlite_url,
                "seed",
                "--customers",
                "60",
                "--seed",
                "2",
                "--today",
                "2026-11-25",
                "--demo-password",
                "demo-pass-2026",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "seeded 60 customers" in out and "manager1" in out and "demo-pass-2026" not in out
    assert main(["--database-url", sqlite_url, "kpis", "--month", "2026-10"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["period"] == "2026-10" and figures["active_customers"] > 0
    assert main(["--database-url", sqlite_url, "sla-tick"]) == 0
    assert "open tickets evaluated" in capsys.readouterr().out
    assert main(["--database-url", sqlite_url, "loyalty"]) == 0  # the demo's members' orders have earned already
    assert capsys.readouterr().out.startswith("0 orders earned points; 0 points expired")


def test_refusals_are_one_line_errors(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--database-url", "nonsense", "migrate"]) == 2
    assert capsys.readouterr().err.startswith("error: CRM_DATABASE_URL 'nonsense' is not a database URL")
    assert main(["--database-url", sqlite_url, "seed", "--customers", "0"]) == 2
    assert "at least 1 customer" in capsys.readouterr().err


def test_settings_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings"]) == 0
    assert "CRM_DATABASE_URL" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "seed" in capsys.readouterr().out


def test_create_user_for_a_fresh_store(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--database-url", sqlite_url, "create-user", "boss", "--role", "admin", "--name", "The Boss"]
    assert main([*args, "--password", "short"]) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    assert main([*args, "--password", "long-enough-1"]) == 0
    assert main([*args, "--password", "long-enough-1"]) == 2
    assert "is taken" in capsys.readouterr().err


def test_rotate_key_re_encrypts_everything(
    sqlite_url: str,
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sqlalchemy import select

    from core import models as m, secrets
    from core.db import make_engine, session_scope

    monkeypatch.setattr(secrets, "SECRETS_FILE", tmp_path / "secrets.toml")
    for variable in ("CRM_PII_KEYS", "CRM_PII_INDEX_KEY", "CRM_COOKIE_KEY"):
        monkeypatch.delenv(variable)
    assert main(["--database-url", sqlite_url, "seed", "--customers", "20", "--demo-password", "demo-pass-2026"]) == 0
    assert main(["--database-url", sqlite_url, "rotate-key"]) == 0
    assert "re-encrypted under key k2" in capsys.readouterr().out
    with session_scope(make_engine(sqlite_url)) as s:
        stored = s.scalars(select(m.Customer.phone_enc)).all()
    assert stored and all(v.startswith("k2:") for v in stored)
    monkeypatch.setenv("CRM_PII_KEYS", "k9=" + "a" * 43 + "=")
    assert main(["--database-url", sqlite_url, "rotate-key"]) == 2
    assert "CRM_PII_KEYS" in capsys.readouterr().err
    # keys from the environment: a new one goes first in the variable, then --reencrypt-only moves every value
    import base64

    monkeypatch.delenv("CRM_PII_KEYS")
    current = secrets.load_secrets()  # the file's keys (k2 active, k1 kept)
    fresh = base64.b64encode(b"3" * 32).decode()
    monkeypatch.setenv(
        "CRM_PII_KEYS",
        ",".join(
            [f"k3={fresh}", *(f"{kid}={base64.b64encode(key).decode()}" for kid, key in current.pii_keys.items())]
        ),
    )
    assert main(["--database-url", sqlite_url, "rotate-key", "--reencrypt-only"]) == 0
    with session_scope(make_engine(sqlite_url)) as s:
        assert all(v.startswith("k3:") for v in s.scalars(select(m.Customer.phone_enc)).all())


def test_seed_replace_keeps_the_audit_log_and_spares_real_data_unless_forced(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import delete, func, select

    from core import audit, models as m
    from core.db import make_engine, session_scope

    base = ["--database-url", sqlite_url, "seed", "--customers", "20", "--demo-password", "demo-pass-2026"]
    assert main(base) == 0
    engine = make_engine(sqlite_url)
    with session_scope(engine) as s:
        audit.record(s, action="sign_in", username="admin")
    assert main([*base, "--replace"]) == 0  # a demo may be replaced; the audit log stays and says so
    with session_scope(engine) as s:
        assert set(audit.entries(s, viewer=SYSTEM)["action"]) >= {"sign_in", "store_replaced"}
        s.execute(delete(m.AppMeta.__table__).where(m.AppMeta.key == "demo"))  # now it holds "real" data
    assert main([*base, "--replace"]) == 2 and "--force" in capsys.readouterr().err
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Customer)) == 20  # nothing was wiped
    assert main([*base, "--replace", "--force"]) == 0
