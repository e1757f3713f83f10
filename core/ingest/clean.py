"""One cleaner per field type. Each returns the clean value and what it fixed (None: nothing), or raises
Problem with a catalog key saying why the value cannot be used."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta

import phonenumbers

from core.errors import CrmError

FORMULA = re.compile(r"^[=+\-@]\s*[A-Za-z_]+[A-Za-z0-9_.]*\s*\(")  # =HYPERLINK(...), +cmd(...), @SUM(...)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EXCEL_EPOCH = date(1899, 12, 30)
EARLIEST, LATEST_DAYS_AHEAD = date(1950, 1, 1), 1


class Problem(CrmError):
    """A value that cannot be imported; its key and values name the reason in the catalogs."""


def text(raw: str, *, longest: int) -> tuple[str | None, str | None]:
    """Full-width to half-width (NFKC), trimmed, inner runs of spaces made one; control characters and
    spreadsheet formulas refused."""
    if raw.isascii() and raw.isprintable() and raw == raw.strip() and "  " not in raw:
        value = raw  # the common case, without the Unicode work (printable: no control characters)
    else:
        value = unicodedata.normalize("NFKC", raw)
        value = re.sub(r"\s+", " ", value).strip()
        if any(unicodedata.category(c) == "Cc" for c in value):
            raise Problem("control characters", key="import.reason.control")
    return _kept(value, raw, longest)


def _kept(value: str, raw: str, longest: int) -> tuple[str | None, str | None]:
    """A cleaned text value, unless it is empty, a spreadsheet formula or too long; and whether it changed."""
    if not value:
        return None, None
    if FORMULA.match(value):
        raise Problem("a spreadsheet formula, not a value", key="import.reason.formula")
    if len(value) > longest:
        raise Problem(f"longer than {longest}", key="import.reason.too_long", n=longest)
    return value, ("import.fixed.width_space" if value != raw else None)


# letters, digits and the ideographic space typed full-width; Chinese punctuation (，。：) is left as written
_FULL_WIDTH_ALNUM = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF5B) if chr(c).isalnum()} | {0x3000: 0x20}


def prose(raw: str, *, longest: int) -> tuple[str | None, str | None]:
    """Free text (a complaint's description, a survey comment): full-width letters and digits made half-width,
    spaces within lines made one and line ends kept; Chinese punctuation, which NFKC would turn into ASCII,
    stays; control characters and spreadsheet formulas refused."""
    value = "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in raw.translate(_FULL_WIDTH_ALNUM).splitlines())
    value = value.strip()
    if any(unicodedata.category(c) == "Cc" and c != "\n" for c in value):
        raise Problem("control characters", key="import.reason.control")
    return _kept(value, raw, longest)


def key(raw: str) -> tuple[str | None, str | None]:
    value, fixed = text(raw, longest=128)
    if value is not None and value.endswith(".0") and value[:-2].isdigit():  # an id that went through Excel
        return value[:-2], "import.fixed.number_id"
    return value, fixed


# the library's own pattern for Chinese mobile numbers: most numbers in a file are these, and matching it here
# gives the library's answer without its parse (70 µs a number; 100,000 customers would spend 7 s on it)
_CN = phonenumbers.PhoneMetadata.metadata_for_region("CN")
assert _CN is not None and _CN.mobile is not None and _CN.mobile.national_number_pattern  # shipped with the library
_CN_MOBILE = re.compile(_CN.mobile.national_number_pattern)


def phone(raw: str, *, region: str = "CN") -> tuple[str | None, str | None]:
    """A valid number (the phonenumbers library): Chinese numbers in national form (13812345678,
    01088886666), others in international form (+442079460958)."""
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value:
        return None, None
    compact = value.replace(" ", "").replace("-", "").removeprefix("+86")
    if region == "CN" and len(compact) == 11 and compact.isascii() and compact.isdigit():
        if _CN_MOBILE.fullmatch(compact):
            return compact, ("import.fixed.phone" if compact != value else None)
    if re.search(r"[A-Za-z]", value.replace("ext", "").replace("x", "")):
        raise Problem("letters in a phone number", key="import.reason.phone")
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise Problem("not a phone number", key="import.reason.phone") from None
    if not phonenumbers.is_valid_number(number):
        raise Problem("not a valid phone number", key="import.reason.phone")
    if number.country_code == 86:
        clean = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL).replace(" ", "")
        clean = clean.replace("-", "")
    else:
        clean = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return clean, ("import.fixed.phone" if clean != value else None)


def email(raw: str) -> tuple[str | None, str | None]:
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value:
        return None, None
    clean = value.lower().replace("mailto:", "")
    if not EMAIL.match(clean) or len(clean) > 200:
        raise Problem("not an email address", key="import.reason.email")
    return clean, ("import.fixed.email" if clean != value else None)


_Y_M_D = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_X_X_Y = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T].*)?$")


def day(raw: str, *, today: date) -> tuple[date | None, str | None]:
    """2026-01-05, 2026/1/5, 2026.1.5, 2026年1月5日, 20260105, an Excel serial day, or day and month before
    the year when one of them is over 12 (05/01/2026 is ambiguous and refused)."""
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value:
        return None, None
    parts: tuple[int, int, int] | None = None
    if found := _Y_M_D.match(value) or _COMPACT.match(value):
        parts = (int(found[1]), int(found[2]), int(found[3]))
    elif found := _X_X_Y.match(value):
        first, second, year = int(found[1]), int(found[2]), int(found[3])
        if first > 12 >= second:
            parts = (year, second, first)
        elif second > 12 >= first:
            parts = (year, first, second)
        else:
            raise Problem("day and month cannot be told apart", key="import.reason.date_ambiguous")
    elif re.fullmatch(r"\d{5}(\.\d+)?", value):  # an Excel serial day
        parsed = EXCEL_EPOCH + timedelta(days=int(float(value)))
        return _in_range(parsed, today), "import.fixed.excel_date"
    if parts is None:
        raise Problem("not a date", key="import.reason.date")
    try:
        parsed = date(*parts)
    except ValueError:
        raise Problem("not a date", key="import.reason.date") from None
    return _in_range(parsed, today), (None if parsed.isoformat() == value else "import.fixed.date")


_TIME = re.compile(r"[ T]\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2})(?:\.\d+)?)?\s*$")


def moment(raw: str, *, today: date) -> tuple[datetime | None, str | None]:
    """A date with its time of day: 2026-10-08 14:30, 2026/10/8 14:30:05, 2026年10月8日 9:05, an Excel date
    and time (45938.5 is noon); a date alone is its midnight."""
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value:
        return None, None
    day_value, fixed = day(value, today=today)
    assert day_value is not None  # a non-empty value is a day or a Problem
    at = time()
    if found := _TIME.search(value):
        hour, minute, second = int(found[1]), int(found[2]), int(found[3] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise Problem("not a time of day", key="import.reason.date")
        at = time(hour, minute, second)
    elif re.fullmatch(r"\d{5}\.\d+", value):  # the fraction of an Excel serial day is its time
        seconds = round(float("0." + value.split(".")[1]) * 86_400)
        at = time(min(seconds // 3600, 23), seconds // 60 % 60, seconds % 60)
    result = datetime.combine(day_value, at)
    plain = result.isoformat(sep=" ") in (value, value + ":00") or value == day_value.isoformat()
    return result, (fixed or "import.fixed.date") if not plain else None


def _in_range(value: date, today: date) -> date:
    if value < EARLIEST or value > today + timedelta(days=LATEST_DAYS_AHEAD):
        raise Problem("a date out of range", key="import.reason.date_range")
    return value


def amount(raw: str) -> tuple[float | None, str | None]:
    """12,345.60  ¥1,200  RMB 300  1.2万 (12,000)  (500) for -500; refused when not a number."""
    if raw.isascii():  # a plain number (most cells): Python's own parser, without the clean-up below
        try:
            number = float(raw)
        except ValueError:
            pass
        else:
            if number == number and abs(number) < 1e12:  # not NaN, not infinite, not absurd
                return round(number, 2), None
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value:
        return None, None
    clean = re.sub(r"(?i)^(rmb|cny|usd)|[¥$€,\s元]|(?i:rmb|cny)$", "", value)
    negative = clean.startswith("(") and clean.endswith(")")
    clean = clean.strip("()")
    factor = 1.0
    if clean.endswith("万"):
        clean, factor = clean[:-1], 10_000.0
    elif clean.endswith("亿"):
        clean, factor = clean[:-1], 100_000_000.0
    try:
        number = float(clean) * factor * (-1 if negative else 1)
    except ValueError:
        raise Problem("not an amount", key="import.reason.amount") from None
    if number != number or number in (float("inf"), float("-inf")) or abs(number) >= 1e12:
        raise Problem("not an amount", key="import.reason.amount")
    return round(number, 2), (None if clean == value else "import.fixed.amount")
