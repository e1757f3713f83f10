"""How figures read on screen: units, compact money (¥1.2M / ¥120万), deltas in % or percentage points."""

from __future__ import annotations

from core.i18n import t


def money(value: float, lang: str) -> str:
    """Compact money: ¥89.5M in English, ¥8,954.6万 in Chinese; small amounts in full."""
    sign, amount = ("-" if value < 0 else ""), abs(value)
    steps: tuple[tuple[float, float, str], ...]
    if lang == "zh":
        steps = ((1e8, 1e8, "亿"), (1e4, 1e4, "万"))
    else:
        steps = ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "K"))  # from 10,000 up: ¥10.0K
    for threshold, divisor, suffix in steps:
        if amount >= threshold:
            scaled = amount / divisor
            return f"{sign}¥{scaled:,.0f}{suffix}" if scaled >= 1000 else f"{sign}¥{scaled:,.1f}{suffix}"
    return f"{sign}¥{amount:,.0f}"


def value(number: float | None, unit: str, lang: str) -> str:
    """A KPI value in its unit; None (nothing to divide by) shows as a dash."""
    if number is None:
        return t("common.none", lang)
    if unit == "money":
        return money(number, lang)
    if unit == "percent":
        return f"{100 * number:.1f}%"
    if unit == "score":
        return f"{number:+.1f}" if number else "0.0"
    if unit == "per_mille":
        return f"{number:.1f}‰"
    if unit == "minutes":  # working minutes, as the Service page shows times
        total = round(number)
        return (
            t("unit.hours_minutes", lang, h=total // 60, m=f"{total % 60:02d}")
            if total >= 60
            else t("unit.minutes", lang, m=total)
        )
    return f"{number:,.0f}"


def delta(current: float | None, previous: float | None, unit: str, lang: str) -> str | None:
    """Change against the previous period: percentage points for rates, points for NPS, % otherwise."""
    if current is None or previous is None:
        return None
    if unit == "percent":
        return f"{100 * (current - previous):+.1f} {t('unit.pp', lang)}"
    if unit == "score":
        return f"{current - previous:+.1f}"
    if not previous:
        return None
    return f"{100 * (current - previous) / abs(previous):+.1f}%"


_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~<>:$&\"'=^%;,/?@")


def plain(text: object) -> str:
    """User text made safe for a Markdown-rendering element (captions, headers, badges): every ASCII
    punctuation mark is backslash-escaped (CommonMark allows it for all of them), so `177****4736` stays
    itself and a name like `![x](http://...)` shows as typed instead of loading an image."""
    return "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in str(text))
