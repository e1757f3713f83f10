"""Field validators shared by every form and import: one rule for text, whole numbers and phone numbers.

Each adds `{field: (message key, values)}` to the caller's errors (shown under the field in the UI's
language, see core.errors.FieldErrors) and returns the cleaned value.
"""

from __future__ import annotations

import math
import re

Errors = dict[str, tuple[str, dict[str, object]]]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # NUL and the other control characters
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f]")  # ... and line breaks, for one-line fields
_PHONE = re.compile(r"\+?[0-9][0-9 ()./-]{5,24}")


def text(
    errors: Errors,
    name: str,
    value: object,
    *,
    required: bool,
    longest: int,
    shortest: int = 0,
    multiline: bool = False,
) -> str | None:
    """Trimmed text within [shortest, longest] characters, without NUL or control characters (line breaks
    only where the field has several lines); None when empty."""
    cleaned = (value if isinstance(value, str) else "" if value is None else str(value)).strip()
    if required and not cleaned:
        errors[name] = ("form.error.required", {})
    elif (_CONTROL if multiline else _CONTROL_OR_BREAK).search(cleaned):
        errors[name] = ("form.error.control", {})
    elif len(cleaned) > longest:
        errors[name] = ("form.error.too_long", {"n": longest})
    elif cleaned and len(cleaned) < shortest:
        errors[name] = ("form.error.too_short", {"n": shortest})
    return cleaned or None


def whole_number(errors: Errors, name: str, value: object, *, low: int, high: int, required: bool = True) -> int | None:
    """A whole number in [low, high]: 7 and 7.0 pass; 7.5, NaN, infinity, True and text are refused."""
    if value is None:
        if required:
            errors[name] = ("form.error.range", {"low": low, "high": high})
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()))
    ):
        errors[name] = ("form.error.whole", {})
        return None
    number = int(value)
    if not low <= number <= high:
        errors[name] = ("form.error.range", {"low": low, "high": high})
        return None
    return number


def phone(errors: Errors, name: str, value: object) -> str | None:
    """A phone number as people write it (+86 138-1234-5678, (021) 5555 1234): digits and those marks only."""
    cleaned = text(errors, name, value, required=False, longest=25)
    if cleaned is not None and name not in errors and not _PHONE.fullmatch(cleaned):
        errors[name] = ("form.error.phone", {})
    return cleaned
