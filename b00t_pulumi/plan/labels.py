"""Labels and annotations every object of a stack or job carries, applied in one place.

- ``app.kubernetes.io/*`` (name, instance, part-of, managed-by) on everything;
- ``b00t.io/stack`` / ``b00t.io/job`` and ``b00t.io/member``;
- seed 000's workload labels and annotations: ``b00t.io/schedule-type``, ``b00t.io/gpu-batch-group``,
  ``b00t.io/model-id`` (labels: selectable), ``b00t.io/budget-daily-limit``, ``b00t.io/budget-currency``,
  ``b00t.io/cost-per-job`` (annotations);
- ``kueue.x-k8s.io/queue-name`` on queued workloads.
"""

from __future__ import annotations

from b00t_pulumi.datum.orchestration import BudgetConstraint, Orchestration
from b00t_pulumi.plan.objects import MANAGED_BY

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
STACK_LABEL = "b00t.io/stack"
JOB_LABEL = "b00t.io/job"
MEMBER_LABEL = "b00t.io/member"
SCHEDULE_TYPE_LABEL = "b00t.io/schedule-type"
BATCH_GROUP_LABEL = "b00t.io/gpu-batch-group"
MODEL_ID_LABEL = "b00t.io/model-id"
BUDGET_ANNOTATION = "b00t.io/budget-constraint"
AFTER_JOBS = "b00t.io/after-jobs"  # jobs that must succeed first (the b00t operator releases after them)


def base(name: str, part_of: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": part_of,
        "app.kubernetes.io/part-of": part_of,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def of_stack(stack: str, member: str) -> dict[str, str]:
    """Labels of every object a stack member has (Secrets, claims, Services, workloads)."""
    return base(member, stack) | {STACK_LABEL: stack}


def of_job(job: str) -> dict[str, str]:
    return base(job, job) | {JOB_LABEL: job}


def selector(name: str, part_of: str) -> dict[str, str]:
    """What a Deployment's pods and its Service select on: stable across label changes."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": part_of}


def schedule(orch: Orchestration) -> dict[str, str]:
    """``b00t.io/schedule-type`` when the datum names a schedule type b00t-pulumi knows."""
    return {SCHEDULE_TYPE_LABEL: orch.schedule} if orch.schedule else {}


def gpu(batch_group: str | None, model_id: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if batch_group:
        out[BATCH_GROUP_LABEL] = batch_group
    if model_id:
        out[MODEL_ID_LABEL] = model_id
    return out


def queue(queue_name: str | None) -> dict[str, str]:
    return {QUEUE_LABEL: queue_name} if queue_name else {}


def budget(constraint_name: str, bc: BudgetConstraint, currency: str) -> dict[str, str]:
    """Seed 000's budget annotations of a workload, and the name of its BudgetConstraint."""
    from b00t_pulumi.plan.crds import money_str

    out = {BUDGET_ANNOTATION: constraint_name, "b00t.io/budget-daily-limit": money_str(bc.daily_limit),
           "b00t.io/budget-currency": currency}
    if bc.cost_per_job is not None:
        out["b00t.io/cost-per-job"] = money_str(bc.cost_per_job)
    return out
