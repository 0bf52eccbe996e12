"""Inputs of the budget gates, built from the plan (pure: no pulumi). JSON-able: money as strings.

(The epoch gate's inputs come from ``b00t_pulumi.epoch.deploy.epoch_inputs``.)

* ``budget_inputs``: per BudgetConstraint CR, the costs of the workloads that name it, for its
  ``BudgetGate`` (the budget controller and the ledger).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from b00t_pulumi.datum.models import JobDatum, StackDatum
from b00t_pulumi.plan.model import ClusterPlan
from b00t_pulumi.plan.objects import K8sObject
from b00t_pulumi.plan.planner import Planner


def _cost_items(cr: K8sObject, objects: Sequence[K8sObject]) -> list[dict[str, Any]]:
    """Deployments first (running infrastructure), then jobs, each by name: the reservation order."""
    name, ns = cr["metadata"]["name"], cr["metadata"]["namespace"]
    items: list[dict[str, Any]] = []
    for o in objects:
        meta = o["metadata"]
        ann = meta.get("annotations", {})
        if ann.get("b00t.io/budget-constraint") != name or meta.get("namespace") != ns:
            continue
        if o["kind"] == "Deployment" and "b00t.io/estimated-daily-cost" in ann:
            items.append({"id": f"deployment/{meta['name']}", "kind": "deployment", "name": meta["name"],
                          "cost": ann["b00t.io/estimated-daily-cost"]})
        elif o["kind"] == "Job" and "b00t.io/estimated-cost" in ann:
            items.append({"id": f"job/{meta['name']}", "kind": "job", "name": meta["name"],
                          "cost": ann["b00t.io/estimated-cost"]})
    return sorted(items, key=lambda i: (i["kind"] != "deployment", i["name"]))


def budget_inputs(planner: Planner, plan: ClusterPlan, ledger_url: str) -> list[dict[str, Any]]:
    """One gate input per BudgetConstraint CR of the plan."""
    objects = plan.all_objects()
    owners: list[tuple[StackDatum | JobDatum, K8sObject]] = [
        *[(sp.stack, sp.budget) for sp in plan.stacks if sp.budget],
        *[(jp.job, jp.budget) for jp in plan.jobs if jp.budget],
    ]
    out: list[dict[str, Any]] = []
    for owner, cr in owners:
        bc = owner.orch.budget_constraint
        assert bc is not None
        out.append({
            "constraint_id": cr["metadata"]["name"],
            "subject": f"{'stack' if isinstance(owner, StackDatum) else 'job'} {owner.name}",
            "constraint": {
                "daily_limit": str(bc.daily_limit),
                "currency": owner.orch.currency,
                "cost_per_job": None if bc.cost_per_job is None else str(bc.cost_per_job),
                "alert_threshold": bc.alert_threshold,
                "n8n_webhook": bc.n8n_webhook,  # a template like ${VAR}: expanded when sent, never stored
                "on_budget_exceeded": bc.on_budget_exceeded,
                "reset_schedule": bc.reset_schedule,
                "timezone": bc.timezone,
            },
            "items": _cost_items(cr, objects),
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
