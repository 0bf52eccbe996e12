"""Inputs of the budget gates, built from the plan (pure: no pulumi). JSON-able: money as strings.

(The epoch gate's inputs come from ``b00t_pulumi.epoch.deploy.epoch_inputs``.)

* ``budget_inputs``: per BudgetConstraint CR, the costs of the workloads that name it (whatever
  their namespace), for its ``BudgetGate`` (the budget controller and the ledger).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from b00t_pulumi.budget.items import budget_items
from b00t_pulumi.budget.window import current_window
from b00t_pulumi.datum.models import JobDatum, StackDatum
from b00t_pulumi.errors import PlanError, Problem
from b00t_pulumi.plan.model import ClusterPlan
from b00t_pulumi.plan.objects import K8sObject
from b00t_pulumi.plan.planner import Planner


def budget_inputs(planner: Planner, plan: ClusterPlan, ledger_url: str,
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """One gate input per BudgetConstraint CR of the plan; its items are ``budget.items.budget_items``
    of the whole plan (every Job and Deployment that names it, in any namespace)."""
    objects = plan.all_objects()
    owners: list[tuple[StackDatum | JobDatum, K8sObject]] = [
        *[(sp.stack, sp.budget) for sp in plan.stacks if sp.budget],
        *[(jp.job, jp.budget) for jp in plan.jobs if jp.budget],
    ]
    out: list[dict[str, Any]] = []
    for owner, cr in owners:
        bc = owner.orch.budget_constraint
        assert bc is not None
        name, currency = cr["metadata"]["name"], owner.orch.currency
        hours = current_window(bc.reset_schedule, bc.timezone, now or datetime.now(UTC)).hours
        items = budget_items(name, objects, currency=currency, window_hours=hours)
        bad = [Problem(owner.id, "b00t.orchestration.budget_constraint", i.problem) for i in items if i.problem]
        if bad:
            raise PlanError(bad)
        out.append({
            "constraint_id": name,
            "subject": f"{'stack' if isinstance(owner, StackDatum) else 'job'} {owner.name}",
            "constraint": {
                "daily_limit": str(bc.daily_limit),
                "currency": currency,
                "cost_per_job": None if bc.cost_per_job is None else str(bc.cost_per_job),
                "alert_threshold": bc.alert_threshold,
                "n8n_webhook": bc.n8n_webhook,  # a template like ${VAR}: expanded when sent, never stored
                "on_budget_exceeded": bc.on_budget_exceeded,
                "reset_schedule": bc.reset_schedule,
                "timezone": bc.timezone,
            },
            "items": [{k: v for k, v in i.to_dict().items() if k != "problem"} for i in items],
            "ledger": ledger_url,
        })
    return out


def absolute_ledger_url(url: str, project_dir: Path) -> str:
    """``sqlite:///relative.db`` made absolute, so the provider process finds the same file."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith((prefix + "/", prefix + "~", prefix + ":memory:")):
        path, sep, query = url[len(prefix):].partition("?")
        return f"{prefix}{(project_dir / path).resolve()}{sep}{query}"
    return url
