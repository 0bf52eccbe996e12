"""Money, the cost model and the Kueue translation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from b00t_pulumi.budget import (
    Money,
    deployment_cost,
    deployment_daily_cost,
    gpu_quota,
    hourly_cost,
    job_cost,
    jobs_per_window,
    translate,
)
from b00t_pulumi.datum.orchestration import BudgetConstraint
from b00t_pulumi.errors import BudgetError
from b00t_pulumi.settings import Prices

PRICES = Prices(currency="USD", gpu_hour={"nvidia-a100": Decimal("2.74"), "nvidia-h100": Decimal("6.88")})


def bc(**kw: object) -> BudgetConstraint:
    return BudgetConstraint.model_validate({"daily_limit": 100, **kw})


# -- Money -------------------------------------------------------------------------------------


def test_money_is_exact_and_refuses_mixed_currencies() -> None:
    assert Money.of("0.1") + Money.of("0.2") == Money.of("0.3")
    assert Money.of(0.1) * 3 == Money.of("0.3")  # floats go through str: no binary artefacts
    assert Money.of("2.5") == Money.of("2.50")
    assert hash(Money.of("2.5")) == hash(Money.of("2.50"))
    with pytest.raises(BudgetError, match="different currencies"):
        _ = Money.of(1, "USD") + Money.of(1, "EUR")
    with pytest.raises(BudgetError, match="different currencies"):
        _ = Money.of(1, "USD") < Money.of(1, "EUR")
    assert Money.of(1, "USD") != Money.of(1, "EUR")
    with pytest.raises(BudgetError, match="ISO 4217"):
        Money.of(1, "usd")
    with pytest.raises(BudgetError, match="finite"):
        Money.of("NaN")
    with pytest.raises(BudgetError, match="expected an amount"):
        Money.of("two")


def test_money_display() -> None:
    m = Money.of("112.505")
    assert m.display == "112.50"  # banker's rounding, display only
    assert m.amount == Decimal("112.505")
    assert str(Money.of("2.5")) == "2.50 USD"
    assert Money.of("100").short() == "$100"
    assert Money.of("2.5").short() == "$2.50"
    assert Money.of("2.5", "EUR").short() == "2.50 EUR"
    assert Money.of("100.0").to_json() == "100.00"
    assert Money.of("0.125").to_json() == "0.125"


# -- cost model --------------------------------------------------------------------------------


def test_job_cost_prefers_cost_per_job() -> None:
    c = bc(cost_per_job="2.50")
    assert job_cost(constraint=c, prices=PRICES, gpu_type="nvidia-a100", gpus=4, duration_s=7200) == Money.of("2.50")


def test_job_cost_from_gpu_hours() -> None:
    # 2 GPUs x 2.74 x 1.5 h
    cost = job_cost(constraint=bc(), prices=PRICES, gpu_type="nvidia-a100", gpus=2, duration_s=5400)
    assert cost == Money.of("8.22")
    # unknown GPU type: the default price (OpenCost's 0.95)
    assert job_cost(constraint=None, prices=PRICES, gpu_type="tesla-t4", gpus=1, duration_s=3600) == Money.of("0.95")


def test_job_cost_needs_a_duration_or_cost_per_job() -> None:
    with pytest.raises(BudgetError, match="cost_per_job"):
        job_cost(constraint=bc(), prices=PRICES, gpu_type="nvidia-a100", gpus=1, duration_s=None)
    with pytest.raises(BudgetError, match="gpus"):
        job_cost(constraint=bc(), prices=PRICES, gpu_type="nvidia-a100", gpus=-1, duration_s=60)


def test_currency_of_prices_must_match_the_budget() -> None:
    with pytest.raises(BudgetError, match="does not convert"):
        job_cost(constraint=bc(currency="EUR"), prices=PRICES, gpu_type="nvidia-a100", gpus=1, duration_s=60)
    eur = job_cost(constraint=bc(currency="EUR", cost_per_job=3), prices=PRICES, gpu_type=None, gpus=1, duration_s=None)
    assert eur == Money.of(3, "EUR")


def test_deployment_daily_cost() -> None:
    assert hourly_cost(prices=PRICES, gpu_type="nvidia-h100", gpus=2, currency="USD") == Money.of("13.76")
    daily = deployment_daily_cost(prices=PRICES, gpu_type="nvidia-h100", gpus=2, replicas=3, currency="USD")
    assert daily == Money.of("13.76") * 24 * 3 == Money.of("990.72")
    half_day = deployment_cost(prices=PRICES, gpu_type="nvidia-h100", gpus=1, replicas=1, currency="USD", hours=12)
    assert half_day == Money.of("82.56")
    assert deployment_daily_cost(prices=PRICES, gpu_type=None, gpus=0, replicas=5, currency="USD") == Money.of(0)


# -- Kueue translation ---------------------------------------------------------------------------


def test_seed_translation_40_jobs_per_day() -> None:
    t = translate(bc(cost_per_job="2.50"), prices=PRICES, gpu_type="nvidia-a100")
    assert t.jobs == 40
    assert t.jobs_text == "$100/day at $2.50/job -> 40 jobs/day"
    assert t.gpus == 1  # floor(100 / (2.74 x 24)) = floor(1.52)
    assert t.gpus_text is not None and "= 1 nvidia-a100 GPU of Kueue nominalQuota" in t.gpus_text
    d = t.to_dict()
    assert d["kueue_gpu_quota"] == 1 and d["jobs_per_period"] == 40


def test_translation_floors_and_edge_cases() -> None:
    assert jobs_per_window(Money.of(100), Money.of("3")) == 33
    assert jobs_per_window(Money.of(100), Money.of(0)) == 0
    assert gpu_quota(Money.of(1000), Money.of("6.88")) == 6  # 1000 / 165.12
    assert gpu_quota(Money.of(100), Money.of("0.95")) == 4
    assert gpu_quota(Money.of("22.80"), Money.of("0.95")) == 1  # exactly one GPU for 24 h
    assert gpu_quota(Money.of("22.79"), Money.of("0.95")) == 0
    # a DST day (23 or 25 hours) is still a day: the quota does not move
    t = translate(bc(cost_per_job="2.50"), prices=PRICES, gpu_type="nvidia-a100", window_hours=25)
    assert t.period == "day" and t.gpus == 1
    hourly = translate(bc(daily_limit=10), prices=PRICES, gpu_type="nvidia-a100", window_hours=1)
    assert hourly.period == "window" and hourly.gpus == 3 and hourly.jobs is None
    eur = translate(bc(currency="EUR"), prices=PRICES, gpu_type="nvidia-a100")
    assert eur.gpus is None and eur.gpus_text is None
