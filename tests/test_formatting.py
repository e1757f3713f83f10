from __future__ import annotations

from core.formatting import delta, money, value


def test_money_is_compact_in_each_language() -> None:
    assert money(30_366_205, "en") == "¥30.4M" and money(30_366_205, "zh") == "¥3,037万"
    assert money(231_657, "en") == "¥231.7K" and money(231_657, "zh") == "¥23.2万"
    assert money(9_999, "en") == "¥9,999" and money(3.2e9, "zh") == "¥32.0亿"


def test_values_and_deltas() -> None:
    assert value(0.5213, "percent", "en") == "52.1%" and value(None, "count", "en") == "—"
    assert delta(0.52, 0.50, "percent", "en") == "+2.0 pp"
    assert delta(0.52, 0.50, "percent", "zh") == "+2.0 个百分点"
    assert delta(110, 100, "money", "en") == "+10.0%" and delta(5, 0, "count", "en") is None
    assert delta(16.0, 11.0, "score", "en") == "+5.0"
