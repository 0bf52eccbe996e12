"""Names the operator shares with the planner, the Pulumi gates and Kueue: one place to change them.

Annotations on a Job's metadata (set by the planner and the gates, read by the operator):

- ``b00t.io/budget-constraint``: the BudgetConstraint, ``name`` (the Job's namespace) or ``namespace/name``;
- ``b00t.io/estimated-cost`` and ``b00t.io/budget-currency``: what the budget reserves before it runs;
- ``b00t.io/suspended-until``: the planned start of its epoch (empty: no epoch hold);
- ``b00t.io/planned-start`` / ``b00t.io/planned-node``: the epoch plan, shown in messages;
- ``b00t.io/deferred-until``: the budget deferred it at deploy to this time (empty: not deferred);
- ``b00t.io/after-jobs``: Jobs of the same namespace that must succeed first (comma separated).

Deferred Deployments: 0 replicas, ``b00t.io/deferred-until`` and ``b00t.io/replicas`` (the planned count).
Kueue (v1beta2, read from the v0.19.2 module): the AdmissionCheck ``b00t-budget`` with
``spec.controllerName: b00t.io/budget``; the operator sets its ``Active`` condition and, per Workload,
``status.admissionChecks[name=b00t-budget]`` (``state``, ``message``, ``lastTransitionTime``,
``requeueAfterSeconds``) by server-side apply with its own field manager.
"""

from __future__ import annotations

from b00t_pulumi.budget.items import reservation_id as gate_reservation_id
from b00t_pulumi.gates.decisions import DEFERRED_UNTIL as DEFERRED_UNTIL
from b00t_pulumi.gates.decisions import PLANNED_NODE as PLANNED_NODE
from b00t_pulumi.gates.decisions import PLANNED_START as PLANNED_START
from b00t_pulumi.gates.decisions import SUSPENDED_UNTIL as SUSPENDED_UNTIL
from b00t_pulumi.plan import kueue as _planned_kueue
from b00t_pulumi.plan.labels import AFTER_JOBS as AFTER_JOBS
from b00t_pulumi.plan.labels import QUEUE_LABEL as QUEUE_LABEL

# -- annotations (the planner's and the gates' side of the contract) ----------------------------
BUDGET_CONSTRAINT = "b00t.io/budget-constraint"
ESTIMATED_COST = "b00t.io/estimated-cost"
ESTIMATED_DAILY_COST = "b00t.io/estimated-daily-cost"
BUDGET_CURRENCY = "b00t.io/budget-currency"
GPU_TYPE = "b00t.io/gpu-type"
REPLICAS = "b00t.io/replicas"
HOLD_REASON = "b00t.io/hold-reason"  # why the operator holds a Job or Workload (shown to users)
HELD_UNTIL = "b00t.io/held-until"  # on a Workload the operator deactivated: when to activate it ("" = on an event)

#: annotations whose presence makes a Job or Deployment the operator's business
WATCHED_ANNOTATIONS = (BUDGET_CONSTRAINT, SUSPENDED_UNTIL, DEFERRED_UNTIL, AFTER_JOBS)

# -- Kueue ---------------------------------------------------------------------------------------
KUEUE_GROUP = "kueue.x-k8s.io"
KUEUE_VERSION = "v1beta2"
KUEUE_API = f"{KUEUE_GROUP}/{KUEUE_VERSION}"
WORKLOADS = "workloads"
ADMISSION_CHECKS = "admissionchecks"
ADMISSION_CHECK_NAME = _planned_kueue.ADMISSION_CHECK  # the planner creates it, the operator answers it
CONTROLLER_NAME = _planned_kueue.ADMISSION_CONTROLLER
ACTIVE_CONDITION = "Active"
FIELD_MANAGER = "b00t-operator"  # server-side apply owner of what the operator writes

PENDING = "Pending"
READY = "Ready"
RETRY = "Retry"
REJECTED = "Rejected"
CHECK_STATES = (PENDING, READY, RETRY, REJECTED)

# -- b00t custom resources -------------------------------------------------------------------------
B00T_GROUP = "b00t.io"
B00T_VERSION = "v1"
BUDGETS = "budgetconstraints"

# -- Jobs and pods ----------------------------------------------------------------------------------
JOB_UID_LABEL = "batch.kubernetes.io/controller-uid"  # on every pod of a Job (Kubernetes >= 1.27)

# -- ledger ids ------------------------------------------------------------------------------------
ACTUAL_PREFIX = "actual:"  # the settled record of one finished Job: ``actual:<job uid>``


def gate_job_id(constraint_id: str, job: str, window_key: str) -> str:
    """The id the Pulumi gate reserves a Job under at deploy (``<constraint>:job/<name>:<window>``)."""
    return gate_reservation_id(constraint_id, f"job/{job}", window_key)


def gate_deployment_id(constraint_id: str, deployment: str, window_key: str) -> str:
    """The id of a Deployment's daily cost in one window: the gate's at deploy, the operator's after."""
    return gate_reservation_id(constraint_id, f"deployment/{deployment}", window_key)


def actual_id(job_uid: str) -> str:
    """The ledger id of a finished Job's actual cost: one record per Job UID, ever."""
    return f"{ACTUAL_PREFIX}{job_uid}"
