"""Reading an uploaded or dropped file into a header and rows of text, whatever produced it."""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from itertools import islice

import charset_normalizer

from core.errors import ValidationError

MAX_BYTES = 200 * 1024 * 1024
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "big5", "utf-16", "latin-1")  # offered when detection is wrong
HEADER_SEARCH_ROWS = 10  # a title, a date line or merged header rows may sit above the real header
HEAD_ROWS = 5  # shown before an import


@dataclass
class Table:
    """A file as text: its header, its first rows, and its rows streamed (each with the file's line or row
    number) as often as needed without holding them all: a file of two million rows costs its bytes, not
    ten times as much in lists of strings."""

    header: list[str]
    head: list[tuple[int, list[str]]]
    source: Callable[[], Iterator[tuple[int, list[str]]]]
    encoding: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    skipped_above_header: int = 0
    size: int = 0  # the file's bytes: a large file is read in a second process while the first writes

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Every row under the header, empty lines left out, each as wide as the header."""
        return self.source()

    @cached_property
    def count(self) -> int:
        return sum(1 for _ in self.rows())


def _text(value: object) -> str:
    """A cell as text: Excel dates as ISO dates, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes are valid UTF-8, else charset-normalizer's best guess
    (GB18030 covers GBK and GB2312)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data[:1_000_000]).best()
    if best is None:
        raise ValidationError("The file is not text in any encoding we know.", key="import.error.not_text")
    name = best.encoding.replace("_", "-").lower()
    if name in ("gb2312", "gbk", "gb18030", "hz"):
        return "gb18030"
    if name in OTHER_EAST_ASIAN and _decodes(data, "gb18030"):
        return "gb18030"  # a few lines of GBK read as Korean or Japanese too: here, a Chinese file is likelier
    return name


OTHER_EAST_ASIAN = ("cp949", "euc-kr", "johab", "big5", "big5hkscs", "cp950", "shift-jis", "cp932", "euc-jp")


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data[:1_000_000].decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _header_index(rows: list[list[str]], known: set[str]) -> int:
    """The header is the row among the first few that names most known fields (else the first row with two or
    more filled cells): title rows and merged cells above it are skipped."""
    best, best_score = None, 0
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = sum(1 for cell in row if normalise_header(cell) in known)
        if score > best_score:
            best, best_score = i, score
    if best is not None:
        return best
    return next((i for i, row in enumerate(rows) if sum(1 for c in row if c.strip()) >= 2), 0)


def normalise_header(text: str) -> str:
    """Full-width to half-width, case folded, spaces, underscores, brackets and colons dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if c.isalnum())


def _filled(rows: Iterable[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    """Rows with at least one non-blank cell (cells stay as read: every cleaner trims its own)."""
    for number, row in rows:
        if any(row) and "".join(row).strip():
            yield number, row


def _table(rows: Callable[[], Iterator[tuple[int, list[str]]]], known: set[str], **how: object) -> Table:
    """The header among the first rows; a source of the rows under it, padded or cut to the header's width."""
    first = list(islice(_filled(rows()), HEADER_SEARCH_ROWS + HEAD_ROWS))
    if not first:
        raise ValidationError("The file has no rows.", key="import.error.empty")
    at = _header_index([[c.strip() for c in row] for _, row in first], known)
    header = [c.strip() or f"column {i + 1}" for i, c in enumerate(first[at][1])]
    width = len(header)

    def source() -> Iterator[tuple[int, list[str]]]:
        filled = _filled(rows())
        for _ in range(at + 1):
            next(filled)
        for number, row in filled:
            yield number, (row if len(row) == width else (row + [""] * width)[:width])

    head = list(islice(source(), HEAD_ROWS))
    return Table(header=header, head=head, source=source, skipped_above_header=at, **how)  # type: ignore[arg-type]


def _check_decodes(data: bytes, encoding: str) -> None:
    """Decode the whole file once, a megabyte at a time, keeping nothing: a bad byte near the end is reported
    now, with the encoding to change, and not halfway through an import."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
        for start in range(0, len(data), 1 << 20):
            decoder.decode(data[start : start + (1 << 20)])
        decoder.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError):
        raise ValidationError(
            f"The file cannot be read as {encoding}; choose another encoding.",
            key="import.error.encoding",
            encoding=encoding,
        ) from None


def read_table(
    data: bytes, *, file_name: str, known: set[str], encoding: str | None = None, sheet: str | None = None
) -> Table:
    """Read CSV (any common encoding and delimiter) or Excel (.xlsx/.xls, first sheet unless `sheet`).
    `known` holds the normalised header names of the fields, to find the header row."""
    if len(data) > MAX_BYTES:
        raise ValidationError("The file is larger than 200 MB.", key="import.error.too_big")
    if not data.strip():
        raise ValidationError("The file has no rows.", key="import.error.empty")
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return _read_excel(data, known=known, sheet=sheet)
    if file_name.lower().endswith((".xlsx", ".xls", ".xlsm")):
        raise ValidationError("The file is named like an Excel file but is not one.", key="import.error.not_excel")
    if b"\x00" in data[:65536] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationError("The file is not text (it holds binary data).", key="import.error.not_text")
    chosen = encoding or detect_encoding(data)
    _check_decodes(data, chosen)
    sample = data[:65536].decode(chosen, errors="ignore").lstrip("\ufeff")
    if sum(1 for c in sample if unicodedata.category(c) == "Cc" and c not in "\r\n\t") > 10:
        raise ValidationError("The file is not text (it holds binary data).", key="import.error.not_text")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel

    def rows() -> Iterator[tuple[int, list[str]]]:
        decoded = "utf-8-sig" if chosen in ("utf-8", "utf-8-sig") else chosen  # a BOM is never a cell
        reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding=decoded, newline=""), dialect)
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as exc:
            raise ValidationError(
                f"The CSV is broken near line {reader.line_num}: {exc}", key="import.error.csv", line=reader.line_num
            ) from None

    return _table(rows, known, encoding=chosen, size=len(data))


def _read_excel(data: bytes, *, known: set[str], sheet: str | None) -> Table:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - calamine raises its own error types for every kind of damage
        raise ValidationError(
            "The Excel file cannot be read (damaged or protected).", key="import.error.excel"
        ) from None
    names = list(workbook.sheet_names)
    if not names:
        raise ValidationError("The file has no rows.", key="import.error.empty")
    chosen = sheet if sheet in names else names[0]
    worksheet = workbook.get_sheet_by_name(chosen)

    def rows() -> Iterator[tuple[int, list[str]]]:
        above = worksheet.start[0] if worksheet.start else 0  # the sheet's rows as Excel numbers them
        for number, cells in enumerate(worksheet.iter_rows(), start=above + 1):
            yield number, [_text(v) for v in cells]

    return _table(rows, known, sheet=chosen, sheets=names, size=len(data))
