"""Every user-visible string, in English and Simplified Chinese (catalogs in core/locales/*.json).

Data codes (regions, tiers, priorities...) are translated through the same catalogs as `<group>.<code>`.
A test keeps both catalogs complete and checks that every key the code asks for exists.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"
_LOCALES = Path(__file__).resolve().parent / "locales"


@cache
def catalog(lang: str) -> dict[str, str]:
    return json.loads((_LOCALES / f"{lang}.json").read_text(encoding="utf-8"))


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The text of `key` in `lang`, with {placeholders} filled; an unknown key shows as itself. A count of 0 or
    1 (`n` or `total`) takes the key's `.zero` / `.one` variant where the catalog has one ("1 customer",
    "today" rather than "1 customers", "0 days ago")."""
    count = str(values.get("n", values.get("total", ""))).strip()
    if count in ("0", "1"):
        variant = f"{key}.{'zero' if count == '0' else 'one'}"
        if variant in catalog(DEFAULT_LANGUAGE):
            key = variant
    text = catalog(lang if lang in LANGUAGES else DEFAULT_LANGUAGE).get(key)
    if text is None:
        text = catalog(DEFAULT_LANGUAGE).get(key, key)
    return text.format(**values) if values else text


def label(group: str, code: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """A data code shown in `lang` (e.g. label("tier", "high_value", "zh") == "高价值"); unknown codes as is."""
    if code is None:
        return t("common.none", lang)
    key = f"{group}.{code}"
    text = catalog(lang if lang in LANGUAGES else DEFAULT_LANGUAGE).get(key)
    return text if text is not None else str(code)


def error_text(err: BaseException, lang: str = DEFAULT_LANGUAGE) -> str:
    """A CrmError's message in `lang` (its catalog key), else its English text."""
    key = getattr(err, "key", None)
    return t(key, lang, **getattr(err, "values", {})) if key else str(err)
