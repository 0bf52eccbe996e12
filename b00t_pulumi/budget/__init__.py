"""Budgets: the cost model, budget windows, the ledger and the controller that decides.

Pure Python (never imports pulumi). The gates, the policy pack and the CLI use:

- ``Money`` (exact Decimal + currency); ``price_list`` (``b00t:prices`` in a budget's currency);
  ``price_workload`` / ``run_cost`` / ``price_deployment`` (the one cost path); ``translate`` (Kueue);
- ``budget_items`` (every Job and Deployment naming a budget, for gate, policy and CLI alike);
- ``current_window`` / ``next_window_start`` (cron ``reset_schedule`` in ``timezone``);
- ``open_ledger(url)`` -> ``Ledger`` (sqlite, dynamodb, k8s) with atomic, idempotent ``reserve``;
- ``BudgetController`` -> ``Approved`` / ``Alert`` / ``Deferred`` / ``Rejected`` and ``Projection``;
- ``budget.api``: the BudgetConstraint custom resource API (CRD, spec, status, printer columns).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from b00t_pulumi.budget.alerts import WebhookAlerter, alert_payload, expand_env, redact_webhook
    from b00t_pulumi.budget.controller import BudgetController, BudgetStatus, CostItem, Projection
    from b00t_pulumi.budget.cost import (
        HourlyRate,
        PodRequest,
        Priced,
        hourly_rate,
        hpa_for,
        price_deployment,
        price_run,
        price_workload,
        run_cost,
    )
    from b00t_pulumi.budget.decisions import Alert, Approved, Decision, Deferred, Rejected
    from b00t_pulumi.budget.items import BudgetItem, budget_items, reservation_id
    from b00t_pulumi.budget.ledger import (
        Ledger,
        Reservation,
        ReserveResult,
        default_ledger_url,
        open_ledger,
        redact_url,
    )
    from b00t_pulumi.budget.money import Money
    from b00t_pulumi.budget.prices import PriceList, PricingError, price_list
    from b00t_pulumi.budget.quota import (
        QuotaTranslation,
        constraint_currency,
        gpu_quota,
        jobs_per_window,
        limit_of,
        translate,
    )
    from b00t_pulumi.budget.window import Window, current_window, iso_utc, next_window_start, parse_time

# name -> module; imported on first access (PEP 562), so ``b00t_pulumi.budget.ledger.sqlite`` alone
# does not pull in pydantic, boto3 or the kubernetes client.
_LAZY: dict[str, str] = {
    **dict.fromkeys(["WebhookAlerter", "alert_payload", "expand_env", "redact_webhook"], "alerts"),
    **dict.fromkeys(["BudgetController", "BudgetStatus", "CostItem", "Projection"], "controller"),
    **dict.fromkeys(["HourlyRate", "PodRequest", "Priced", "hourly_rate", "hpa_for", "price_deployment",
                     "price_run", "price_workload", "run_cost"], "cost"),
    **dict.fromkeys(["Alert", "Approved", "Decision", "Deferred", "Rejected"], "decisions"),
    **dict.fromkeys(["BudgetItem", "budget_items", "reservation_id"], "items"),
    **dict.fromkeys(
        ["Ledger", "Reservation", "ReserveResult", "default_ledger_url", "open_ledger", "redact_url"], "ledger"
    ),
    "Money": "money",
    **dict.fromkeys(["PriceList", "PricingError", "price_list"], "prices"),
    **dict.fromkeys(["QuotaTranslation", "constraint_currency", "gpu_quota", "jobs_per_window", "limit_of",
                     "translate"], "quota"),
    **dict.fromkeys(["Window", "current_window", "iso_utc", "next_window_start", "parse_time"], "window"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def constraint_id_for(name: str) -> str:
    """The constraint id of a stack's or job's own budget: ``<name>-budget``.

    It is the name the planner gives the BudgetConstraint custom resource and the id the gates
    reserve under, so the CLI, the gates and the ``k8s://`` ledger (which writes to the custom
    resource of that name) all count the same spend.
    """
    return f"{name}-budget"


__all__ = [
    "Alert",
    "Approved",
    "BudgetController",
    "BudgetItem",
    "BudgetStatus",
    "CostItem",
    "Decision",
    "Deferred",
    "HourlyRate",
    "Ledger",
    "Money",
    "PodRequest",
    "PriceList",
    "Priced",
    "PricingError",
    "Projection",
    "QuotaTranslation",
    "Rejected",
    "Reservation",
    "ReserveResult",
    "WebhookAlerter",
    "Window",
    "alert_payload",
    "budget_items",
    "constraint_currency",
    "constraint_id_for",
    "current_window",
    "default_ledger_url",
    "expand_env",
    "gpu_quota",
    "hourly_rate",
    "hpa_for",
    "iso_utc",
    "jobs_per_window",
    "limit_of",
    "next_window_start",
    "open_ledger",
    "parse_time",
    "price_deployment",
    "price_list",
    "price_run",
    "price_workload",
    "redact_url",
    "redact_webhook",
    "reservation_id",
    "run_cost",
    "translate",
]
