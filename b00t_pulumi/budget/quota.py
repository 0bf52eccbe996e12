"""What a money limit buys in Kueue's terms (Kueue has no money quota, FACTS section 2).

The money a limit leaves for jobs is the limit minus what the budget's Deployments cost per
period (they run the whole day). That becomes ``floor(left / cost_per_job)`` jobs per window
(seed 001: "$100/day at $2.50/job -> 40 jobs/day") and ``floor(left / (price per GPU-hour x
window hours))`` GPUs of nominal quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from b00t_pulumi.budget.money import Money, to_decimal
from b00t_pulumi.budget.prices import PriceList
from b00t_pulumi.datum.orchestration import BudgetConstraint

HOURS_PER_DAY = 24


def constraint_currency(constraint: BudgetConstraint, budget_currency: str | None = None) -> str:
    """The budget's currency: ``constraint.currency``, else the datum's ``budget_currency``, else USD.

    ``Orchestration.currency`` gives the same answer when you hold the whole orchestration table.
    """
    return constraint.currency or budget_currency or "USD"


def limit_of(constraint: BudgetConstraint, currency: str | None = None) -> Money:
    """The constraint's limit per window as Money."""
    return Money(constraint.daily_limit, currency or constraint_currency(constraint))


def jobs_per_window(limit: Money, cost_per_job: Money) -> int:
    """``floor(limit / cost_per_job)``: $100/day at $2.50/job -> 40 jobs/day. 0 when a job costs nothing
    or nothing is left."""
    _ = limit - cost_per_job  # same currency, or BudgetError
    if cost_per_job.amount <= 0 or limit.amount <= 0:
        return 0
    return int((limit.amount / cost_per_job.amount).to_integral_value(rounding=ROUND_FLOOR))


def gpu_quota(limit: Money, price_per_gpu_hour: Money, hours: float | Decimal = HOURS_PER_DAY) -> int:
    """Kueue ``nominalQuota`` of ``nvidia.com/gpu`` a limit pays for: floor(limit / (price x hours)).

    A GPU counted here may run all ``hours`` of the window without the limit being exceeded.
    """
    h = to_decimal(hours, "hours")
    _ = limit - price_per_gpu_hour
    if price_per_gpu_hour.amount <= 0 or h <= 0 or limit.amount <= 0:
        return 0
    return int((limit.amount / (price_per_gpu_hour.amount * h)).to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class QuotaTranslation:
    """A money limit in the units Kueue understands; ``jobs_text``/``gpus_text`` are what ``budget check`` prints."""

    limit: Money
    committed: Money  # the Deployments' cost per period, taken off the limit first
    period: str  # "day" for a 23-25 hour window, else "window"
    cost_per_job: Money | None
    jobs: int | None
    gpu_type: str | None
    price_per_gpu_hour: Money | None
    window_hours: float
    gpus: int | None

    @property
    def available(self) -> Money:
        """What the limit leaves for jobs once the Deployments are paid for (never below zero)."""
        left = self.limit - self.committed
        return left if left.amount > 0 else Money.zero(self.limit.currency)

    def _money_text(self) -> str:
        per = f"/{self.period}"
        if not self.committed.amount:
            return f"{self.limit.short()}{per}"
        return (f"{self.limit.short()}{per} - {self.committed.short()}{per} of Deployments = "
                f"{self.available.short()}{per}")

    @property
    def jobs_text(self) -> str | None:
        if self.cost_per_job is None or self.jobs is None:
            return None
        return f"{self._money_text()} at {self.cost_per_job.short()}/job -> {self.jobs} jobs/{self.period}"

    @property
    def gpus_text(self) -> str | None:
        if self.price_per_gpu_hour is None or self.gpus is None:
            return None
        hours = f"{self.window_hours:g}"
        return (
            f"floor({self.available.display} / ({self.price_per_gpu_hour.display} per GPU-hour x {hours} h)) = "
            f"{self.gpus} {self.gpu_type or 'default'} GPU{'s' if self.gpus != 1 else ''} of Kueue nominalQuota"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "limit": self.limit.to_json(),
            "currency": self.limit.currency,
            "period": self.period,
            "deployments_per_period": self.committed.to_json(),
            "left_for_jobs": self.available.to_json(),
            "cost_per_job": self.cost_per_job.to_json() if self.cost_per_job else None,
            "jobs_per_period": self.jobs,
            "jobs_text": self.jobs_text,
            "gpu_type": self.gpu_type,
            "price_per_gpu_hour": self.price_per_gpu_hour.to_json() if self.price_per_gpu_hour else None,
            "window_hours": self.window_hours,
            "kueue_gpu_quota": self.gpus,
            "gpus_text": self.gpus_text,
        }


def translate(
    constraint: BudgetConstraint,
    *,
    prices: PriceList | None,
    gpu_type: str | None,
    window_hours: float = HOURS_PER_DAY,
    currency: str | None = None,
    committed: Money | None = None,
) -> QuotaTranslation:
    """The seed's "$100/day at $2.50/job -> 40 jobs/day" and the GPU count a limit pays for, from
    what is left after ``committed`` (the Deployments' cost per period).

    The GPU part is left out (None) when ``prices`` is None (no price list in the budget's currency).
    """
    limit = limit_of(constraint, currency)
    daily = 23 <= window_hours <= 25  # a DST day is still a day: the quota must not change with it
    hours = float(HOURS_PER_DAY) if daily else window_hours
    cpj = Money(constraint.cost_per_job, limit.currency) if constraint.cost_per_job is not None else None
    price: Money | None = None
    if prices is not None:
        prices.check()
        _ = limit - Money.zero(prices.currency)
        price = prices.gpu(gpu_type)[0] if gpu_type else prices.default_gpu_hour
    spent = committed if committed is not None else Money.zero(limit.currency)
    left = limit - spent
    return QuotaTranslation(
        limit=limit,
        committed=spent,
        period="day" if daily else "window",
        cost_per_job=cpj,
        jobs=jobs_per_window(left, cpj) if cpj is not None else None,
        gpu_type=gpu_type,
        price_per_gpu_hour=price,
        window_hours=hours,
        gpus=gpu_quota(left, price, Decimal(str(hours))) if price is not None else None,
    )
