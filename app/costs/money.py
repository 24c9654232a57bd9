"""Money as the ledger keeps it: a Decimal amount (never a float: totals must add up to the cent) and an ISO 4217
currency code checked against the ISO 4217 list that the `pycountry` package ships. Amounts in different
currencies are never added together or converted: no exchange rate is known to the tool."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cache

from app.base.errors import UsageError

MAX_DECIMALS = 4  # the most minor-unit digits any ISO 4217 currency uses
MAX_DIGITS = 15  # whole-number digits: far above any response budget, well below anything that loses precision
_PLAIN = re.compile(r"^\d+(\.\d+)?$")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
# Codes in the ISO 4217 list that name no money: "testing" and "no currency involved".
NOT_MONEY = {"XTS": "reserved for testing", "XXX": "the code for transactions where no currency is involved"}


@cache
def _currencies() -> dict[str, str]:
    import pycountry

    return {c.alpha_3: c.name for c in pycountry.currencies}


def check_currency(raw: str) -> str:
    """The ISO 4217 alphabetic code (upper case) or UsageError naming the value."""
    code = (raw or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise UsageError(f"currency {raw!r}: an ISO 4217 code is three letters, e.g. EUR, USD, GBP")
    if code in NOT_MONEY:
        raise UsageError(f"currency {code}: {NOT_MONEY[code]}, not a currency to book costs in")
    if code not in _currencies():
        raise UsageError(f"currency {code!r} is not an ISO 4217 currency code")
    return code


def currency_name(code: str) -> str:
    return _currencies().get(code, code)


def parse_amount(raw: str, what: str = "amount") -> Decimal:
    """A positive amount as Decimal: digits with an optional decimal point (thousands may be grouped with
    commas, 12,500.00); at most 4 decimal places. Anything else raises UsageError naming the value."""
    text = (raw or "").strip()
    if _GROUPED.match(text):
        text = text.replace(",", "")
    if not _PLAIN.match(text):
        raise UsageError(f"{what} {raw!r}: use digits with an optional decimal point, e.g. 12500 or 12500.00")
    whole, _, frac = text.partition(".")
    if len(frac) > MAX_DECIMALS:
        raise UsageError(f"{what} {raw!r}: at most {MAX_DECIMALS} decimal places")
    if len(whole.lstrip("0")) > MAX_DIGITS:
        raise UsageError(f"{what} {raw!r}: more than {MAX_DIGITS} digits before the decimal point")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise UsageError(f"{what} {raw!r} is not a number") from None
    if value <= 0:
        raise UsageError(f"{what} {raw!r}: must be more than zero")
    return value


def decimal_of(text: str) -> Decimal:
    """A stored amount (the journal keeps amounts as strings) back as Decimal."""
    return Decimal(text)


def format_amount(value: Decimal, currency: str) -> str:
    """`12,500.00 EUR`: grouped, at least two decimals, never rounded away."""
    exp = value.as_tuple().exponent
    places = max(2, -exp if isinstance(exp, int) else 2)
    return f"{value:,.{places}f} {currency}"
