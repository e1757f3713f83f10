"""Personal data: encryption at rest, rotation, search hashes, masking per role, reveal with a reason."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from core import audit, clock, models as m, pii
from core.access import SYSTEM, Viewer
from core.customers import customer_profile, reveal_contact
from core.db import make_engine, session_scope
from core.demo import generate
from core.errors import ConfigError, NotFound, PermissionDenied, ValidationError
from core.secrets import add_pii_key, load_secrets
from core.store import protect_plaintext
from tests import factories as f
from tests.conftest import TEST_KEYRING

ROTATED = pii.Keyring({"k1": b"k" * 32, "k2": b"n" * 32}, "k2", b"i" * 32)


def test_round_trip_and_tampering() -> None:
    stored = pii.encrypt("13812345678", TEST_KEYRING)
    assert stored.startswith("k1:") and "13812345678" not in stored
    assert stored != pii.encrypt("13812345678", TEST_KEYRING)  # a fresh nonce every time
    assert pii.decrypt(stored, TEST_KEYRING) == "13812345678"
    raw = bytearray(base64.b64decode(stored[3:]))
    raw[-1] ^= 1
    with pytest.raises(ConfigError, match="does not open"):
        pii.decrypt("k1:" + base64.b64encode(bytes(raw)).decode(), TEST_KEYRING)
    with pytest.raises(ConfigError, match="not among the configured keys"):
        pii.decrypt(pii.encrypt("x@y.cn", ROTATED), TEST_KEYRING)


def test_masks_and_search_hashes() -> None:
    assert pii.mask("phone", "13812345678") == "138****5678"
    assert pii.mask("email", "john.doe@example.com") == "j***@example.com"
    assert pii.search_hash("phone", "138 1234 5678", TEST_KEYRING) == pii.search_hash(
        "phone", "13812345678", TEST_KEYRING
    )
    assert pii.search_hash("email", " John@Example.com", TEST_KEYRING) == pii.search_hash(
        "email", "john@example.com", ROTATED
    )


def _legacy_customer(engine: Engine) -> int:
    with session_scope(engine) as s:
        who = f.customer(s, became=date(2025, 1, 1))
        s.execute(
            m.Customer.__table__.update()
            .where(m.Customer.id == who.id)
            .values(phone_enc="13900001111", email_enc="legacy.person@example.com")
        )
        return who.id


def test_plaintext_is_protected_and_keys_rotate(engine: Engine) -> None:
    customer_id = _legacy_customer(engine)
    assert protect_plaintext(engine, TEST_KEYRING) == 1
    with session_scope(engine) as s:
        row = s.execute(
            select(m.Customer.phone_enc, m.Customer.email_enc, m.Customer.phone_hash).where(
                m.Customer.id == customer_id
            )
        ).one()
    assert row.phone_enc.startswith("k1:") and pii.decrypt(row.email_enc, TEST_KEYRING) == "legacy.person@example.com"
    assert row.phone_hash == pii.search_hash("phone", "13900001111", TEST_KEYRING)
    assert protect_plaintext(engine, ROTATED, rotate=True) == 1
    with session_scope(engine) as s:
        stored = s.scalar(select(m.Customer.phone_enc).where(m.Customer.id == customer_id))
    assert stored.startswith("k2:") and pii.decrypt(stored, ROTATED) == "13900001111"
    with session_scope(engine) as s:  # search still finds it: the index key does not rotate
        admin = Viewer(None, "root", "Root", "admin")
        assert customer_profile(s, viewer=admin, keyring=ROTATED, code="139-0000-1111").id == customer_id


def test_no_plaintext_contact_details_in_the_database_file(seeded_url: str, tmp_path: Path) -> None:
    plain = generate(400, seed=7, today=clock.today())["customers"]
    engine = make_engine(seeded_url)
    legacy = _legacy_customer(engine)
    protect_plaintext(engine, TEST_KEYRING)  # the rewrite must not leave the old value in free pages
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    data = Path(seeded_url.removeprefix("sqlite:///")).read_bytes()
    assert legacy and len(data) > 100_000
    for value in [*plain["phone"][:300], *plain["email"][:300], "13900001111", "legacy.person@example.com"]:
        assert value.encode() not in data, value


ROLES = {
    "agent": "support_agent",
    "manager": "account_manager",
    "exec": "executive",
    "analyst": "analyst",
    "admin": "admin",
}


def test_contact_details_per_role_and_reveal_with_reason(seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    with session_scope(engine) as s:
        ticket_customer = s.scalar(select(m.Ticket.customer_id).limit(1))
        owner = s.execute(
            select(m.User.id, m.User.username)
            .join(m.Customer, m.Customer.owner_id == m.User.id)
            .where(m.Customer.id == ticket_customer)
        ).one()
        shown = {}
        for name, role in ROLES.items():
            viewer = Viewer(owner.id if role == "account_manager" else 1, name, name, role)
            shown[role] = customer_profile(s, viewer=viewer, keyring=TEST_KEYRING, customer_id=ticket_customer)
    clear_phone = shown["support_agent"].phone
    assert "*" not in clear_phone and shown["account_manager"].phone == clear_phone
    for role in ("executive", "analyst", "admin"):
        assert shown[role].phone == pii.mask("phone", clear_phone) and "***@" in shown[role].email
    admin = Viewer(1, "admin", "Admin", "admin")
    with session_scope(engine) as s:
        with pytest.raises(ValidationError):
            reveal_contact(s, viewer=admin, keyring=TEST_KEYRING, customer_id=ticket_customer, reason="x")
        with pytest.raises(PermissionDenied):
            reveal_contact(
                s,
                viewer=Viewer(2, "exec", "E", "executive"),
                keyring=TEST_KEYRING,
                customer_id=ticket_customer,
                reason="customer asked for a callback",
            )
        phone, _ = reveal_contact(
            s, viewer=admin, keyring=TEST_KEYRING, customer_id=ticket_customer, reason="customer asked for a callback"
        )
    assert phone == clear_phone
    with session_scope(engine) as s:
        log = audit.entries(s, viewer=SYSTEM, action="pii_revealed")
    assert len(log) == 1 and "callback" in log.iloc[0]["details"]


def test_support_agents_only_find_customers_behind_tickets(seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    agent = Viewer(1, "agent", "Agent", "support_agent")
    with session_scope(engine) as s:
        with_ticket = s.scalar(select(m.Ticket.customer_id).limit(1))
        without = s.scalar(select(m.Customer.id).where(~m.Customer.id.in_(select(m.Ticket.customer_id))).limit(1))
        assert customer_profile(s, viewer=agent, keyring=TEST_KEYRING, customer_id=with_ticket).id == with_ticket
        with pytest.raises(NotFound):
            customer_profile(s, viewer=agent, keyring=TEST_KEYRING, customer_id=without)


def test_secrets_file_is_generated_private_and_rotation_keeps_old_keys(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    first = load_secrets(path, env={})
    assert path.stat().st_mode & 0o777 == 0o600 and len(first.cookie_key) >= 32
    assert add_pii_key(path) == "k2"
    second = load_secrets(path, env={})
    assert second.active_pii_key == "k2" and second.pii_keys["k1"] == first.pii_keys["k1"]
    assert second.pii_index_key == first.pii_index_key and second.cookie_key == first.cookie_key
    with pytest.raises(ConfigError, match="32 characters"):
        load_secrets(path, env={"CRM_COOKIE_KEY": "short"})
