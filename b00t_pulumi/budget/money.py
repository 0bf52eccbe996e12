"""Money: a Decimal amount with an ISO 4217 currency. Never a float, never two currencies mixed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_UP, Decimal, InvalidOperation
from typing import Any

from b00t_pulumi.budget._errors import budget_error

CENT = Decimal("0.01")


def to_decimal(value: Any, what: str = "amount") -> Decimal:
    """A finite Decimal from an int, a Decimal or a numeric string (floats go through ``str``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise budget_error(f"{what}: expected an amount such as 2.50, got {type(value).__name__}")
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise budget_error(f"{what}: expected an amount such as 2.50, got {value!r}") from None
    if not d.is_finite():
        raise budget_error(f"{what}: expected a finite amount, got {value!r}")
    return d


def check_currency(code: str) -> str:
    if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
        raise budget_error(f"expected a 3-letter ISO 4217 currency code such as USD, got {code!r}")
    return code


@dataclass(frozen=True, order=False)
class Money:
    """An exact amount in one currency. Arithmetic and comparison refuse mixed currencies."""

    amount: Decimal
    currency: str = "USD"

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        check_currency(self.currency)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def of(cls, amount: Any, currency: str = "USD") -> Money:
        return cls(to_decimal(amount), currency)

    @classmethod
    def zero(cls, currency: str = "USD") -> Money:
        return cls(Decimal(0), currency)

    # -- arithmetic --------------------------------------------------------------------------
    def _same(self, other: object, op: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot {op} Money and {type(other).__name__}")
        if other.currency != self.currency:
            raise budget_error(
                f"cannot {op} {self} and {other}: different currencies (b00t-pulumi does not convert currencies)"
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other, "add").amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other, "subtract").amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int | Decimal):
            raise TypeError(f"Money can be multiplied by an int or a Decimal, not {type(factor).__name__}")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other, "compare").amount

    def __eq__(self, other: object) -> bool:
        # Equal when the same currency and the same value (2.5 USD == 2.50 USD).
        return isinstance(other, Money) and other.currency == self.currency and other.amount == self.amount

    def __hash__(self) -> int:
        return hash((self.amount.normalize(), self.currency))

    # -- display -----------------------------------------------------------------------------
    def quantized(self) -> Money:
        """Rounded to cents (banker's rounding), for display only: the ledger keeps exact amounts."""
        return Money(self.amount.quantize(CENT, rounding=ROUND_HALF_EVEN), self.currency)

    def cents_up(self) -> Money:
        """Rounded up to whole cents (away from zero): an estimate that never counts less than it costs."""
        return Money(self.amount.quantize(CENT, rounding=ROUND_UP), self.currency)

    @property
    def display(self) -> str:
        """``"2.50"``: the amount rounded to cents, without the currency."""
        return str(self.amount.quantize(CENT, rounding=ROUND_HALF_EVEN))

    def short(self) -> str:
        """``$100`` / ``$2.50`` for USD, ``100 EUR`` / ``2.50 EUR`` otherwise (whole amounts without cents)."""
        q = self.amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
        text = str(q.quantize(Decimal(1))) if q == q.to_integral_value() else str(q)
        return f"${text}" if self.currency == "USD" else f"{text} {self.currency}"

    def exact(self) -> str:
        """``0.031611 USD``: the exact amount (at least cents) and the currency, for prices."""
        return f"{self.to_json()} {self.currency}"

    def __str__(self) -> str:
        return f"{self.display} {self.currency}"

    def __repr__(self) -> str:
        return f"Money({str(self.amount)!r}, {self.currency!r})"

    def to_json(self) -> str:
        """The exact amount as a string (JSON numbers would lose Decimal precision): at least two
        decimals ("100.00", "2.50"), more only when the amount has them ("0.125")."""
        q = self.amount.quantize(CENT)
        return str(q) if q == self.amount else str(self.amount)
