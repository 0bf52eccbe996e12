"""``b00t:prices`` in a budget's currency: the price list every cost is computed from.

A budget in the price list's currency uses it as it is. A budget in another currency needs an
explicit rate (``b00t:prices.rates.<CUR>``: units of CUR per 1 of ``b00t:prices.currency``); every
price is converted at it and a note says so. Without a rate it is a ``PricingError`` that names both
keys: b00t-pulumi never converts money silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from b00t_pulumi.budget.money import Money
from b00t_pulumi.errors import BudgetError, Problem
from b00t_pulumi.settings.model import DEFAULT_CPU_HOUR, DEFAULT_MEMORY_GIB_HOUR, Prices


class PricingError(BudgetError):
    """Something in a budget cannot be priced. ``keys`` are the settings or datum keys that would fix it."""

    def __init__(self, message: str, keys: Sequence[str] = (), item: str | None = None) -> None:
        self.message = message
        self.keys = tuple(keys)
        self.item = item
        super().__init__([Problem("budget", "", f"{item}: {message}" if item else message)])

    def about(self, item: str) -> PricingError:
        """The same error, naming the item it is about."""
        return PricingError(self.message, self.keys, item)


@dataclass(frozen=True)
class PriceList:
    """Prices in one currency. ``notes`` say where a price did not come from the user's list as is
    (a default price, a conversion). ``error``: why there are no prices in this currency (no rate);
    it is raised by whatever needs a price (``check()``), so a flat ``cost_per_job`` needs none."""

    currency: str
    gpu_hour: Mapping[str, Money]
    default_gpu_hour: Money
    cpu_hour: Money
    memory_gib_hour: Money
    notes: tuple[str, ...] = field(default=())
    cpu_is_default: bool = False
    memory_is_default: bool = False
    error: PricingError | None = None

    def check(self) -> PriceList:
        """Itself, or the PricingError of a price list that cannot be had in this currency."""
        if self.error is not None:
            raise self.error
        return self

    def gpu(self, gpu_type: str) -> tuple[Money, str | None]:
        """Price of one GPU-hour of ``gpu_type``, and a note when it is the default price."""
        if gpu_type in self.gpu_hour:
            return self.gpu_hour[gpu_type], None
        return self.default_gpu_hour, (
            f"{gpu_type} is not in b00t:prices.gpuHour: priced at defaultGpuHour {self.default_gpu_hour.exact()} "
            "per GPU-hour"
        )

    def dearest_gpu(self, candidates: Sequence[str]) -> tuple[str | None, Money]:
        """The dearest of ``candidates`` (the GPU types a pod that names none may land on). With no
        candidates, the dearest of the listed types and the default price (type None)."""
        options: list[tuple[str | None, Money]] = [(t, self.gpu(t)[0]) for t in sorted(set(candidates))]
        if not options:
            options = [*self.gpu_hour.items(), (None, self.default_gpu_hour)]
        return max(options, key=lambda o: o[1].amount)


def _convert(amount: Decimal, rate: Decimal, currency: str) -> Money:
    return Money(amount * rate, currency)


def price_list(prices: Prices, currency: str) -> PriceList:
    """``prices`` in ``currency``: as they are, or converted at ``prices.rates[currency]``; without a
    rate, a list whose ``error`` says so (raised when a price is needed)."""
    notes: list[str] = []
    error: PricingError | None = None
    if prices.currency == currency:
        rate = Decimal(1)
    elif currency in prices.rates:
        rate = prices.rates[currency]
        notes.append(
            f"b00t:prices are in {prices.currency}: converted to {currency} at {rate} {currency} per "
            f"1 {prices.currency} (b00t:prices.rates.{currency})"
        )
    else:
        rate = Decimal(0)
        error = PricingError(
            f"the budget is in {currency} but b00t:prices are in {prices.currency} (b00t:prices.currency): "
            f"set b00t:prices.currency to {currency} and give the prices in {currency}, or add "
            f"b00t:prices.rates.{currency} ({currency} per 1 {prices.currency}); "
            "b00t-pulumi never converts money without a rate",
            ("b00t:prices.currency", f"b00t:prices.rates.{currency}"),
        )
    cpu = prices.cpu_hour if prices.cpu_hour is not None else DEFAULT_CPU_HOUR
    mem = prices.memory_gib_hour if prices.memory_gib_hour is not None else DEFAULT_MEMORY_GIB_HOUR
    return PriceList(
        currency=currency,
        gpu_hour={t: _convert(p, rate, currency) for t, p in sorted(prices.gpu_hour.items())},
        default_gpu_hour=_convert(prices.default_gpu_hour, rate, currency),
        cpu_hour=_convert(cpu, rate, currency),
        memory_gib_hour=_convert(mem, rate, currency),
        notes=tuple(notes),
        cpu_is_default=prices.cpu_hour is None,
        memory_is_default=prices.memory_gib_hour is None,
        error=error,
    )
