"""Traffic cost: the account's price table (DESIGN.md, Channels and providers).

`{"sms": {"default": 0.05, "HR": 0.04}, "email": 0.001, ...}`: per channel either one
price, or prices by destination country (ISO 3166 alpha-2, from the recipient's phone
number) with a `default`. A price is per message part (SMS parts; one for every other
channel). A provider's reported price replaces the table's (services/deliveries.py).
Costs are counted in whole millionths (`trafficCostMicros`), summed exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import phonenumbers

from tidings.domain.errors import ProblemList

CHANNELS = ("sms", "email", "whatsapp", "viber", "voice")
MAX_PRICE = 1_000_000.0
_COUNTRY = re.compile(r"[A-Z]{2}")
Prices = Mapping[str, Any]


def _amount(value: Any, field: str, problems: ProblemList) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_PRICE:
        problems.add(field, f"a price is a number from 0 to {MAX_PRICE:g}")
        return None
    return float(value)


def check_prices(data: Any, problems: ProblemList, field: str = "prices") -> dict[str, Any]:
    """The table as stored, or problems naming each field at fault."""
    if not isinstance(data, Mapping):
        problems.add(field, 'give prices by channel, e.g. {"sms": {"default": 0.05}}')
        return {}
    out: dict[str, Any] = {}
    for channel, value in data.items():
        where = f"{field}.{channel}"
        if channel not in CHANNELS:
            problems.add(where, f"{channel!r} is not a channel; one of {', '.join(CHANNELS)}")
            continue
        if isinstance(value, Mapping):
            by_country: dict[str, float] = {}
            for country, amount in value.items():
                if country != "default" and not _COUNTRY.fullmatch(str(country)):
                    problems.add(f"{where}.{country}", "a country is two capital letters, e.g. HR")
                    continue
                checked = _amount(amount, f"{where}.{country}", problems)
                if checked is not None:
                    by_country[str(country)] = checked
            out[channel] = by_country
        else:
            checked = _amount(value, where, problems)
            if checked is not None:
                out[channel] = checked
    return out


def country_of(to: str) -> str | None:
    """The ISO country of a phone number (None for an address or an unknown number)."""
    if not to.startswith("+"):
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(to, None)) or None
    except phonenumbers.NumberParseException:
        return None


def price_micros(table: Prices, channel: str | None, to: str, parts: int) -> int:
    """What a message costs by the table, in millionths (0 when the table has no price)."""
    entry = table.get(channel or "")
    if entry is None:
        return 0
    if isinstance(entry, Mapping):
        country = country_of(to) if channel != "email" else None
        each = entry.get(country or "", entry.get("default"))
        if each is None:
            return 0
    else:
        each = entry
    return round(float(each) * max(parts, 1) * 1_000_000)
