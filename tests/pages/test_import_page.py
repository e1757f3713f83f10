"""The Import page through AppTest: a file uploaded, its columns proposed, a preview that writes nothing,
an unknown value mapped by the user, then the import."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import models as m
from core.db import make_engine
from tests.pages.helpers import signed_in

FILE = (
    "客户编号,客户名称,客户类型,所属行业,省份,获客渠道,签约日期,手机号码\n"
    "P1,杭州云帆科技有限公司,企业,信息技术服务,浙江,展会,2025/3/12,138 1234 5601\n"
    "P2,上海恒盛贸易有限公司,企业,零售,上海,外星渠道,2024年7月1日,139 1234 5602\n"
    "P3,坏日期公司,企业,零售,江苏,官网,05/06/2026,13812340005\n"
).encode("gb18030")


def _customers(url: str) -> int:
    with Session(make_engine(url)) as s:
        return int(s.scalar(select(func.count()).select_from(m.Customer)) or 0)


def test_an_analyst_previews_maps_an_unknown_value_and_imports(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str
) -> None:
    before = _customers(seeded_url)
    at = signed_in(monkeypatch, seeded_url, "analyst")
    at.switch_page("views/data_import.py").run()
    at.file_uploader(key="imp_file").set_value(("erp-customers.csv", FILE, "text/csv")).run()
    assert not at.exception, at.exception
    assert at.text_input[0].value == "erp"  # the source, from the file's name
    assert any("gb18030" in c.value for c in at.caption)
    at.button(key="imp_check").click().run()
    shown = {metric.label: metric.value for metric in at.metric}
    assert shown == {"New": "1", "Updates": "0", "Unchanged": "0", "Duplicates": "0", "Refused": "2"}
    assert _customers(seeded_url) == before  # a preview writes nothing
    unknown = next(box for box in at.selectbox if "外星渠道" in box.label)
    unknown.set_value("partner").run()  # the user says what the unknown channel means
    at.button(key="imp_check").click().run()
    assert {metric.label: metric.value for metric in at.metric}["New"] == "2"
    at.button(key="imp_run").click().run()
    assert not at.exception, at.exception
    assert any("Imported: 2 new" in s.value for s in at.success)
    assert _customers(seeded_url) == before + 2


def test_the_page_is_refused_to_roles_without_imports(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    at = signed_in(monkeypatch, seeded_url, "executive")
    at.switch_page("views/data_import.py").run()
    assert any("no access" in e.value.lower() for e in at.error) or any("no access" in i.value.lower() for i in at.info)
