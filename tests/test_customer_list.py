"""The customer list against a hand-made fixture: each filter alone and combined, paging, scope, exports."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core import facts, models as m, pii
from core.access import Viewer
from core.customer_list import CustomerQuery, count_customers, customer_page, export_customers, iter_customers
from core.db import session_scope
from core.errors import PermissionDenied, ValidationError
from tests import factories as f
from tests.conftest import TEST_KEYRING, TODAY

NOW = datetime(2026, 11, 25, 12, 0)
ANALYST = Viewer(None, "ana", "Ana", "analyst")


@pytest.fixture
def fixture(engine: Engine) -> dict[str, object]:
    """Six customers whose every list column is known:

    code     name        region owner kind   orders (amount, day)                  contact       nps
    c1 Acme 上海         east   amy   B2B    3 x 1000 in 2026                      2026-11-20    10
    c2 Beta Trading      east   bob   B2C    1 x 500 2026-10-01                    2026-06-01    5
    c3 宏达科技           north  amy   B2B    1 x 20000 2026-09-01                  never         7
    c4 Delta             south  bob   B2B    none                                  2026-11-24    none
    c5 Echo (churned)    north  -     B2C    1 x 300 2024-01-10                    never         none
    c6 Foxtrot           east   amy   B2C    2 x 2500 2026-11                       2025-01-01    9 then 3
    """
    with session_scope(engine) as s:
        amy, bob = f.user(s, "amy"), f.user(s, "bob")
        c = [
            f.customer(s, owner=amy, became=date(2024, 3, 1), region="east"),
            f.customer(s, owner=bob, became=date(2025, 5, 1), region="east", kind="B2C"),
            f.customer(s, owner=amy, became=date(2026, 2, 1), region="north"),
            f.customer(s, owner=bob, became=date(2026, 10, 1), region="south"),
            f.customer(s, became=date(2023, 5, 1), churned=date(2025, 1, 1), region="north", kind="B2C"),
            f.customer(s, owner=amy, became=date(2025, 1, 1), region="east", kind="B2C"),
        ]
        names = ["Acme 上海", "Beta Trading", "宏达科技", "Delta", "Echo", "Foxtrot"]
        for row, name in zip(c, names):
            row.name = name
        c[0].phone_enc, c[0].phone_hash = (
            pii.encrypt("13812345678", TEST_KEYRING),
            pii.search_hash("phone", "13812345678", TEST_KEYRING),
        )
        c[1].email_enc, c[1].email_hash = (
            pii.encrypt("beta@example.com", TEST_KEYRING),
            pii.search_hash("email", "beta@example.com", TEST_KEYRING),
        )
        for day in (date(2026, 2, 1), date(2026, 5, 1), date(2026, 8, 1)):
            f.order(s, c[0], day, 1000)
        f.order(s, c[1], date(2026, 10, 1), 500)
        f.order(s, c[2], date(2026, 9, 1), 20000)
        f.order(s, c[4], date(2024, 1, 10), 300)
        f.order(s, c[5], date(2026, 11, 2), 2500)
        f.order(s, c[5], date(2026, 11, 9), 2500)
        for who, at in (
            (c[0], datetime(2026, 11, 20)),
            (c[1], datetime(2026, 6, 1)),
            (c[3], datetime(2026, 11, 24)),
            (c[5], datetime(2025, 1, 1)),
        ):
            s.add(
                m.Interaction(customer_id=who.id, channel="phone", direction="outbound", occurred_at=at, subject="Call")
            )
        f.nps(s, c[0], datetime(2026, 10, 1), 10)
        f.nps(s, c[1], datetime(2026, 10, 1), 5)
        f.nps(s, c[2], datetime(2026, 10, 1), 7)
        f.nps(s, c[5], datetime(2025, 10, 1), 9)
        f.nps(s, c[5], datetime(2026, 10, 1), 3)
        f.ticket(s, c[3], datetime(2026, 11, 24, 9))
        s.flush()
        facts.rebuild_all(s, as_of=TODAY)
        return {
            "codes": [x.code for x in c],
            "amy": Viewer(amy.id, "amy", "Amy", "account_manager"),
            "bob_id": bob.id,
            "amy_id": amy.id,
        }


def codes(engine: Engine, query: CustomerQuery, viewer: Viewer = ANALYST) -> list[str]:
    with Session(engine) as s:
        page = customer_page(s, viewer, query, TEST_KEYRING, page=1, page_size=25, now=NOW)
        assert page.total == len(page.rows)
        return list(page.rows["code"])


def idx(fixture: dict[str, object], *numbers: int) -> set[str]:
    return {fixture["codes"][n - 1] for n in numbers}  # type: ignore[index]


# (query, the customers it must return: numbers as in the fixture's table)
CASES = [
    (CustomerQuery(), (1, 2, 3, 4, 5, 6)),
    (CustomerQuery(text="acme"), (1,)),
    (CustomerQuery(text="宏达"), (3,)),
    (CustomerQuery(text="138 1234 5678"), (1,)),
    (CustomerQuery(text="BETA@example.com"), (2,)),
    (CustomerQuery(text="100%"), ()),
    (CustomerQuery(regions=("east",)), (1, 2, 6)),
    (CustomerQuery(industries=("retail",)), (1, 2, 3, 4, 5, 6)),
    (CustomerQuery(kinds=("B2C",)), (2, 5, 6)),
    # Acme: no order in the last 90 days against 1 before; Foxtrot: 16 days since its last order, its gap is 7
    (CustomerQuery(tiers=("churn_risk",)), (1, 6)),
    (CustomerQuery(stages=("churned",)), (5,)),
    (CustomerQuery(stages=("new",)), (4,)),
    (CustomerQuery(nps=("promoter",)), (1,)),
    (CustomerQuery(nps=("detractor",)), (2, 6)),  # Foxtrot's latest answer is a 3
    (CustomerQuery(nps=("passive", "none")), (3, 4, 5)),
    (CustomerQuery(contact="7"), (1, 4)),
    (CustomerQuery(contact="over_180"), (3, 5, 6)),
    (CustomerQuery(contact="never"), (3, 5)),
    (CustomerQuery(revenue_min=3000.01), (3, 6)),  # Acme has exactly 3000
    (CustomerQuery(revenue_min=500, revenue_max=3000), (1, 2)),
    (CustomerQuery(since_from=date(2025, 1, 1), since_to=date(2026, 2, 1)), (2, 3, 6)),
    (CustomerQuery(last_order_from=date(2026, 9, 1)), (2, 3, 6)),
    (CustomerQuery(regions=("east",), kinds=("B2C",), nps=("detractor",), contact="over_90"), (2, 6)),
    (CustomerQuery(regions=("north",), revenue_min=1), (3,)),
]


def test_each_filter_alone_and_combined(engine: Engine, fixture) -> None:  # type: ignore[no-untyped-def]
    """One database per dialect for all cases; every case is checked and every mismatch reported."""
    wrong = {
        repr(query): sorted(got)
        for query, expected in CASES
        if (got := set(codes(engine, query))) != idx(fixture, *expected)
    }
    assert not wrong


def test_owner_filter_and_an_account_managers_scope(engine: Engine, fixture) -> None:  # type: ignore[no-untyped-def]
    assert set(codes(engine, CustomerQuery(owner_ids=(fixture["bob_id"],)))) == idx(fixture, 2, 4)
    amy = fixture["amy"]
    assert set(codes(engine, CustomerQuery(), amy)) == idx(fixture, 1, 3, 6)
    # asking for someone else's customers does not widen the scope: core replaces the owner filter
    assert set(codes(engine, CustomerQuery(owner_ids=(fixture["bob_id"],)), amy)) == idx(fixture, 1, 3, 6)


def test_sorting_and_pages(engine: Engine, fixture) -> None:  # type: ignore[no-untyped-def]
    by_revenue = codes(engine, CustomerQuery(sort="revenue_12m"))
    assert by_revenue[:3] == [fixture["codes"][2], fixture["codes"][5], fixture["codes"][0]]  # 20000, 5000, 3000
    # never contacted sorts as the oldest contact, on every dialect: first going up, last going down
    by_contact = codes(engine, CustomerQuery(sort="last_contact_at", descending=False))
    assert set(by_contact[:2]) == idx(fixture, 3, 5) and by_contact[2:4] == [fixture["codes"][5], fixture["codes"][1]]
    newest_first = codes(engine, CustomerQuery(sort="last_contact_at"))
    assert newest_first[:2] == [fixture["codes"][3], fixture["codes"][0]] and set(newest_first[-2:]) == idx(
        fixture, 3, 5
    )
    with Session(engine) as s:
        pages = [
            customer_page(
                s, ANALYST, CustomerQuery(sort="name", descending=False), TEST_KEYRING, page=p, page_size=25, now=NOW
            )
            for p in (1, 2)
        ]
        assert pages[0].total == 6 and pages[0].pages == 1 and pages[1].page == 1  # past the end: the last page
        chunks = list(
            iter_customers(s, ANALYST, CustomerQuery(sort="name", descending=False), TEST_KEYRING, chunk=4, now=NOW)
        )
    assert [len(c) for c in chunks] == [4, 2]
    assert [*chunks[0]["code"], *chunks[1]["code"]] == list(pages[0].rows["code"])


def test_contact_details_masked_for_an_analyst_clear_for_the_owner(engine: Engine, fixture) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        masked = customer_page(s, ANALYST, CustomerQuery(text="acme"), TEST_KEYRING, now=NOW).rows.iloc[0]
        clear = customer_page(s, fixture["amy"], CustomerQuery(text="acme"), TEST_KEYRING, now=NOW).rows.iloc[0]
    assert masked["phone"] == "138****5678" and clear["phone"] == "13812345678"


def test_bad_queries_are_refused() -> None:
    with pytest.raises(ValidationError, match="revenue"):
        CustomerQuery(revenue_min=10, revenue_max=5)
    with pytest.raises(ValidationError, match="sort"):
        CustomerQuery(sort="password_hash")
    with pytest.raises(ValidationError):
        CustomerQuery(contact="yesterday")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_holds_exactly_the_filtered_rows_and_is_audited(engine: Engine, fixture, fmt: str) -> None:  # type: ignore[no-untyped-def]
    query = CustomerQuery(regions=("east", "north"), sort="name", descending=False)
    out = io.BytesIO()
    with session_scope(engine) as s:
        written = export_customers(s, ANALYST, query, TEST_KEYRING, out, fmt=fmt, lang="zh", chunk=2, now=NOW)
        expected = list(customer_page(s, ANALYST, query, TEST_KEYRING, now=NOW).rows["code"])
    if fmt == "csv":
        raw = out.getvalue()
        assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens Chinese text correctly
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(out.getvalue()), read_only=True).worksheets[0]
        rows = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    header, body = rows[0], rows[1:]
    assert header[:2] == ["客户编号", "名称"] and written == len(body) == 5
    assert [r[0] for r in body] == expected
    by_code = {r[0]: r for r in body}
    acme = by_code[fixture["codes"][0]]
    assert acme[1] == "Acme 上海" and "华东" in acme and "零售" in acme  # codes shown in the chosen language
    assert "138****5678" in acme and "13812345678" not in ",".join(",".join(r) for r in body)
    with Session(engine) as s:
        details = s.scalar(select(m.AuditLog.details).where(m.AuditLog.action == "export"))
    assert details is not None and '"rows": 5' in details and fmt in details and "north" in details


def test_only_export_roles_may_export(engine: Engine, fixture) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        export_customers(s, fixture["amy"], CustomerQuery(), TEST_KEYRING, io.BytesIO(), fmt="csv")
    with Session(engine) as s:
        assert count_customers(s, ANALYST, CustomerQuery(), TEST_KEYRING, now=NOW) == 6
        with pytest.raises(PermissionDenied):
            count_customers(s, Viewer(9, "agent", "Agent", "support_agent"), CustomerQuery(), TEST_KEYRING)


def test_tasks_the_system_made_read_in_the_page_language() -> None:
    from core.customer_view import task_title

    assert task_title("NPS 3: call back", "detractor", "zh") == "回访：NPS 评分 3"
    assert task_title("CSAT 2 on ticket #17", "low_csat", "en") == "Call back: CSAT 2 on ticket #17"
    assert task_title("SLA violation: #5 first_response", "sla", "zh") == "SLA 违约：工单 #5，首次响应"
    assert task_title("Send the quote", "follow_up", "zh") == "Send the quote"  # typed by a person: as typed


def test_exported_text_never_becomes_a_live_formula(engine: Engine, fixture) -> None:  # type: ignore[no-untyped-def]
    from core import exports

    with session_scope(engine) as s:  # a name typed as a formula (the list reads it from customer_stats)
        for model in (m.Customer, m.CustomerStat):
            s.execute(
                model.__table__.update()
                .where(model.__table__.c.code == fixture["codes"][0])
                .values(name='=HYPERLINK("http://x.example","open")')
            )
    for fmt in ("csv", "xlsx"):
        out = io.BytesIO()
        with session_scope(engine) as s:
            export_customers(s, ANALYST, CustomerQuery(), TEST_KEYRING, out, fmt=fmt, lang="en", now=NOW)
        if fmt == "csv":
            cells = [c for r in csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))) for c in r]
        else:
            sheet = load_workbook(io.BytesIO(out.getvalue()), read_only=True).worksheets[0]
            cells = [str(c) for r in sheet.iter_rows(values_only=True) for c in r if c is not None]
        assert '\'=HYPERLINK("http://x.example","open")' in cells and not any(c.startswith("=") for c in cells)
    table = exports.for_spreadsheet(
        __import__("pandas").DataFrame({"a": ["@SUM(1)", "ok", "-1+2"], "b": [1 / 3, 0.5, 2.0]})
    )
    assert list(table["a"]) == ["'@SUM(1)", "ok", "'-1+2"] and list(table["b"]) == [0.3333, 0.5, 2.0]


def test_hostile_list_input_is_refused_with_a_message() -> None:
    from core.i18n import error_text

    for query in (
        dict(text="x" * 100_001),
        dict(text="a\x00b"),
        dict(revenue_min=float("nan")),
        dict(revenue_max=float("inf")),
    ):
        with pytest.raises(ValidationError) as refused:
            CustomerQuery(**query)  # type: ignore[arg-type]
        assert error_text(refused.value, "zh") != error_text(refused.value, "en")  # in both languages


def test_url_numbers_are_ascii_digits_in_range() -> None:
    from ui.filters import url_int

    assert url_int("42") == 42 and url_int(" 42") is None and url_int("²") is None and url_int("١٢") is None
    assert url_int(str(2**63)) is None and url_int("0") is None and url_int(None) is None and url_int("-3") is None


def test_a_searched_phone_or_email_is_never_recorded_in_clear() -> None:
    assert CustomerQuery(text="138 1234 5678").as_audit()["text"] == "[phone]"
    assert CustomerQuery(text="Jane@Example.com").as_audit()["text"] == "[email]"
    assert CustomerQuery(text="Acme").as_audit()["text"] == "Acme"  # a name or code says what was looked for


KEYSET_ORDERS = [("revenue_12m", True), ("last_contact_at", False), ("last_contact_at", True), ("name", False)]


def test_keyset_pages_walk_the_list_exactly_and_stay_stable_under_inserts(engine: Engine) -> None:
    """60 customers with tied revenues, names and empty contacts: in each order, pages read from the previous
    page's last key give the whole list in order, each row once; then a customer added at the top of every
    order meanwhile neither repeats nor skips a row on the next page (an OFFSET shows the previous page's last
    row again)."""
    with session_scope(engine) as s:
        owner = f.user(s, "amy")
        for n in range(60):
            who = f.customer(s, owner=owner, became=date(2025, 1, 1))
            who.name = f"Name {n % 7}"  # ties on the name too
            if n % 3:
                f.order(s, who, date(2026, 10, 1), float(100 * (n % 4)))
            if n % 5:
                s.add(
                    m.Interaction(
                        customer_id=who.id,
                        channel="phone",
                        direction="outbound",
                        occurred_at=datetime(2026, 11, 1 + n % 9, 10),
                        subject="Call",
                    )
                )
        s.flush()
        facts.rebuild_all(s, as_of=TODAY)
    wholes, firsts = {}, {}
    with Session(engine) as s:
        for sort, descending in KEYSET_ORDERS:
            query = CustomerQuery(sort=sort, descending=descending)
            whole = list(customer_page(s, ANALYST, query, TEST_KEYRING, page=1, page_size=100, now=NOW).rows["code"])
            walked, key = [], None
            for number in (1, 2, 3):
                page = customer_page(s, ANALYST, query, TEST_KEYRING, page=number, page_size=25, after=key, now=NOW)
                walked += list(page.rows["code"])
                key = page.last_key
                firsts.setdefault((sort, descending), page)
            assert len(whole) == 60 and walked == whole, (sort, descending)
            wholes[(sort, descending)] = whole
    with session_scope(engine) as s:  # a new customer first in every order above (when going down by contact)
        top = f.customer(s, owner=s.scalars(select(m.User).limit(1)).one(), became=date(2025, 1, 1))
        top.name = "Aaa"  # first by name; the most revenue; contacted just now
        f.order(s, top, date(2026, 11, 1), 1_000_000.0)
        s.add(m.Interaction(customer_id=top.id, channel="phone", direction="outbound", occurred_at=NOW, subject="Call"))
        s.flush()
        facts.rebuild_all(s, as_of=TODAY)
    with Session(engine) as s:
        for sort, descending in KEYSET_ORDERS:
            if (sort, descending) == ("last_contact_at", False):
                continue  # going up by contact, the new customer comes last: nothing shifts
            query, first = CustomerQuery(sort=sort, descending=descending), firsts[(sort, descending)]
            second = customer_page(s, ANALYST, query, TEST_KEYRING, page=2, page_size=25, after=first.last_key, now=NOW)
            shifted = customer_page(s, ANALYST, query, TEST_KEYRING, page=2, page_size=25, now=NOW)
            assert list(second.rows["code"]) == wholes[(sort, descending)][25:50], (sort, descending)
            assert list(shifted.rows["code"]) == wholes[(sort, descending)][24:49]  # OFFSET: the last row again
