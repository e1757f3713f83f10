"""Both catalogs complete, every key the code asks for exists, placeholders agree."""

from __future__ import annotations

import re
import string
from pathlib import Path

from core.audit import ACTIONS
from core.i18n import catalog, label, t
from core.models import TICKET_PRIORITIES
from core.segmentation import CHURN_REASONS, LIFECYCLE_STAGES, TIERS

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*ROOT.glob("app.py"), *ROOT.glob("views/*.py"), *ROOT.glob("ui/*.py"), *ROOT.glob("core/*.py")]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    en, zh = catalog("en"), catalog("zh")
    assert en.keys() == zh.keys()
    for key in en:
        assert en[key].strip() and zh[key].strip(), key
        assert _fields(en[key]) == _fields(zh[key]), key


def test_every_key_used_in_code_exists() -> None:
    used = set()
    for path in SOURCES:
        used |= set(
            re.findall(r"""\b(?:tr|t)\(\s*["']([a-z_]+\.[A-Za-z0-9_.]+)["']""", path.read_text(encoding="utf-8"))
        )
    assert used, "the scan found no keys: the pattern is broken"
    missing = sorted(k for k in used if k not in catalog("en"))
    assert not missing


def test_every_data_code_and_kpi_is_translated() -> None:
    from core import models as m
    from core.demo import INDUSTRIES, PRODUCT_CATEGORIES, REGIONS, SALES_CHANNELS
    from core.kpi import KPI_SPECS

    groups = {
        "tier": TIERS,
        "stage": LIFECYCLE_STAGES,
        "reason": CHURN_REASONS,
        "priority": TICKET_PRIORITIES,
        "region": list(REGIONS),
        "industry": INDUSTRIES,
        "kind": ("B2B", "B2C"),
        "city": [city for _, cities in REGIONS.values() for city in cities],
        "audit": ACTIONS,
        "channel": m.INTERACTION_CHANNELS + m.TICKET_CHANNELS,
        "direction": m.INTERACTION_DIRECTIONS,
        "outcome": m.INTERACTION_OUTCOMES,
        "ticket_kind": m.TICKET_KINDS,
        "category": m.TICKET_CATEGORIES,
        "ticket_status": m.TICKET_STATUSES,
        "touchpoint": m.NPS_TOUCHPOINTS,
        "size": m.COMPANY_SIZES,
        "product": PRODUCT_CATEGORIES,
        "sales_channel": SALES_CHANNELS,
    }
    for group, codes in groups.items():
        for code in codes:
            assert f"{group}.{code}" in catalog("zh"), (group, code)
    for spec in KPI_SPECS:
        assert f"kpi.{spec.key}" in catalog("zh") and f"kpi.{spec.key}.help" in catalog("zh")
    assert label("tier", "high_value", "zh") == "高价值" and t("nav.cockpit", "zh") == "驾驶舱"


def test_every_key_like_literal_in_the_views_exists() -> None:
    """Keys handed to helpers (a filter's title, a metric's label) escape the tr(...) scan above: any
    literal shaped like a catalog key in the views and UI glue must be a key or the stem of keys."""
    en = catalog("en")
    prefixes = {key.split(".")[0] for key in en}
    missing = []
    for path in [*ROOT.glob("views/*.py"), *ROOT.glob("ui/*.py"), ROOT / "app.py"]:
        for literal in re.findall(r"""["']([a-z_]+\.[a-z0-9_.]+)["']""", path.read_text(encoding="utf-8")):
            if (
                literal.split(".")[0] in prefixes
                and literal not in en
                and not any(k.startswith(literal + ".") for k in en)
            ):
                missing.append((path.name, literal))
    assert not missing


def test_counts_of_zero_and_one_read_naturally() -> None:
    assert t("list.total", "en", total="1", page=1, pages=1) == "1 customer · page 1 of 1"
    assert t("list.total", "en", total="2", page=1, pages=1) == "2 customers · page 1 of 1"
    assert t("customer.days_ago", "en", n=0) == "today" and t("customer.days_ago", "zh", n=1) == "昨天"
    assert t("timeline.count", "en", n=1) == "1 event"


def test_every_refusal_a_page_can_show_names_its_message_in_the_catalogs() -> None:
    """Core's refusals reach Chinese pages through their keys (CrmError(key=...)); an English-only one would show
    inside a Chinese sentence. Only the operator's tools (CLI, demo, secrets, keys, settings, backups) speak English."""
    operator_only = {"cli.py", "demo.py", "secrets.py", "pii.py", "settings.py", "folder.py", "backup.py"}
    raises = re.compile(
        r"raise (ValidationError|PermissionDenied|NotFound|CrmError|Conflict|ConfigError|StoreError)\((.*?)\)"
        r"(?: from None)?\n",
        re.S,
    )
    missing, keys = [], set()
    for path in ROOT.glob("core/**/*.py"):
        if path.name in operator_only or "migrations" in path.parts:
            continue
        for match in raises.finditer(path.read_text(encoding="utf-8")):
            key = re.search(r"""key=(?:["'](?P<name>[\w.]+)["']|f["'](?P<prefix>[\w.]+)\{|keys\[0\])""", match.group(2))
            if key is None:  # (keys[0]: the customer list's first problem)
                missing.append(f"{path.name}: {match.group(0)[:80]}")
            elif key.group("name"):
                keys.add(key.group("name"))
            elif key.group("prefix"):
                assert any(k.startswith(key.group("prefix")) for k in catalog("en")), key.group("prefix")
    assert not missing, missing
    assert keys and keys <= set(catalog("en"))
