"""Importing a company's files: every kind of damaged file gives a clear reason and writes nothing; values are
cleaned by hand-checked rules; import twice = once; personal data arrives encrypted; orders find their
customers; the summaries equal a rebuild afterwards."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core import facts, models as m, pii
from core.access import SYSTEM, Viewer
from core.cli import main
from core.db import session_scope, write
from core.errors import PermissionDenied, ValidationError
from core.ingest import batch, clean
from core.ingest.fields import Mapping, code_for, propose
from core.periods import Filters, period_containing
from tests import factories as f
from tests.conftest import TEST_KEYRING

TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 12, 0)
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
CUSTOMERS = (
    "客户清单（导出自 ERP）\n"  # a title row above the header
    "\n"
    "客户编号,客户名称,客户类型,所属行业,省份,客户经理,获客渠道,签约日期,手机号码,邮箱\n"
    "E1,杭州云帆科技有限公司,企业,信息技术服务,浙江,amy,展会,2025/3/12,138 1234 5601,Sales@YunFan.example\n"
    "E2,上海恒盛贸易有限公司,企业,零售,上海,amy,官网,2024年7月1日,+86 139-1234-5602,\n"
    "\n"
    "E3,北京智远教育,企业,教育,北京,bob,转介绍,2023-11-20,13912345603,info@zhiyuan.example\n"
    "E4,王小明,个人,零售,江苏,amy,官网,2026-01-15,139 1234 5602,\n"  # E2's phone in another format
    "E5,坏日期公司,企业,零售,江苏,amy,官网,05/06/2026,13812340005,\n"  # day and month ambiguous
    'E6,=HYPERLINK("http://x"),企业,零售,江苏,amy,官网,2026-01-15,13812340006,\n'
    "E7,外星公司,企业,零售,江苏,amy,外星渠道,2026-01-15,13812340007,\n"
)
ORDERS = (
    "订单号,客户编号,下单日期,订单金额,产品类别,销售渠道\n"
    'SO-1,E1,2026-10-08,"¥12,800.00",软件,直销\n'
    "SO-2,E1,2026-11-02,1.2万,服务,直销\n"
    "SO-3,E3,2026/9/15,3500,耗材,线上\n"
    "SO-4,E9,2026-10-06,1000,软件,直销\n"  # no such customer
    "SO-5,E3,2026-11-18,-300,服务,直销\n"  # negative
    "SO-1,E1,2026-10-08,12800,软件,直销\n"  # the same order twice in one file
)


@pytest.fixture
def store(engine: Engine) -> Engine:
    with session_scope(engine) as s:
        f.user(s, "amy")
        f.user(s, "bob")
    return engine


def _import(
    engine: Engine,
    kind: str,
    text: str,
    *,
    encoding: str = "utf-8",
    source: str = "erp",
    viewer: Viewer = SYSTEM,
    dry_run: bool = False,
) -> batch.Plan:
    data = text.encode(encoding)
    table = batch.read(data, kind=kind, file_name=f"{kind}.csv")
    mapping = propose(kind, table.header)
    if dry_run:
        with Session(engine) as s:
            return batch.preview(
                s, viewer, kind=kind, table=table, mapping=mapping, source=source, keyring=TEST_KEYRING, today=TODAY
            )
    return write(
        engine,
        lambda s: batch.run(
            s,
            viewer,
            kind=kind,
            table=table,
            mapping=mapping,
            source=source,
            keyring=TEST_KEYRING,
            file_name=f"{kind}.csv",
            data=data,
            today=TODAY,
            now=NOW,
        ),
    )


def _count(engine: Engine, model: type[m.Base]) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# --- files ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_a_file_in_any_common_encoding_reads_the_same(encoding: str) -> None:
    table = batch.read(CUSTOMERS.encode(encoding), kind="customers", file_name="c.csv")
    assert table.header[:3] == ["客户编号", "客户名称", "客户类型"]  # the title row above it was skipped
    assert table.skipped_above_header == 1 and table.count == 7  # empty lines are not rows
    assert table.head[0][1][1] == "杭州云帆科技有限公司" and table.head[0][0] == 4  # the file's own line number


def test_semicolons_tabs_and_excel_with_several_sheets() -> None:
    assert batch.read(b"name;region\nA;east\n", kind="customers", file_name="c.csv").header == ["name", "region"]
    assert batch.read(b"name\tregion\nA\teast\n", kind="customers", file_name="c.tsv").head[0][1] == ["A", "east"]
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Notes"
    book.active.append(["exported by the ERP"])
    sheet = book.create_sheet("客户")
    sheet.append(["客户名称", "签约日期", "客户编号"])
    sheet.append(["云帆", datetime(2025, 3, 12), 1001])
    out = io.BytesIO()
    book.save(out)
    first = batch.read(out.getvalue(), kind="customers", file_name="c.xlsx")
    assert first.sheets == ["Notes", "客户"] and first.sheet == "Notes"
    chosen = batch.read(out.getvalue(), kind="customers", file_name="c.xlsx", sheet="客户")
    assert chosen.head[0][1] == ["云帆", "2025-03-12", "1001"]  # Excel dates and whole numbers as plain text


@pytest.mark.parametrize(
    "data, name, key",
    [
        (b"", "c.csv", "import.error.empty"),
        (b"\x00\x01\x02PNG\x00" * 200, "c.csv", "import.error.not_text"),
        (b"name,region\nA,east\n", "c.xlsx", "import.error.not_excel"),
        (b"PK\x03\x04 not really a zip", "c.xlsx", "import.error.excel"),
    ],
)
def test_damaged_files_are_refused_with_a_reason(data: bytes, name: str, key: str) -> None:
    with pytest.raises(ValidationError) as err:
        batch.read(data, kind="customers", file_name=name)
    assert err.value.key == key


def test_junk_text_reads_but_its_mapping_says_what_is_missing(store: Engine) -> None:
    junk = ("lorem ipsum dolor sit amet " * 40 + "\n") * 1000  # about 1 MB of text that is not a customer file
    plan = _import(store, "customers", junk, dry_run=True)
    assert not plan.ready and {"field": "name"} in [values for _, values in plan.problems]
    with pytest.raises(ValidationError):
        _import(store, "customers", junk)
    assert _count(store, m.Customer) == 0 and _count(store, m.ImportBatch) == 0


# --- cleaning (hand-checked values) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026-01-05", date(2026, 1, 5)),
        ("2026/1/5", date(2026, 1, 5)),
        ("2026年1月5日", date(2026, 1, 5)),
        ("20260105", date(2026, 1, 5)),
        ("13/05/2026", date(2026, 5, 13)),
        ("05/13/2026", date(2026, 5, 13)),
        ("45000", date(2023, 3, 15)),
        ("２０２６－０１－０５", date(2026, 1, 5)),
    ],
)
def test_dates_in_common_chinese_and_international_forms(raw: str, expected: date) -> None:
    assert clean.day(raw, today=TODAY)[0] == expected


@pytest.mark.parametrize(
    "raw, key",
    [
        ("05/06/2026", "import.reason.date_ambiguous"),
        ("2026-13-01", "import.reason.date"),
        ("2030-01-01", "import.reason.date_range"),
        ("soon", "import.reason.date"),
    ],
)
def test_dates_that_cannot_be_used(raw: str, key: str) -> None:
    with pytest.raises(clean.Problem) as err:
        clean.day(raw, today=TODAY)
    assert err.value.key == key


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("12,345.60", 12345.6),
        ("¥1,200", 1200.0),
        ("RMB 300", 300.0),
        ("1.2万", 12000.0),
        ("(500)", -500.0),
        ("８８", 88.0),
    ],
)
def test_amounts(raw: str, expected: float) -> None:
    assert clean.amount(raw)[0] == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("010-8888 6666", "01088886666"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_normalised(raw: str, expected: str) -> None:
    assert clean.phone(raw)[0] == expected


def test_the_fast_path_for_chinese_mobiles_agrees_with_the_library() -> None:
    """Most numbers skip the library's parse: for every three-digit prefix, spaced, dashed and with +86, the
    answer (valid or not, and the clean form) must be the one phonenumbers gives."""
    import phonenumbers

    for prefix in range(100, 200):
        number = f"{prefix}12345678"
        parsed = phonenumbers.parse(number, "CN")
        expected = number if phonenumbers.is_valid_number(parsed) else None
        for shown in (number, f"{number[:3]} {number[3:7]} {number[7:]}", f"+86-{number}"):
            try:
                got = clean.phone(shown)[0]
            except clean.Problem:
                got = None
            assert got == expected, shown


@pytest.mark.parametrize("raw", ["nan", "inf", "-Infinity", "1e13"])
def test_numbers_python_reads_but_no_amount_is(raw: str) -> None:
    with pytest.raises(clean.Problem):
        clean.amount(raw)


@pytest.mark.parametrize(
    "cleaner, raw", [(clean.phone, "12345"), (clean.phone, "call me"), (clean.email, "a@b"), (clean.amount, "a lot")]
)
def test_bad_values_are_refused(cleaner, raw: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(clean.Problem):
        cleaner(raw)


def test_text_is_half_width_and_trimmed_and_formulas_refused() -> None:
    assert clean.text("　ＡＢＣ　 公司 ", longest=20)[0] == "ABC 公司"
    for formula in ('=HYPERLINK("http://x")', "@SUM(A1)", "+cmd(1)"):
        with pytest.raises(clean.Problem):
            clean.text(formula, longest=200)
    assert clean.text("-5% off", longest=20)[0] == "-5% off"  # a leading minus is not a formula


def test_free_text_keeps_chinese_punctuation_and_its_lines() -> None:
    """NFKC would turn a complaint's ，。： into ASCII; free text only has its full-width letters and digits folded."""
    text, fixed = clean.prose("到货外箱破损，两台设备划伤。　型号：ＡＢ１２  \n第二行 ", longest=200)
    assert text == "到货外箱破损，两台设备划伤。 型号：AB12\n第二行" and fixed == "import.fixed.width_space"
    assert clean.prose("交付很快，服务专业", longest=200) == ("交付很快，服务专业", None)
    with pytest.raises(clean.Problem):
        clean.prose('=HYPERLINK("http://x")', longest=200)


def test_value_synonyms_in_both_languages_and_provinces() -> None:
    region = batch.spec_of("customers", "region")
    assert [code_for(region, v) for v in ("浙江", "浙江省", "华东", "East China", "east", "广东", "火星")] == [
        "east",
        "east",
        "east",
        "east",
        "east",
        "south",
        None,
    ]
    industry = batch.spec_of("customers", "industry")
    assert code_for(industry, "信息技术服务") == "it_services" and code_for(industry, "IT Services") == "it_services"


# --- preview and import on every dialect ------------------------------------------------------------------


def test_customers_import_once_with_reasons_and_again_changes_nothing(store: Engine) -> None:
    preview = _import(store, "customers", CUSTOMERS, dry_run=True)
    assert preview.counts == {"new": 3, "update": 0, "unchanged": 0, "duplicate": 1, "rejected": 3}
    assert _count(store, m.Customer) == 0  # a preview writes nothing
    reasons = {issue.line: issue.key for issue in preview.rejected}
    assert reasons == {
        9: "import.reason.date_ambiguous",
        10: "import.reason.formula",
        11: "import.reason.unknown_value",
    }
    assert dict(preview.unknown) == {"acquisition_channel": {"外星渠道": 1}}
    assert preview.fixed[("phone", "import.fixed.phone")] == 3 and preview.fixed[("email", "import.fixed.email")] == 1

    done = _import(store, "customers", CUSTOMERS)
    assert done.counts == preview.counts and _count(store, m.Customer) == 3
    again = _import(store, "customers", CUSTOMERS)
    assert again.counts == {"new": 0, "update": 0, "unchanged": 3, "duplicate": 1, "rejected": 3}
    assert _count(store, m.Customer) == 3 and _count(store, m.ExternalId) == 3 and _count(store, m.ImportBatch) == 2

    with Session(store) as s:
        row = s.execute(select(m.Customer).where(m.Customer.name == "杭州云帆科技有限公司")).scalar_one()
        assert row.region == "east" and row.kind == "B2B" and row.industry == "it_services" and row.status == "active"
        assert row.acquisition_channel == "trade_show" and row.became_customer_date == date(2025, 3, 12)
        assert "13812345601" not in (row.phone_enc or "") and pii.decrypt(row.phone_enc, TEST_KEYRING) == "13812345601"
        assert row.phone_hash == pii.search_hash("phone", "13812345601", TEST_KEYRING)  # found by phone search
        assert pii.decrypt(row.email_enc, TEST_KEYRING) == "sales@yunfan.example"
        details = s.scalars(select(m.AuditLog.details).where(m.AuditLog.action == "import")).all()
        assert len(details) == 2 and not any("1381234" in d or "yunfan" in d for d in details)
        stats = s.scalar(select(func.count()).select_from(m.CustomerStat))
        assert stats == 3  # the list shows them


def test_a_mapped_value_and_a_changed_row_update_the_same_record(store: Engine) -> None:
    _import(store, "customers", CUSTOMERS)
    table = batch.read(
        CUSTOMERS.replace("杭州云帆科技有限公司", "杭州云帆科技集团").encode(), kind="customers", file_name="c.csv"
    )
    mapping = propose("customers", table.header)
    mapping.values["acquisition_channel"] = {"外星渠道": "partner"}
    plan = write(
        store,
        lambda s: batch.run(
            s,
            SYSTEM,
            kind="customers",
            table=table,
            mapping=mapping,
            source="erp",
            keyring=TEST_KEYRING,
            file_name="c.csv",
            data=b"x",
            today=TODAY,
        ),
    )
    assert plan.counts == {"new": 1, "update": 1, "unchanged": 2, "duplicate": 1, "rejected": 2}
    with Session(store) as s:
        assert s.scalar(select(func.count()).where(m.Customer.name.like("杭州云帆%"))) == 1


def test_an_update_leaves_the_fields_the_file_does_not_carry(store: Engine) -> None:
    _import(store, "customers", CUSTOMERS)
    with session_scope(store) as s:
        s.execute(m.table(m.Customer).update().values(status="churned", churned_date=date(2026, 6, 1), city="杭州"))
    names_only = "客户编号,客户名称\nE1,杭州云帆科技有限公司\nE3,北京智远教育（新名）\n"
    plan = _import(store, "customers", names_only)
    assert plan.counts["update"] == 1 and plan.counts["unchanged"] == 1
    with Session(store) as s:
        rows = s.execute(select(m.Customer.name, m.Customer.status, m.Customer.city).order_by(m.Customer.id)).all()
    assert [tuple(r) for r in rows][2] == (
        "北京智远教育(新名)",
        "churned",
        "杭州",
    )  # half-width brackets  # status and city kept


def test_a_file_of_contact_details_updates_known_customers_only(store: Engine) -> None:
    _import(store, "customers", CUSTOMERS)
    contacts = "客户编号,手机,邮箱\nE1,139 0000 1111,New@YunFan.example\nE99,138 0000 2222,x@y.example\n"
    plan = _import(store, "customers", contacts)
    assert plan.counts == {"new": 0, "update": 1, "unchanged": 0, "duplicate": 0, "rejected": 1}
    assert plan.rejected[0].key == "import.reason.required"  # E99 would be a new customer without a name
    with Session(store) as s:
        row = s.execute(select(m.Customer).where(m.Customer.name == "杭州云帆科技有限公司")).scalar_one()
        assert pii.decrypt(row.phone_enc, TEST_KEYRING) == "13900001111"
        assert pii.decrypt(row.email_enc, TEST_KEYRING) == "new@yunfan.example"
        assert row.phone_hash == pii.search_hash("phone", "13900001111", TEST_KEYRING)


def test_orders_find_their_customers_and_the_summaries_equal_a_rebuild(store: Engine) -> None:
    _import(store, "customers", CUSTOMERS)
    plan = _import(store, "orders", ORDERS)
    assert plan.counts == {"new": 3, "update": 0, "unchanged": 0, "duplicate": 1, "rejected": 2}
    assert {i.line: i.key for i in plan.rejected} == {5: "import.reason.no_customer", 6: "import.reason.negative"}
    assert _import(store, "orders", ORDERS).counts["unchanged"] == 3 and _count(store, m.Order) == 3
    with session_scope(store) as s:
        assert s.scalar(select(func.sum(m.Order.amount))) == pytest.approx(12800 + 12000 + 3500)
        october = period_containing(date(2026, 10, 1), "M")
        imported = facts.summary_measures(s, october, Filters())
        assert imported["revenue"] == pytest.approx(12800)
        facts.rebuild_period_facts(s, as_of=TODAY)
        assert facts.summary_measures(s, october, Filters()) == pytest.approx(imported)


def test_a_failed_import_leaves_nothing_half_written(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk went away mid-import")

    monkeypatch.setattr(facts, "rebuild_all", broken)
    with pytest.raises(RuntimeError):
        _import(store, "customers", CUSTOMERS)
    assert _count(store, m.Customer) == 0 and _count(store, m.ExternalId) == 0 and _count(store, m.ImportBatch) == 0


def _reader(monkeypatch: pytest.MonkeyPatch, aside: bool) -> list[str]:
    """Files read and cleaned in a second process (`aside`, as a large file is) or in this one; the list
    records each second process started."""
    monkeypatch.setattr(batch, "PARALLEL_BYTES", 0 if aside else 1 << 40)
    started: list[str] = []
    real = batch.multiprocessing.get_context
    monkeypatch.setattr(batch.multiprocessing, "get_context", lambda method: started.append(method) or real(method))
    return started


@pytest.mark.parametrize("aside", [False, True], ids=["one process", "reader process"])
def test_a_file_planned_and_written_a_few_rows_at_a_time_counts_as_one(
    store: Engine, monkeypatch: pytest.MonkeyPatch, aside: bool
) -> None:
    """Large files go through in chunks (50,000 rows); two-row chunks and a tiny memory of cleaned values show
    that a repeat in a later chunk is still a duplicate, reasons keep their lines, and re-importing is a no-op.
    A large file is read and cleaned by a second process: the same plan, the same rows written."""
    started = _reader(monkeypatch, aside)
    monkeypatch.setattr(batch, "CHUNK_ROWS", 2)
    monkeypatch.setattr(batch, "REMEMBERED", 1)
    assert _import(store, "customers", CUSTOMERS).counts == {
        "new": 3,
        "update": 0,
        "unchanged": 0,
        "duplicate": 1,
        "rejected": 3,
    }
    plan = _import(store, "orders", ORDERS)
    assert plan.counts == {"new": 3, "update": 0, "unchanged": 0, "duplicate": 1, "rejected": 2}
    assert {i.line: i.key for i in plan.rejected} == {5: "import.reason.no_customer", 6: "import.reason.negative"}
    assert plan.fixed[("amount", "import.fixed.amount")] == 2  # "¥12,800.00" and "1.2万", in different chunks
    assert _import(store, "orders", ORDERS).counts["unchanged"] == 3 and _count(store, m.Order) == 3
    with Session(store) as s:
        assert s.scalar(select(func.sum(m.Order.amount))) == 12_800 + 12_000 + 3_500
    assert len(started) == (3 if aside else 0) and not batch.multiprocessing.active_children()


@pytest.mark.parametrize("aside", [False, True], ids=["one process", "reader process"])
def test_a_file_broken_after_rows_were_written_leaves_nothing(
    store: Engine, monkeypatch: pytest.MonkeyPatch, aside: bool
) -> None:
    """Rows are written a chunk at a time inside one transaction: a broken line near the end (a quote never
    closed, so one cell swallows the rest of the file) is reported with its line, and the chunks written
    before it are rolled back with everything else. Found by the reader process, it reads the same."""
    _import(store, "customers", CUSTOMERS)
    started = _reader(monkeypatch, aside)
    monkeypatch.setattr(batch, "CHUNK_ROWS", 2)
    more = "".join(f"SO-{n},E1,2026-10-08,100,软件,直销\n" for n in range(10, 30))  # past the rows read first
    broken = ORDERS + more + 'SO-9,E1,"2026-10-08,1000,软件,直销\n' + "x" * 140_000 + "\n"
    table = batch.read(broken.encode(), kind="orders", file_name="orders.csv")  # the head reads well
    with pytest.raises(ValidationError) as err:
        _import(store, "orders", broken)
    assert err.value.key == "import.error.csv" and err.value.values["line"] >= 28 and len(table.head) == 5
    assert _count(store, m.Order) == 0 and _count(store, m.ImportBatch) == 1  # the customers' batch only
    assert len(started) == (1 if aside else 0) and not batch.multiprocessing.active_children()


def test_the_reader_process_stops_when_the_writing_fails(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write failing halfway (here the planner) ends the import with that error and stops the reader, which
    would otherwise wait on a pipe nobody reads: no process is left behind, nothing is written."""
    _import(store, "customers", CUSTOMERS)
    _reader(monkeypatch, True)
    monkeypatch.setattr(batch, "CHUNK_ROWS", 1)
    real, calls = batch._plan_linked, []

    def failing(job: object, cleaned: list[object]) -> object:
        calls.append(len(cleaned))
        if len(calls) == 2:
            raise RuntimeError("disk gone")
        return real(job, cleaned)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "_plan_linked", failing)
    with pytest.raises(RuntimeError, match="disk gone"):
        _import(store, "orders", ORDERS * 20)
    assert not batch.multiprocessing.active_children() and _count(store, m.Order) == 0


def test_only_importing_roles_import(store: Engine) -> None:
    with pytest.raises(PermissionDenied):
        _import(store, "customers", CUSTOMERS, viewer=Viewer(5, "exec", "Exec", "executive"), dry_run=True)


def test_saved_mappings_and_the_command_line(store: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = store.url.render_as_string(hide_password=False)
    mapping = Mapping(kind="customers", columns={"tags": "客户类型"}, fixed={"region": "east"})
    write(store, lambda s: batch.save_mapping(s, SYSTEM, name="erp", mapping=mapping))
    with Session(store) as s:
        assert batch.mappings(s, SYSTEM, kind="customers")["erp"] == mapping
    file = tmp_path / "customers.csv"
    file.write_bytes(CUSTOMERS.encode("gb18030"))
    rejects = tmp_path / "rejects.csv"
    assert main(["--database-url", url, "import", "customers", str(file), "--dry-run"]) == 0
    assert "would import: new 3" in capsys.readouterr().out and _count(store, m.Customer) == 0
    assert main(["--database-url", url, "import", "customers", str(file), "--rejects", str(rejects)]) == 0
    assert "imported: new 3" in capsys.readouterr().out and _count(store, m.Customer) == 3
    text = rejects.read_bytes().decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "day and month cannot be told apart" in text  # neutralised, with its reason
    assert main(["--database-url", url, "import", "customers", str(file), "--mapping", "erp", "--dry-run"]) == 1
    assert "Map a column" in capsys.readouterr().err  # the saved mapping lacks required fields


def test_nps_answers_find_their_customers_and_import_once(store: Engine) -> None:
    _import(store, "customers", CUSTOMERS)
    answers = (
        "回复编号,客户编号,回复日期,评分,调查场景,评论\n"
        "R1,E1,2026-10-12,9,购买后,交付很快\n"
        "R2,E2,2026/10/20,4,售后,发票开错了\n"
        "R3,E3,2026-11-02,11,售后,\n"  # out of range
        "R4,E3,2026-11-03,7.5,售后,\n"  # not a whole number
        "R5,E9,2026-11-04,8,售后,\n"  # no such customer
    )
    plan = _import(store, "nps", answers)
    assert plan.counts == {"new": 2, "update": 0, "unchanged": 0, "duplicate": 0, "rejected": 3}
    assert {i.line: i.key for i in plan.rejected} == {
        4: "import.reason.score",
        5: "import.reason.score",
        6: "import.reason.no_customer",
    }
    assert _import(store, "nps", answers).counts["unchanged"] == 2 and _count(store, m.NpsResponse) == 2
    with session_scope(store) as s:
        rows = s.execute(
            select(m.NpsResponse.score, m.NpsResponse.touchpoint, m.NpsResponse.comment).order_by(m.NpsResponse.score)
        ).all()
        assert [tuple(r) for r in rows] == [(4, "post_service", "发票开错了"), (9, "post_purchase", "交付很快")]
        october = period_containing(date(2026, 10, 1), "M")
        figures = facts.summary_measures(s, october, Filters())
        assert (figures["nps_responses"], figures["nps_promoters"], figures["nps_detractors"]) == (2, 1, 1)
        facts.rebuild_period_facts(s, as_of=TODAY)
        assert facts.summary_measures(s, october, Filters()) == pytest.approx(figures)


def test_interactions_import_with_their_customers(store: Engine) -> None:
    _import(store, "customers", CUSTOMERS)
    log = (
        "记录编号,客户编号,日期,方式,方向,主题,内容,结果,时长\n"
        "A1,E1,2026-11-02,电话,呼出,季度回访,客户希望降价,follow_up,25\n"
        "A2,E3,2026-11-03,拜访,呼出,上门演示,,positive,90\n"
        "A3,E3,2026-11-04,电话,呼入,咨询,,neutral,2000\n"  # longer than a day
    )
    plan = _import(store, "interactions", log)
    assert plan.counts == {"new": 2, "update": 0, "unchanged": 0, "duplicate": 0, "rejected": 1}
    assert _import(store, "interactions", log).counts["unchanged"] == 2
    with Session(store) as s:
        rows = s.execute(
            select(m.Interaction.channel, m.Interaction.direction, m.Interaction.duration_minutes).order_by(
                m.Interaction.occurred_at
            )
        ).all()
        assert [tuple(r) for r in rows] == [("phone", "outbound", 25), ("visit", "outbound", 90)]
        last = s.scalar(select(func.max(m.CustomerStat.last_contact_at)))
        assert last == datetime(2026, 11, 3)  # the list's "last contact" follows


def test_leads_import_and_feed_the_conversion_rate(store: Engine) -> None:
    _import(store, "customers", CUSTOMERS)
    leads = (
        "线索编号,公司名称,线索来源,创建日期,线索状态,类型,行业,区域,负责人,转化日期,客户编号\n"
        "L1,云帆科技,展会,2026-10-03,已转化,企业,信息技术服务,浙江,amy,2026-10-20,E1\n"
        "L2,海天贸易,官网,2026-10-05,新线索,企业,零售,上海,,,\n"
        "L3,星河教育,转介绍,2026-10-07,无效,企业,教育,北京,bob,,\n"
        "L4,早转化,官网,2026-10-09,已转化,企业,零售,上海,amy,2026-10-01,\n"  # converted before it was created
    )
    plan = _import(store, "leads", leads)
    assert plan.counts == {"new": 3, "update": 0, "unchanged": 0, "duplicate": 0, "rejected": 1}
    assert plan.rejected[0].key == "import.reason.lead_dates"
    assert _import(store, "leads", leads).counts["unchanged"] == 3
    with session_scope(store) as s:
        converted = s.execute(
            select(m.Lead.converted_customer_id, m.Lead.converted_at).where(m.Lead.status == "converted")
        ).one()
        assert converted.converted_at == datetime(2026, 10, 20) and converted.converted_customer_id is not None
        october = period_containing(date(2026, 10, 1), "M")
        figures = facts.summary_measures(s, october, Filters())
        assert (figures["leads_created"], figures["leads_converted"], figures["leads_disqualified"]) == (3, 1, 1)


TICKETS = (
    "工单号,客户编号,工单类型,问题分类,优先级,受理渠道,创建时间,首次响应时间,解决时间,关闭时间,处理人,问题描述,满意度\n"
    "T-1,E1,投诉,物流,高,电话,2026-10-12 09:00,2026-10-12 11:00,2026-10-13 10:00,2026-10-14 09:00,Sam,货物破损,4\n"
    "T-2,E3,咨询,账单,中,邮件,2026/11/20 14:30,,,,,发票抬头,\n"
    "T-3,E1,投诉,质量,紧急,电话,2026-11-02 10:00,2026-11-01 10:00,,,,,\n"  # answered before it was opened
    "T-4,E9,投诉,质量,紧急,电话,2026-11-02 10:00,,,,,,\n"  # no such customer
    "T-5,E1,投诉,质量,紧急,电话,2026-11-02 10:00,,,,nobody,,\n"  # no such agent
    "T-6,E3,投诉,质量,低,电话,2026-11-03 10:00,2026-11-03 10:30,2026-11-04 10:00,,,,7\n"  # CSAT is 1-5
)


def _sla_rows(engine: Engine) -> list[tuple[object, ...]]:
    with Session(engine) as s:
        table = m.table(m.TicketSla)
        return [tuple(r) for r in s.execute(select(table).order_by(table.c.ticket_id, table.c.metric)).all()]


def test_tickets_import_with_their_history_and_sla_clocks_and_csat_answers_after(store: Engine) -> None:
    """A ticket system's export: each dated step becomes an event, the clocks are computed as a full rebuild
    computes them, importing again changes nothing, a later export adds only the steps taken since; then the
    satisfaction survey's answers land on their tickets."""
    from core import service

    with session_scope(store) as s:
        f.user(s, "sam", role="support_agent")
    _import(store, "customers", CUSTOMERS)
    plan = _import(store, "tickets", TICKETS)
    assert plan.counts == {"new": 2, "update": 0, "unchanged": 0, "duplicate": 0, "rejected": 4}
    assert {i.line: (i.field_name, i.key) for i in plan.rejected} == {
        4: ("first_response_at", "import.reason.ticket_times"),
        5: (None, "import.reason.no_customer"),
        6: ("assignee", "import.reason.assignee"),
        7: ("csat", "import.reason.csat"),
    }
    with Session(store) as s:
        tickets = {t.description: t for t in s.scalars(select(m.Ticket))}
        closed, waiting = tickets["货物破损"], tickets["发票抬头"]
        assert (closed.status, closed.kind, closed.category, closed.priority) == (
            "closed",
            "complaint",
            "delivery",
            "high",
        )
        assert closed.csat == 4 and closed.feedback_at == closed.closed_at == datetime(2026, 10, 14, 9, 0)
        assert closed.assignee_id is not None and waiting.status == "new" and waiting.created_at.minute == 30
        history = s.scalars(select(m.TicketEvent.action).where(m.TicketEvent.ticket_id == closed.id)).all()
        assert sorted(history) == ["accept", "close", "created", "resolve"]
        events = s.scalar(select(func.count()).select_from(m.TicketEvent))
    imported = _sla_rows(store)
    assert imported and {row[0] for row in imported} == {closed.id, waiting.id}
    write(store, lambda s: service.rebuild_ticket_sla(s, now=NOW))
    assert _sla_rows(store) == imported  # the import's clocks are the ones a full rebuild computes
    assert _import(store, "tickets", TICKETS).counts["unchanged"] == 2 and _count(store, m.TicketEvent) == events

    later = TICKETS.replace(
        "T-2,E3,咨询,账单,中,邮件,2026/11/20 14:30,,,",
        "T-2,E3,咨询,账单,中,邮件,2026/11/20 14:30,2026-11-20 15:00,2026-11-21 09:00,",
    )
    assert _import(store, "tickets", later).counts["update"] == 1
    assert _count(store, m.TicketEvent) == events + 2  # accepted and resolved since: nothing repeated

    answers = (
        "工单号,满意度,评价时间,评价\n"
        "T-2,5,2026-11-25 10:00,很满意\n"
        "T-2,4,2026-11-25 11:00,第二次\n"  # a ticket answers once
        "T-9,3,,\n"  # no such ticket
        "T-1,4,,\n"  # what the tickets file said already
        "T-1,6,,\n"  # not a CSAT score
    )
    plan = _import(store, "csat", answers)
    assert plan.counts == {"new": 1, "update": 0, "unchanged": 1, "duplicate": 1, "rejected": 2}
    assert {i.line: i.key for i in plan.rejected} == {4: "import.reason.no_ticket", 6: "import.reason.csat"}
    with session_scope(store) as s:
        rated = s.scalar(select(m.Ticket).where(m.Ticket.description == "发票抬头"))
        assert (rated.csat, rated.feedback_comment, rated.feedback_at) == (5, "很满意", datetime(2026, 11, 25, 10, 0))
        november = period_containing(date(2026, 11, 1), "M")
        imported_facts = facts.summary_measures(s, november, Filters())
        assert imported_facts["csat_ratings"] == 1 and imported_facts["csat_satisfied"] == 1
        facts.rebuild_period_facts(s, as_of=TODAY)
        assert facts.summary_measures(s, november, Filters()) == pytest.approx(imported_facts)
    assert _import(store, "csat", answers).counts["unchanged"] == 2


def test_the_sample_files_import_in_both_languages(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's walk-through: customers, then their orders, from each sample source (named by the file)."""
    assert main(["--database-url", sqlite_url, "seed", "--customers", "200", "--demo-password", "demo-pass-2026"]) == 0
    for name in (
        "erp-customers-zh.csv",
        "erp-orders-zh.csv",
        "erp-nps-zh.csv",
        "erp-tickets-zh.csv",
        "erp-csat-zh.csv",
        "shop-customers-en.csv",
        "shop-orders-en.csv",
        "shop-tickets-en.csv",
        "shop-csat-en.csv",
    ):
        kind = name.split("-")[1]
        assert main(["--database-url", sqlite_url, "import", kind, str(SAMPLES / name)]) == 0
        out = capsys.readouterr().out
        assert "imported: new" in out and " new 0," not in out, (name, out)
    assert batch.default_source("erp-orders-zh.csv") == "erp" and batch.default_source("x/Shop_2026.xlsx") == "shop"


def test_the_watched_folder_imports_each_source_and_files_away_each_file(
    store: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feeds = tmp_path / "feeds"
    (feeds / "erp").mkdir(parents=True)
    (feeds / "erp" / "erp-订单-1130.csv").write_text(ORDERS, encoding="utf-8")  # orders first by name...
    (feeds / "erp" / "erp-客户-1130.csv").write_text(CUSTOMERS, encoding="gb18030")  # ...customers go first
    (feeds / "erp" / "notes.csv").write_text("whatever,else\n1,2\n")  # neither kind in its name
    (feeds / "shop").mkdir()
    (feeds / "shop" / "shop-customers.csv").write_text("nothing,useful\n1,2\n")  # no required column
    url = store.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "import-folder", str(feeds)]) == 1  # one failed: cron hears of it
    out = capsys.readouterr().out
    assert "4 files: 2 done, 2 failed" in out
    assert out.index("erp-客户") < out.index("erp-订单")
    assert _count(store, m.Customer) == 3 and _count(store, m.Order) == 3
    done, failed = sorted(p.name for p in (feeds / "erp" / "done").iterdir()), (feeds / "erp" / "failed")
    assert len([n for n in done if n.endswith(".report.txt")]) == 2 and any(n.endswith(".rejected.csv") for n in done)
    assert [p.name for p in (feeds / "erp").iterdir() if p.is_file()] == []  # nothing left waiting
    assert "names no kind of import" in next(failed.glob("*.report.txt")).read_text(encoding="utf-8")
    assert "Map a column" in next((feeds / "shop" / "failed").glob("*.report.txt")).read_text(encoding="utf-8")
    assert main(["--database-url", url, "import-folder", str(feeds)]) == 0  # nothing new: nothing done
    assert "0 files" in capsys.readouterr().out and _count(store, m.Customer) == 3
