"""Personal data at rest: AES-256-GCM with a key id stored in every value, keyed hashes for exact search,
and masking for the roles that may not see contact details.

Stored form: "<key id>:<base64(12-byte nonce + ciphertext + tag)>". Rotation re-encrypts with the active
key and keeps old keys readable; the search hash uses a separate index key that never rotates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.errors import ConfigError
from core.secrets import Secrets

_AAD = b"crm-cockpit-pii-v1"
_STORED = re.compile(r"^(k\d+):([A-Za-z0-9+/=]+)$")


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]
    active: str
    index_key: bytes

    @classmethod
    def from_secrets(cls, secrets: Secrets) -> Keyring:
        return cls(dict(secrets.pii_keys), secrets.active_pii_key, secrets.pii_index_key)


@lru_cache(maxsize=16)
def _cipher(key: bytes) -> AESGCM:
    return AESGCM(key)  # building one costs more than an encryption: reuse it per key


def is_encrypted(stored: str | None) -> bool:
    return bool(stored and _STORED.match(stored))


def encrypt(value: str | None, keyring: Keyring) -> str | None:
    if value is None or value == "":
        return None
    nonce = os.urandom(12)
    sealed = _cipher(keyring.keys[keyring.active]).encrypt(nonce, value.encode(), _AAD)
    return f"{keyring.active}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(stored: str | None, keyring: Keyring) -> str | None:
    if stored is None:
        return None
    match = _STORED.match(stored)
    if not match:
        raise ConfigError("A personal-data value is not encrypted; open the store once to protect it.")
    kid, payload = match.groups()
    if kid not in keyring.keys:
        raise ConfigError(f"Personal data is encrypted with key {kid!r}, which is not among the configured keys.")
    raw = base64.b64decode(payload)
    try:
        return _cipher(keyring.keys[kid]).decrypt(raw[:12], raw[12:], _AAD).decode()
    except InvalidTag:
        raise ConfigError(f"Key {kid!r} does not open this personal data (wrong key configured?).") from None


def normalise(kind: str, value: str) -> str:
    """What the search hash is taken of: an email case-folded, a phone number's digits."""
    return value.strip().lower() if kind == "email" else re.sub(r"\D", "", value)


def search_hash(kind: str, value: str | None, keyring: Keyring) -> str | None:
    """Keyed hash (HMAC-SHA256) for exact look-up without storing or scanning plaintext."""
    if not value:
        return None
    return hmac.new(keyring.index_key, f"{kind}:{normalise(kind, value)}".encode(), hashlib.sha256).hexdigest()


def source_hash(address: str | None, keyring: Keyring) -> str | None:
    """Where a sign-in comes from, as a keyed hash (an address is personal data: never stored in clear)."""
    if not address:
        return None
    return hmac.new(keyring.index_key, f"source:{address.strip()}".encode(), hashlib.sha256).hexdigest()[:32]


def mask(kind: str, value: str | None) -> str | None:
    """138****5678 for phones, j***@example.com for emails."""
    if not value:
        return value
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}" if domain else "***"
    if len(value) <= 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"
