"""The operator's answer to Kueue (pure): a decision -> ``status.admissionChecks[b00t-budget]``.

Kueue v0.19.2 semantics (``apis/kueue/v1beta2/workload_types.go``, ``pkg/workload/evict``):

- ``Ready``: this check allows admission; with every check Ready the Workload is admitted.
- ``Pending``: not yet; the Workload keeps its quota reservation while it waits.
- ``Retry``: Kueue evicts the Workload (its quota is released for others), resets the check to
  Pending and queues it again after ``lastTransitionTime + requeueAfterSeconds``.
- ``Rejected``: Kueue deactivates the Workload; it does not run.

Kueue checks admission only after it has reserved quota, and a Workload keeps that quota while a
check is Pending, and also while it is Retry until ``requeueAfterSeconds`` has passed (v0.19.2's
workload controller waits for ``requeueState.requeueAt`` before it evicts; seen on the local cluster).
So a hold that ends within ``pending_max_s`` is Pending (the quota is held for a few seconds); a
longer one, or one that ends on an event (a Job it depends on), is Pending with its message and the
Workload is deactivated (``spec.active: false``, Kueue's own way to take a Workload out of the queue:
it releases the quota), with ``b00t.io/held-until`` saying when the operator activates it again.
Kueue keeps a Pending check's message when it evicts, so the reason stays visible. A Job held for a
later epoch or window never sits on quota that the Jobs before it need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from b00t_pulumi.operator import contract as c
from b00t_pulumi.operator.holds import Hold, Outcome, Reject, Release
from b00t_pulumi.operator.observed import CheckState, iso

MAX_MESSAGE = 32768  # the v1beta2 MaxLength of a check message


@dataclass(frozen=True)
class CheckAnswer:
    """What to write for our check, and when to look at the Workload again (None: on events only)."""

    state: str
    message: str
    requeue_after_s: int | None = None
    wake_at: float | None = None
    deactivate: bool = False  # take the Workload out of the queue until ``held_until`` (None: an event)
    held_until: float | None = None


def answer(outcome: Outcome, now: float, *, pending_max_s: float = 5.0) -> CheckAnswer:
    if isinstance(outcome, Release):
        return CheckAnswer(c.READY, outcome.message[:MAX_MESSAGE])
    if isinstance(outcome, Reject):
        return CheckAnswer(c.REJECTED, outcome.message[:MAX_MESSAGE])
    assert isinstance(outcome, Hold)
    until = outcome.until
    if until is not None and until - now <= pending_max_s:
        return CheckAnswer(c.PENDING, outcome.message[:MAX_MESSAGE], None, until)
    # whole seconds, as Kubernetes keeps times: activate at the second the hold ends, never before
    held = float(math.ceil(until)) if until is not None else None
    tail = f"out of the queue until {iso(held)}" if held is not None else "out of the queue until then"
    return CheckAnswer(c.PENDING, f"{outcome.message}; {tail}"[:MAX_MESSAGE], None, None, True, held)


def hold_patch(want: CheckAnswer) -> dict[str, object]:
    """Deactivate a Workload for a hold (Kueue evicts it and releases its quota)."""
    until = iso(want.held_until) if want.held_until is not None else ""
    return {"metadata": {"annotations": {c.HELD_UNTIL: until, c.HOLD_REASON: want.message}},
            "spec": {"active": False}}


def release_patch() -> dict[str, object]:
    """Activate a Workload the operator held: Kueue queues it again and asks the check once it has quota."""
    return {"metadata": {"annotations": {c.HELD_UNTIL: None, c.HOLD_REASON: None}}, "spec": {"active": True}}


def same(current: CheckState | None, want: CheckAnswer) -> bool:
    """True when the Workload already shows this answer (then nothing is written)."""
    if current is None:
        return False
    return current.state == want.state and current.message == want.message


def check_patch(want: CheckAnswer, now: float, name: str = c.ADMISSION_CHECK_NAME) -> dict[str, object]:
    """The server-side apply body of the Workload's status for our check alone (the list is a map by name)."""
    entry: dict[str, object] = {"name": name, "state": want.state, "message": want.message,
                                "lastTransitionTime": iso(now)}
    if want.requeue_after_s is not None:
        entry["requeueAfterSeconds"] = want.requeue_after_s
    return {"apiVersion": c.KUEUE_API, "kind": "Workload", "status": {"admissionChecks": [entry]}}


def active_patch(generation: int, now: float) -> dict[str, object]:
    """The AdmissionCheck's ``Active`` condition: Kueue keeps a ClusterQueue inactive without it."""
    return {"apiVersion": c.KUEUE_API, "kind": "AdmissionCheck", "status": {"conditions": [{
        "type": c.ACTIVE_CONDITION, "status": "True", "reason": "Active",
        "message": "the b00t operator answers this check (budgets, GPU epochs, Job dependencies)",
        "lastTransitionTime": iso(now), "observedGeneration": generation}]}}
