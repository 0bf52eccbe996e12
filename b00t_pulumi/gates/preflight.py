"""Everything ``pulumi preview`` refuses, checked without Pulumi: ``b00t-pulumi validate`` and the
program run this one function, so the same input never passes one and fails the other.

1. the whole-environment plan (every stack and job, object collisions across stacks, Kueue coverage,
   GPU capacity: no GPU of a type, too few slots);
2. the epoch plan's feasibility (what the EpochPlan gate's check runs);
3. each budget's pricing and projection against its ledger (what each BudgetGate's check runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from b00t_pulumi.errors import B00tError, Problem
from b00t_pulumi.plan.model import ClusterPlan
from b00t_pulumi.plan.planner import Planner


@dataclass
class Preflight:
    plan: ClusterPlan | None
    problems: list[Problem] = field(default_factory=list)  # errors and warnings
    epochs: dict[str, Any] | None = None  # the EpochPlan gate's inputs
    budgets: list[dict[str, Any]] = field(default_factory=list)  # one BudgetGate input each

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def preflight(planner: Planner, project_dir: Path, *, ledgers: bool = True) -> Preflight:
    """Plan the environment and run the gates' checks. ``ledgers=False`` skips the budget projections
    (they read the ledger); pricing is still checked."""
    from b00t_pulumi.budget import default_ledger_url
    from b00t_pulumi.epoch.deploy import clock_now, epoch_inputs, plan_epochs
    from b00t_pulumi.gates.budget_check import check_failures
    from b00t_pulumi.gates.inputs import absolute_ledger_url, budget_inputs

    try:
        plan = planner.plan_cluster()
    except B00tError as exc:
        return Preflight(None, list(exc.problems))
    out = Preflight(plan, list(plan.all_warnings()))
    out.epochs = epoch_inputs(planner, plan)
    if out.epochs["jobs"] and out.epochs["gpus"]:
        try:
            plan_epochs(out.epochs, None, clock_now())
        except B00tError as exc:
            out.problems += [Problem("epoch plan", p.key_path, p.message) for p in exc.problems]
    elif out.epochs["jobs"]:
        out.problems.append(Problem("b00t:gpuInventory", "", f"{len(out.epochs['jobs'])} GPU job(s) but no GPU to plan "
                                    "them on: they are not batched into epochs", "warning"))
    ledger = absolute_ledger_url(planner.settings.ledger or default_ledger_url(), project_dir)
    try:
        out.budgets = budget_inputs(planner, plan, ledger, now=datetime.fromtimestamp(clock_now(), UTC))
    except B00tError as exc:
        out.problems += exc.problems
        return out
    if ledgers:
        for gate in out.budgets:
            for _, message in check_failures(gate):
                out.problems.append(Problem(f"budget {gate['constraint_id']}", "", message))
    return out
