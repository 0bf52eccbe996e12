"""What the operator observes, as small typed views of Kubernetes object dicts (pure).

Every view is built from the JSON the API server returns (camelCase keys, RFC 3339 times) and keeps
only what a decision reads. Times are Unix seconds (UTC floats); a missing time is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from b00t_pulumi.budget.cost import PodRequest
from b00t_pulumi.operator import contract as c


def parse_time(text: Any) -> float | None:
    """RFC 3339 / ISO 8601 (``Z`` or an offset) -> Unix seconds; None for empty or unparsable text."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def iso(ts: float) -> str:
    """Unix seconds -> ``2026-11-22T13:00:00Z`` (whole seconds: what Kubernetes stores)."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = obj.get("metadata") or {}
    return meta


def _strs(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()} if isinstance(value, dict) else {}


def _condition(conditions: Any, kind: str) -> dict[str, Any] | None:
    for cond in conditions or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def _is_true(conditions: Any, kind: str) -> bool:
    cond = _condition(conditions, kind)
    return cond is not None and cond.get("status") == "True"


def _decimal(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


@dataclass(frozen=True)
class Ref:
    """A namespaced object name."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def budget_ref(value: str | None, namespace: str) -> Ref | None:
    """``b00t.io/budget-constraint``: ``name`` (in ``namespace``) or ``namespace/name``; None when empty."""
    if not value or not value.strip():
        return None
    ns, sep, name = value.strip().partition("/")
    return Ref(ns, name) if sep else Ref(namespace, ns)


#: what one pod asks for that has a price (the cost model's own type)
Resources = PodRequest


def pod_resources(pod_spec: dict[str, Any], gpu_type: str | None) -> Resources:
    """Kubernetes' effective request of a pod spec (``budget.cost.PodRequest.of_pod``)."""
    return PodRequest.of_pod(pod_spec, gpu_type)


@dataclass(frozen=True)
class JobView:
    """A batch/v1 Job, as far as holds, budgets and settlement care."""

    namespace: str
    name: str
    uid: str
    created: float
    annotations: dict[str, str]
    queue: str | None
    suspend: bool
    succeeded: bool
    failed: bool
    start_time: float | None
    end_time: float | None  # completionTime, or when the Failed condition became True
    resources: Resources = field(default_factory=Resources)

    @property
    def ref(self) -> Ref:
        return Ref(self.namespace, self.name)

    @property
    def finished(self) -> bool:
        return self.succeeded or self.failed

    def annotation(self, key: str) -> str | None:
        value = self.annotations.get(key)
        return value if value else None

    @property
    def budget(self) -> Ref | None:
        return budget_ref(self.annotations.get(c.BUDGET_CONSTRAINT), self.namespace)

    @property
    def estimated_cost(self) -> Decimal | None:
        return _decimal(self.annotations.get(c.ESTIMATED_COST))

    @property
    def after_jobs(self) -> tuple[str, ...]:
        raw = self.annotations.get(c.AFTER_JOBS) or ""
        return tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))

    @property
    def suspended_until(self) -> float | None:
        return parse_time(self.annotations.get(c.SUSPENDED_UNTIL))

    @property
    def deferred_until(self) -> float | None:
        return parse_time(self.annotations.get(c.DEFERRED_UNTIL))

    @property
    def planned_start(self) -> float | None:
        return parse_time(self.annotations.get(c.PLANNED_START))

    @property
    def is_watched(self) -> bool:
        """Carries anything the operator acts on (a budget, a hold, dependencies)."""
        return any(self.annotations.get(k) for k in c.WATCHED_ANNOTATIONS)

    @property
    def plan_order(self) -> tuple[float, float, str]:
        """Jobs released at the same moment go in plan order: planned start, then creation, then name."""
        return (self.planned_start or self.created, self.created, self.name)

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> JobView:
        meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
        annotations = _strs(meta.get("annotations"))
        conditions = status.get("conditions")
        failed_cond = _condition(conditions, "Failed")
        failed = failed_cond is not None and failed_cond.get("status") == "True"
        end = parse_time(status.get("completionTime"))
        if end is None and failed and failed_cond is not None:
            end = parse_time(failed_cond.get("lastTransitionTime"))
        pod_spec = ((spec.get("template") or {}).get("spec")) or {}
        return cls(
            namespace=str(meta.get("namespace") or "default"),
            name=str(meta.get("name") or ""),
            uid=str(meta.get("uid") or ""),
            created=parse_time(meta.get("creationTimestamp")) or 0.0,
            annotations=annotations,
            queue=_strs(meta.get("labels")).get(c.QUEUE_LABEL) or None,
            suspend=bool(spec.get("suspend")),
            succeeded=_is_true(conditions, "Complete"),
            failed=failed,
            start_time=parse_time(status.get("startTime")),
            end_time=end,
            resources=pod_resources(pod_spec, annotations.get(c.GPU_TYPE) or None),
        )


@dataclass(frozen=True)
class PodView:
    """One pod of a Job: when it held its node, and whether it has stopped."""

    name: str
    uid: str
    start: float | None  # status.startTime: the pod is on its node from then on
    end: float | None  # the last container's finishedAt, once every container has terminated
    terminal: bool
    resources: Resources = field(default_factory=Resources)

    @classmethod
    def from_dict(cls, obj: dict[str, Any], gpu_type: str | None = None) -> PodView:
        meta, status = _meta(obj), obj.get("status") or {}
        phase = status.get("phase")
        ends: list[float] = []
        running = False
        for cs in status.get("containerStatuses") or []:
            state = cs.get("state") or {}
            term = state.get("terminated")
            if isinstance(term, dict):
                t = parse_time(term.get("finishedAt"))
                if t is not None:
                    ends.append(t)
            else:
                running = True
        terminal = phase in ("Succeeded", "Failed") and not running
        return cls(
            name=str(meta.get("name") or ""),
            uid=str(meta.get("uid") or ""),
            start=parse_time(status.get("startTime")),
            end=max(ends) if ends and terminal else None,
            terminal=terminal,
            resources=pod_resources(obj.get("spec") or {}, gpu_type),
        )


@dataclass(frozen=True)
class CheckState:
    """One entry of a Workload's ``status.admissionChecks``."""

    name: str
    state: str
    message: str = ""
    last_transition: float | None = None
    requeue_after_s: int | None = None


@dataclass(frozen=True)
class WorkloadView:
    """A Kueue v1beta2 Workload: its owner Job, its quota and our admission check."""

    namespace: str
    name: str
    uid: str
    job_name: str | None
    job_uid: str | None
    owner_kind: str | None  # "Job"; "Pod" for the pods of a queued Deployment (Kueue's pod integration)
    annotations: dict[str, str]
    active: bool
    quota_reserved: bool
    admitted: bool
    finished: bool
    cluster_queue: str | None
    check: CheckState | None  # ours (``b00t-budget``), None when the ClusterQueue does not list it

    @property
    def ref(self) -> Ref:
        return Ref(self.namespace, self.name)

    @property
    def held_by_us(self) -> bool:
        """Deactivated by the operator for a hold (not by Kueue for a Rejected check, nor by a user)."""
        return not self.active and c.HELD_UNTIL in self.annotations

    @property
    def held_until(self) -> float | None:
        return parse_time(self.annotations.get(c.HELD_UNTIL))

    @classmethod
    def from_dict(cls, obj: dict[str, Any], check_name: str = c.ADMISSION_CHECK_NAME) -> WorkloadView:
        meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
        owners = meta.get("ownerReferences") or []
        owner = next((o for o in owners
                      if o.get("kind") == "Job" and str(o.get("apiVersion", "")).startswith("batch/")), None)
        first = owner or next(iter(owners), None)
        conditions = status.get("conditions")
        check = None
        for entry in status.get("admissionChecks") or []:
            if entry.get("name") == check_name:
                ra = entry.get("requeueAfterSeconds")
                check = CheckState(name=check_name, state=str(entry.get("state") or c.PENDING),
                                   message=str(entry.get("message") or ""),
                                   last_transition=parse_time(entry.get("lastTransitionTime")),
                                   requeue_after_s=int(ra) if isinstance(ra, int) else None)
        admission = status.get("admission") or {}
        return cls(
            namespace=str(meta.get("namespace") or "default"),
            name=str(meta.get("name") or ""),
            uid=str(meta.get("uid") or ""),
            job_name=str(owner["name"]) if owner else None,
            job_uid=str(owner.get("uid")) if owner and owner.get("uid") else None,
            owner_kind=str(first.get("kind")) if first else None,
            annotations=_strs(meta.get("annotations")),
            active=spec.get("active", True) is not False,
            quota_reserved=_is_true(conditions, "QuotaReserved"),
            admitted=_is_true(conditions, "Admitted"),
            finished=_is_true(conditions, "Finished"),
            cluster_queue=str(admission["clusterQueue"]) if admission.get("clusterQueue") else None,
            check=check,
        )


@dataclass(frozen=True)
class DeploymentView:
    """An apps/v1 Deployment with a budget: running (replicas > 0) or deferred (0 and a planned count)."""

    namespace: str
    name: str
    uid: str
    created: float
    annotations: dict[str, str]
    replicas: int
    status_replicas: int

    @property
    def ref(self) -> Ref:
        return Ref(self.namespace, self.name)

    @property
    def budget(self) -> Ref | None:
        return budget_ref(self.annotations.get(c.BUDGET_CONSTRAINT), self.namespace)

    @property
    def daily_cost(self) -> Decimal | None:
        return _decimal(self.annotations.get(c.ESTIMATED_DAILY_COST))

    @property
    def deferred_until(self) -> float | None:
        return parse_time(self.annotations.get(c.DEFERRED_UNTIL))

    @property
    def planned_replicas(self) -> int | None:
        raw = self.annotations.get(c.REPLICAS) or ""
        return int(raw) if raw.strip().isdigit() else None

    @property
    def running(self) -> bool:
        return self.replicas > 0 or self.status_replicas > 0

    @property
    def held(self) -> bool:
        """Deferred by its budget and not yet given its replicas back."""
        return self.replicas == 0 and self.deferred_until is not None and bool(self.planned_replicas)

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> DeploymentView:
        meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
        replicas = spec.get("replicas")
        return cls(
            namespace=str(meta.get("namespace") or "default"),
            name=str(meta.get("name") or ""),
            uid=str(meta.get("uid") or ""),
            created=parse_time(meta.get("creationTimestamp")) or 0.0,
            annotations=_strs(meta.get("annotations")),
            replicas=1 if replicas is None else int(replicas),
            status_replicas=int(status.get("replicas") or 0),
        )


@dataclass(frozen=True)
class BudgetView:
    """A BudgetConstraint custom resource: its spec as the budget model, and what status it shows."""

    namespace: str
    name: str
    generation: int
    spec: dict[str, Any]
    status: dict[str, Any]

    @property
    def ref(self) -> Ref:
        return Ref(self.namespace, self.name)

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> BudgetView:
        meta = _meta(obj)
        return cls(
            namespace=str(meta.get("namespace") or "default"),
            name=str(meta.get("name") or ""),
            generation=int(meta.get("generation") or 0),
            spec=dict(obj.get("spec") or {}),
            status=dict(obj.get("status") or {}),
        )


@dataclass(frozen=True)
class AdmissionCheckView:
    name: str
    controller: str
    active: bool
    generation: int

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> AdmissionCheckView:
        meta = _meta(obj)
        cond = _condition((obj.get("status") or {}).get("conditions"), c.ACTIVE_CONDITION)
        return cls(
            name=str(meta.get("name") or ""),
            controller=str((obj.get("spec") or {}).get("controllerName") or ""),
            active=cond is not None and cond.get("status") == "True"
            and int(cond.get("observedGeneration") or 0) == int(meta.get("generation") or 0),
            generation=int(meta.get("generation") or 0),
        )
