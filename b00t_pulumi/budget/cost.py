"""The cost model: what a job or a Deployment costs, and what a money limit buys in Kueue terms.

Pure functions with typed inputs; nothing here reads datums, the planner or a ledger.

- A job costs ``cost_per_job`` when the budget sets it, else price per GPU-hour x GPUs x hours.
- A Deployment costs (price per GPU-hour x GPUs) per hour, so x 24 x replicas per day.
- Kueue has no money quota (FACTS section 2): a limit becomes ``floor(limit / cost_per_job)`` jobs
  per window, and ``floor(limit / (price per GPU-hour x window hours))`` GPUs of nominal quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from b00t_pulumi.budget._errors import budget_error
from b00t_pulumi.budget.money import Money, to_decimal
from b00t_pulumi.datum.orchestration import BudgetConstraint
from b00t_pulumi.settings.model import Prices

HOURS_PER_DAY = 24
_SECONDS_PER_HOUR = Decimal(3600)


def constraint_currency(constraint: BudgetConstraint, budget_currency: str | None = None) -> str:
    """The budget's currency: ``constraint.currency``, else the datum's ``budget_currency``, else USD.

    ``Orchestration.currency`` gives the same answer when you hold the whole orchestration table.
    """
    return constraint.currency or budget_currency or "USD"


def limit_of(constraint: BudgetConstraint, currency: str | None = None) -> Money:
    """The constraint's limit per window as Money."""
    return Money(constraint.daily_limit, currency or constraint_currency(constraint))


def gpu_hour_price(prices: Prices, gpu_type: str | None, currency: str) -> Money:
    """Price of one GPU-hour of ``gpu_type`` (the default price when it is not listed).

    Refuses a price list in another currency than the budget: b00t-pulumi does not convert money.
    """
    if prices.currency != currency:
        raise budget_error(
            f"prices are in {prices.currency} but the budget is in {currency}: set b00t:prices.currency "
            f"to {currency} (b00t-pulumi does not convert currencies)"
        )
    return Money(prices.per_gpu_hour(gpu_type), currency)


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise budget_error(f"{what}: expected a whole number >= 0, got {value!r}")
    return value


def _hours(duration_s: Any) -> Decimal:
    d = to_decimal(duration_s, "duration")
    if d < 0:
        raise budget_error(f"duration: expected seconds >= 0, got {duration_s!r}")
    return d / _SECONDS_PER_HOUR


def job_cost(
    *,
    constraint: BudgetConstraint | None,
    prices: Prices,
    gpu_type: str | None,
    gpus: int,
    duration_s: float | int | Decimal | None,
    currency: str | None = None,
) -> Money:
    """Estimated cost of one job run.

    ``cost_per_job`` when the constraint sets it; otherwise price per GPU-hour x ``gpus`` x hours of
    ``duration_s``. ``currency`` defaults to the constraint's (see ``constraint_currency``), else the
    price list's. A job without ``cost_per_job`` and without a duration cannot be priced: BudgetError.
    """
    cur = currency or (constraint_currency(constraint) if constraint else prices.currency)
    if constraint is not None and constraint.cost_per_job is not None:
        return Money(constraint.cost_per_job, cur)
    n = _count(gpus, "gpus")
    if duration_s is None:
        raise budget_error(
            "cannot estimate the job's cost: set budget_constraint.cost_per_job or give the job a duration"
        )
    return gpu_hour_price(prices, gpu_type, cur) * (Decimal(n) * _hours(duration_s))


def hourly_cost(*, prices: Prices, gpu_type: str | None, gpus: int, currency: str) -> Money:
    """What ``gpus`` GPUs of ``gpu_type`` cost per hour."""
    return gpu_hour_price(prices, gpu_type, currency) * _count(gpus, "gpus")


def deployment_cost(
    *, prices: Prices, gpu_type: str | None, gpus: int, replicas: int, currency: str, hours: float | Decimal = 24
) -> Money:
    """A Deployment's cost over ``hours``: hourly cost (GPU price x GPUs per pod) x hours x replicas."""
    return hourly_cost(prices=prices, gpu_type=gpu_type, gpus=gpus, currency=currency) * (
        to_decimal(hours, "hours") * _count(replicas, "replicas")
    )


def deployment_daily_cost(
    *, prices: Prices, gpu_type: str | None, gpus: int, replicas: int, currency: str
) -> Money:
    """A Deployment's daily cost: hourly cost x 24 x replicas."""
    return deployment_cost(
        prices=prices, gpu_type=gpu_type, gpus=gpus, replicas=replicas, currency=currency, hours=HOURS_PER_DAY
    )


# -- what a limit buys (Kueue has no money quota) --------------------------------------------------


def jobs_per_window(limit: Money, cost_per_job: Money) -> int:
    """``floor(limit / cost_per_job)``: $100/day at $2.50/job -> 40 jobs/day. 0 when a job costs nothing."""
    if cost_per_job.amount <= 0:
        return 0
    _ = limit - cost_per_job  # same currency, or BudgetError
    return int((limit.amount / cost_per_job.amount).to_integral_value(rounding=ROUND_FLOOR))


def gpu_quota(limit: Money, price_per_gpu_hour: Money, hours: float | Decimal = HOURS_PER_DAY) -> int:
    """Kueue ``nominalQuota`` of ``nvidia.com/gpu`` a limit pays for: floor(limit / (price x hours)).

    A GPU counted here may run all ``hours`` of the window without the limit being exceeded.
    """
    h = to_decimal(hours, "hours")
    if price_per_gpu_hour.amount <= 0 or h <= 0:
        return 0
    _ = limit - price_per_gpu_hour
    return int((limit.amount / (price_per_gpu_hour.amount * h)).to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class QuotaTranslation:
    """A money limit in the units Kueue understands; ``text`` is the line ``budget check`` prints."""

    limit: Money
    period: str  # "day" for a 23-25 hour window, else "window"
    cost_per_job: Money | None
    jobs: int | None
    gpu_type: str | None
    price_per_gpu_hour: Money | None
    window_hours: float
    gpus: int | None

    @property
    def jobs_text(self) -> str | None:
        if self.cost_per_job is None or self.jobs is None:
            return None
        return (
            f"{self.limit.short()}/{self.period} at {self.cost_per_job.short()}/job -> "
            f"{self.jobs} jobs/{self.period}"
        )

    @property
    def gpus_text(self) -> str | None:
        if self.price_per_gpu_hour is None or self.gpus is None:
            return None
        hours = f"{self.window_hours:g}"
        return (
            f"floor({self.limit.display} / ({self.price_per_gpu_hour.display} per GPU-hour x {hours} h)) = "
            f"{self.gpus} {self.gpu_type or 'default'} GPU{'s' if self.gpus != 1 else ''} of Kueue nominalQuota"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "limit": self.limit.to_json(),
            "currency": self.limit.currency,
            "period": self.period,
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
    prices: Prices | None,
    gpu_type: str | None,
    window_hours: float = HOURS_PER_DAY,
    currency: str | None = None,
) -> QuotaTranslation:
    """The seed's "$100/day at $2.50/job -> 40 jobs/day" and the GPU count a limit pays for.

    The GPU part is left out (None) when ``prices`` is None or is in another currency.
    """
    limit = limit_of(constraint, currency)
    daily = 23 <= window_hours <= 25  # a DST day is still a day: the quota must not change with it
    hours = float(HOURS_PER_DAY) if daily else window_hours
    cpj = Money(constraint.cost_per_job, limit.currency) if constraint.cost_per_job is not None else None
    price: Money | None = None
    if prices is not None and prices.currency == limit.currency:
        price = gpu_hour_price(prices, gpu_type, limit.currency)
    return QuotaTranslation(
        limit=limit,
        period="day" if daily else "window",
        cost_per_job=cpj,
        jobs=jobs_per_window(limit, cpj) if cpj is not None else None,
        gpu_type=gpu_type,
        price_per_gpu_hour=price,
        window_hours=hours,
        gpus=gpu_quota(limit, price, Decimal(str(hours))) if price is not None else None,
    )
