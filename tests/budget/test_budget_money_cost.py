"""Money, the cost model and the Kueue translation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from b00t_pulumi.budget import (
    Money,
    PodRequest,
    PriceList,
    PricingError,
    gpu_quota,
    hourly_rate,
    hpa_for,
    jobs_per_window,
    price_deployment,
    price_list,
    price_run,
    price_workload,
    run_cost,
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


def usd() -> PriceList:
    return price_list(PRICES, "USD")


def test_run_cost_prefers_cost_per_job() -> None:
    gpus = PodRequest(gpus=4, gpu_type="nvidia-a100")
    assert run_cost(gpus, prices=usd(), pod_seconds=7200, cost_per_job=Money.of("2.50")) == Money.of("2.50")


def test_run_cost_from_gpu_hours() -> None:
    # 2 GPUs x 2.74 x 1.5 h
    assert run_cost(PodRequest(gpus=2, gpu_type="nvidia-a100"), prices=usd(), pod_seconds=5400) == Money.of("8.22")
    # a GPU type not listed: the default price (OpenCost's 0.95), with a note
    priced = price_run(PodRequest(gpus=1, gpu_type="nvidia-t4"), prices=usd(), pod_seconds=3600)
    assert priced.cost == Money.of("0.95")
    assert any("nvidia-t4 is not in b00t:prices.gpuHour" in n for n in priced.price_notes)


def test_a_run_needs_a_duration_or_cost_per_job() -> None:
    with pytest.raises(PricingError, match="cost_per_job") as exc:
        run_cost(PodRequest(gpus=1, gpu_type="nvidia-a100"), prices=usd(), pod_seconds=None)
    assert exc.value.keys == ("b00t.orchestration.estimated_duration",
                              "b00t.orchestration.budget_constraint.cost_per_job")
    with pytest.raises(PricingError, match="requests no GPU, CPU or memory"):
        run_cost(PodRequest(), prices=usd(), pod_seconds=60)


def test_cpu_and_memory_are_priced_from_the_settings() -> None:
    prices = Prices(currency="USD", cpu_hour=Decimal("0.04"), memory_gib_hour=Decimal("0.005"))
    job = PodRequest(cpu=Decimal(32), memory=Decimal(64 * 2**30))
    # the issue's case: 8 h of 32 CPUs no longer costs nothing: (32 x 0.04 + 64 x 0.005) x 8 = 12.80
    assert run_cost(job, prices=price_list(prices, "USD"), pod_seconds=8 * 3600) == Money.of("12.80")
    # not set: OpenCost's defaults, and a note that says so
    priced = price_run(job, prices=usd(), pod_seconds=3600)
    assert priced.cost == Money.of("0.031611") * 32 + Money.of("0.004237") * 64
    assert any("b00t:prices.cpuHour" in n for n in priced.price_notes)


def test_gpu_without_type_is_priced_at_the_dearest_it_may_land_on() -> None:
    untyped = PodRequest(gpus=1)
    rate = hourly_rate(untyped, usd(), gpu_candidates=["nvidia-a100", "nvidia-h100"])
    assert rate.per_hour == Money.of("6.88") and rate.gpu_type == "nvidia-h100"
    assert "the dearest GPU it may land on (b00t:gpuInventory)" in rate.notes[0]
    # no inventory: the dearest price listed (or the default, when it is dearer)
    assert hourly_rate(untyped, usd()).per_hour == Money.of("6.88")
    assert hourly_rate(untyped, price_list(Prices(), "USD")).per_hour == Money.of("0.95")


def test_prices_in_another_currency_need_an_explicit_rate() -> None:
    yen = price_list(PRICES, "JPY")
    with pytest.raises(PricingError, match=r"budget is in JPY but b00t:prices are in USD \(b00t:prices.currency\)"):
        run_cost(PodRequest(gpus=1, gpu_type="nvidia-a100"), prices=yen, pod_seconds=60)
    # a flat cost_per_job in the budget's currency needs no price list, so no rate
    assert run_cost(PodRequest(gpus=1), prices=yen, pod_seconds=None, cost_per_job=Money.of(300, "JPY")) \
        == Money.of(300, "JPY")
    converted = price_list(PRICES.model_copy(update={"rates": {"JPY": Decimal("150")}}), "JPY")
    assert converted.gpu("nvidia-a100")[0] == Money.of("411", "JPY")
    assert "b00t:prices.rates.JPY" in converted.notes[0]


def test_deployment_cost() -> None:
    h100 = PodRequest(gpus=2, gpu_type="nvidia-h100")
    assert hourly_rate(h100, usd()).per_hour == Money.of("13.76")
    daily = price_deployment(h100, prices=usd(), replicas=3)
    assert daily.cost == Money.of("13.76") * 24 * 3 == Money.of("990.72")
    half_day = price_deployment(PodRequest(gpus=1, gpu_type="nvidia-h100"), prices=usd(), replicas=1, hours=12)
    assert half_day.cost == Money.of("82.56")
    assert price_deployment(h100, prices=usd(), replicas=0).cost == Money.of(0)
    with pytest.raises(PricingError, match="requests no GPU, CPU or memory"):
        price_deployment(PodRequest(), prices=usd(), replicas=1)


def test_pod_request_is_the_effective_request() -> None:
    pod = {"containers": [{"resources": {"requests": {"cpu": "500m", "memory": "1Gi"},
                                         "limits": {"nvidia.com/gpu": "1"}}},
                          {"resources": {"requests": {"cpu": "1"}}}],
           "initContainers": [{"resources": {"requests": {"cpu": "4"}}}]}
    assert PodRequest.of_pod(pod, "nvidia-a100") == PodRequest(1, "nvidia-a100", Decimal(4), Decimal(2**30))


def test_hpa_deployment_is_priced_at_its_max_replicas() -> None:
    dep = {"kind": "Deployment", "metadata": {"name": "api", "namespace": "x", "annotations": {}},
           "spec": {"template": {"metadata": {"annotations": {"b00t.io/gpu-type": "nvidia-a100"}},
                                 "spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}}}
    hpa = {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "api", "namespace": "x"},
           "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "minReplicas": 1, "maxReplicas": 3}}
    assert hpa_for(dep, [hpa]) is hpa
    priced = price_workload(dep, prices=usd(), hpa=hpa)
    assert priced.cost == Money.of("2.74") * 24 * 3 and "HPA floor 1, max 3" in priced.basis
    with pytest.raises(PricingError, match="budget: Job j: requests no GPU"):
        price_workload({"kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {}}}},
                       prices=usd(), duration_s=60)


# -- Kueue translation ---------------------------------------------------------------------------


def test_seed_translation_40_jobs_per_day() -> None:
    t = translate(bc(cost_per_job="2.50"), prices=usd(), gpu_type="nvidia-a100")
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
    t = translate(bc(cost_per_job="2.50"), prices=usd(), gpu_type="nvidia-a100", window_hours=25)
    assert t.period == "day" and t.gpus == 1
    hourly = translate(bc(daily_limit=10), prices=usd(), gpu_type="nvidia-a100", window_hours=1)
    assert hourly.period == "window" and hourly.gpus == 3 and hourly.jobs is None
    eur = translate(bc(currency="EUR"), prices=None, gpu_type="nvidia-a100")
    assert eur.gpus is None and eur.gpus_text is None


def test_translation_takes_the_deployments_off_first() -> None:
    # the issue's case: 12 jobs "fit" at 8.00/job, but 60.00 of Deployments per day leaves room for 5
    t = translate(bc(cost_per_job="8.00"), prices=usd(), gpu_type="nvidia-a100", committed=Money.of(60))
    assert t.jobs == 5 and t.available == Money.of(40)
    assert t.jobs_text == "$100/day - $60/day of Deployments = $40/day at $8/job -> 5 jobs/day"
    assert t.gpus == 0  # floor(40 / (2.74 x 24))
    over = translate(bc(cost_per_job="8.00"), prices=usd(), gpu_type="nvidia-a100", committed=Money.of(150))
    assert over.jobs == 0 and over.available == Money.of(0)
