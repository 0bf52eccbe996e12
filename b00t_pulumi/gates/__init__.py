"""Gates: Pulumi dynamic resources around the epoch scheduler (EpochPlan) and budgets (BudgetGate).

Workloads depend on their gates, so a failed check stops an update before any workload changes.
``gates.inputs`` is pure; the resources (which import pulumi) load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "BudgetGate": "b00t_pulumi.gates.budget_gate",
    "BudgetGateProvider": "b00t_pulumi.gates.budget_gate",
    "EpochPlan": "b00t_pulumi.gates.epoch_plan",
    "EpochPlanProvider": "b00t_pulumi.gates.epoch_plan",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'b00t_pulumi.gates' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = sorted(_LAZY)
