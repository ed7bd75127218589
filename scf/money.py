"""Amounts and times at the edge of the system.

On chain, amounts are integers in minor units (cents / fen, 2 decimals) and times unix
seconds. People and files use ``Decimal`` currency units and timezone-aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from scf.errors import ScfError

DECIMALS = 2
DAY = 86_400  # seconds
# The settlement currency: the one the settlement token's minor units count.
CURRENCY = "CNY"
_QUANTUM = Decimal(1).scaleb(-DECIMALS)


class AmountError(ScfError, ValueError):
    """An amount that cannot be a settlement amount."""


def to_minor(amount: Decimal | int | str, *, decimals: int = DECIMALS, allow_zero: bool = False) -> int:
    """``Decimal('1234.56')`` -> ``123456``. Rejects negatives, more than ``decimals`` places,
    floats (binary fractions are not money), and non-numbers."""
    if isinstance(amount, float):
        raise AmountError(f"amount {amount!r} is a float: give it as a string or Decimal, e.g. '{amount}'")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise AmountError(f"amount {amount!r} is not a number") from None
    if not value.is_finite():
        raise AmountError(f"amount {amount!r} is not a finite number")
    if value < 0:
        raise AmountError(f"amount {amount} is negative")
    if value == 0 and not allow_zero:
        raise AmountError("amount is zero")
    minor = value.scaleb(decimals)
    if minor != minor.to_integral_value():
        raise AmountError(f"amount {amount} has more than {decimals} decimal places")
    return int(minor)


def from_minor(minor: int, *, decimals: int = DECIMALS) -> Decimal:
    """``123456`` -> ``Decimal('1234.56')``."""
    return (Decimal(int(minor)).scaleb(-decimals)).quantize(Decimal(1).scaleb(-decimals))


def fmt(minor: int, currency: str = CURRENCY) -> str:
    """``123456`` -> ``'CNY 1,234.56'``."""
    return f"{currency} {from_minor(minor):,.{DECIMALS}f}"


def to_timestamp(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError(f"datetime {when.isoformat()} has no time zone: give one (e.g. +08:00 or Z)")
    return int(when.timestamp())


def from_timestamp(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=UTC)


def fmt_day(ts: int) -> str:
    """``1900000000`` -> ``'2030-03-17'`` (UTC)."""
    return from_timestamp(ts).strftime("%Y-%m-%d")


def decimal_text(value: Fraction, places: int) -> str:
    """An exact fraction as a decimal with ``places`` digits after the point, rounded half to
    even: ``Fraction(1, 3), 4`` -> ``"0.3333"``. For rates and costs shown to people and
    served as JSON text (a float would not be exact)."""
    scaled = round(value * 10**places)
    sign, digits = ("-" if scaled < 0 else ""), f"{abs(scaled):0{places + 1}d}"
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


YEAR_DAYS = 365  # the annualisation basis of a cost shown to people (ACT/365)


def effective_annual_cost(value: int, price: int, seconds_to_maturity: int) -> Fraction | None:
    """What selling ``value`` due in ``seconds_to_maturity`` for ``price`` now costs the seller,
    simple and annualised on ACT/365: (value - price) / price * 365 days / time to maturity.
    None when nothing is received or nothing is left to run."""
    if price <= 0 or seconds_to_maturity <= 0:
        return None
    return Fraction(value - price, price) * YEAR_DAYS * DAY / seconds_to_maturity
