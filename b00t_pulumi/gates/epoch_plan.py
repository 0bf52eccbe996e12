"""``EpochPlan``: a Pulumi dynamic resource around the GPU epoch scheduler.

Inputs: the GPU jobs, the GPU inventory and per-group settings (``epoch.deploy.epoch_inputs``).
Its own state holds the previous plan, so re-planning with more jobs never moves an epoch that has
already started. Outputs: the plan (the ``--plan-out`` shape) and per job its epoch, GPU, node,
planned start, and whether it waits for a later epoch (then the Job is created suspended).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult
from pulumi.runtime.rpc import UNKNOWN

from b00t_pulumi.epoch.deploy import INPUT_KEYS, plan_epochs
from b00t_pulumi.epoch.deploy import clock_now as _now
from b00t_pulumi.errors import B00tError


def _unknown(value: Any) -> bool:
    """True when a value (or anything inside it) is unknown until apply (preview of a changed input)."""
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, dict):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_unknown(v) for v in value)
    return False


class EpochPlanProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        if _unknown(news):
            return CheckResult(news, failures)  # unknown until apply: checked then
        try:
            plan_epochs(news, None, _now())
        except B00tError as exc:
            for p in exc.problems:
                where = f"{p.key_path}: " if p.key_path else ""
                failures.append(CheckFailure("jobs", f"epoch plan: {where}{p.message}"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in INPUT_KEYS if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[], stables=[k for k in INPUT_KEYS if k not in changed],
                          delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = plan_epochs(props, None, _now())
        digest = hashlib.sha256(json.dumps(outs["plan"], sort_keys=True).encode()).hexdigest()[:12]
        return CreateResult(f"epochplan-{digest}", outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(plan_epochs(news, olds, _now()))


class EpochPlan(pulumi.dynamic.Resource):
    """The GPU epoch plan of the deploy. ``assignments[job]`` -> epoch, gpu, node, start, suspend."""

    plan: pulumi.Output[dict[str, Any]]
    assignments: pulumi.Output[dict[str, Any]]
    loads: pulumi.Output[int]

    def __init__(self, name: str, inputs: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(EpochPlanProvider(), name,
                         {**inputs, "plan": None, "assignments": None, "submitted": None, "planned_at": None,
                          "loads": None}, opts)
