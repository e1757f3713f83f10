"""One exception family that the UI and CLI turn into plain messages (never tracebacks)."""

from __future__ import annotations


class CrmError(Exception):
    """Base of every error a user can act on. `str(err)` is the English message (CLI, logs); `key` and
    `values`, when given, name the same message in the catalogs, so the UI shows it in the user's language
    (`core.i18n.error_text`)."""

    def __init__(self, message: str = "", *, key: str | None = None, **values: object) -> None:
        super().__init__(message)
        self.key = key
        self.values = values

    def __reduce__(self) -> tuple[object, ...]:
        """Picklable with its key and values (an import's reader process sends its errors back)."""
        return _restore, (type(self), self.args, self.__dict__)


def _restore(kind: type[CrmError], args: tuple[object, ...], state: dict[str, object]) -> CrmError:
    error = kind.__new__(kind)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ValidationError(CrmError):
    """Input that breaks a rule (a field, a period, a CLI argument)."""


class PermissionDenied(CrmError):
    """The viewer's role does not allow this."""


class NotFound(CrmError):
    """The requested record does not exist (or is outside the viewer's scope)."""


class StoreError(CrmError):
    """The store could not take a write just now (busy beyond the retries, disk full, read-only): not saved."""


class ConfigError(CrmError):
    """The store or a setting is unusable: bad URL, unreachable server, read-only folder."""


class FieldErrors(ValidationError):
    """A form's invalid fields: {field: (message key, values)}, shown beside each field in the UI's language."""

    def __init__(self, errors: dict[str, tuple[str, dict[str, object]]]) -> None:
        from core.i18n import t

        super().__init__(
            "; ".join(f"{name}: {t(key, 'en', **values)}" for name, (key, values) in errors.items()),
            key="form.fix_fields",
        )
        self.errors = errors


class AlreadySubmitted(CrmError):
    """The same form (its token) was submitted before: the second submission writes nothing."""


class Conflict(CrmError):
    """The record changed since it was read (someone else saved first): reload and try again."""
