"""How values are shown to readers, from what the Table Schema declares: codes with their `categories` labels,
lists as lists, money with its currency in compact form. Used by the site, the data dictionary and the
downloads' README, so every place shows the same words."""

from __future__ import annotations

import json
from typing import Any

from babel.numbers import format_compact_decimal, format_decimal, is_currency

DEFAULT_LOCALE = "en_GB"


def label(labels: dict[str, str], value: Any) -> str:
    """A code's label, or the value itself when the schema declares none."""
    text = "" if value is None else str(value)
    return labels.get(text, text)


def readable_name(name: str) -> str:
    """A title made from a column's name when nobody wrote one: words for the underscores, the first capitalised,
    `id` as ID ("amount_max" → "Amount max", "project_id" → "Project ID")."""
    words = [("ID" if word.lower() == "id" else word) for word in name.replace("_", " ").split()]
    if not words:
        return name
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


def items(value: Any) -> list[Any] | None:
    """An array value (a list, or JSON text of one as SQLite stores it) as a list; None when it is not one."""
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def money(amount: Any, currency: Any, locale: str = DEFAULT_LOCALE) -> str | None:
    """"USD 1.568bn", "KZT 336bn": the ISO 4217 code and the amount in the locale's compact notation (Babel's
    CLDR patterns, up to three decimals, so 1,568,000,000 is not rounded to 1.6). None without a currency, or
    when what names it is not an ISO 4217 code (a unit such as "ha" in a column holding currency or unit)."""
    if not currency or isinstance(amount, bool) or not isinstance(amount, (int, float)):
        return None
    if not isinstance(currency, str) or not is_currency(currency):
        return None
    return f"{currency} {format_compact_decimal(amount, format_type='short', locale=locale, fraction_digits=3)}"


def number(value: Any, locale: str = DEFAULT_LOCALE) -> str:
    """A number with the locale's grouping (1,568,000,000); integral floats without a decimal part."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return format_decimal(value, locale=locale, decimal_quantization=False)


def amount(value: Any, unit: Any, labels: dict[str, str] | None = None, locale: str = DEFAULT_LOCALE) -> str:
    """An amount with what it counts: money compact with its currency ("USD 1.568bn"); any other number grouped,
    followed by its unit's label when there is one ("20 hectares")."""
    compact = money(value, unit, locale)
    if compact:
        return compact
    shown = number(value, locale)
    return f"{shown} {label(labels or {}, unit)}" if unit not in (None, "") else shown
