"""Why a Job may not start yet (pure): its epoch, its budget deferral, the Jobs it depends on.

``waits(job, now, jobs)`` lists what holds it now; an empty list means only its budget is left to
ask. ``Outcome`` is the whole decision once the budget has answered: ``Release``, ``Hold`` (until a
time, or until something else happens) or ``Reject``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from b00t_pulumi.operator import contract as c
from b00t_pulumi.operator.observed import JobView, iso

WaitKind = Literal["epoch", "deferred", "dependency", "dependency-failed", "budget"]


@dataclass(frozen=True)
class Wait:
    """One reason to wait; ``until`` is when it ends, None when it ends on an event (a Job succeeding)."""

    kind: WaitKind
    message: str
    until: float | None = None


def waits(job: JobView, now: float, jobs: Mapping[str, JobView]) -> list[Wait]:
    """What holds ``job`` at ``now``; ``jobs`` are the Jobs of its namespace by name."""
    out: list[Wait] = []
    start = job.suspended_until
    if start is not None and start > now:
        node = job.annotation(c.PLANNED_NODE)
        where = f" on node {node}" if node else ""
        out.append(Wait("epoch", f"waits for its GPU epoch: planned start {iso(start)}{where}", start))
    deferred = job.deferred_until
    if deferred is not None and deferred > now:
        out.append(Wait("deferred", f"deferred by its budget until {iso(deferred)}", deferred))
    for name in job.after_jobs:
        dep = jobs.get(name)
        if dep is None:
            out.append(Wait("dependency", f"waits for Job {job.namespace}/{name}, which does not exist yet"))
        elif dep.failed:
            out.append(Wait("dependency-failed",
                            f"Job {job.namespace}/{name} failed: this Job starts only after it succeeds"))
        elif not dep.succeeded:
            out.append(Wait("dependency", f"waits for Job {job.namespace}/{name} to succeed"))
    return out


@dataclass(frozen=True)
class Release:
    """Every hold is clear and the budget (if any) has counted it."""

    message: str


@dataclass(frozen=True)
class Hold:
    waits: tuple[Wait, ...]

    @property
    def until(self) -> float | None:
        """When every hold has ended: the latest end, None when any ends on an event."""
        ends = [w.until for w in self.waits]
        if not ends or any(e is None for e in ends):
            return None
        return max(e for e in ends if e is not None)

    @property
    def message(self) -> str:
        text = "; ".join(w.message for w in self.waits)
        return f"b00t: {text}"


@dataclass(frozen=True)
class Reject:
    """The budget says ``fail``: this Job does not run."""

    message: str


Outcome = Release | Hold | Reject


def hold(ws: Sequence[Wait]) -> Hold:
    return Hold(tuple(ws))
