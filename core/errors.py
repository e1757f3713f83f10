"""One exception family that the UI and CLI turn into plain messages (never tracebacks)."""

from __future__ import annotations


class CrmError(Exception):
    """Base of every error a user can act on; `str(err)` is the message to show."""


class ValidationError(CrmError):
    """Input that breaks a rule (a field, a period, a CLI argument)."""


class PermissionDenied(CrmError):
    """The viewer's role does not allow this."""


class NotFound(CrmError):
    """The requested record does not exist (or is outside the viewer's scope)."""


class ConfigError(CrmError):
    """The store or a setting is unusable: bad URL, unreachable server, read-only folder."""
