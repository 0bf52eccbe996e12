"""The operator's side of the budget ledger: admit, settle, accrue and report (no framework).

Every write is one idempotent ledger call, so a crash between two of them is repaired by doing the
same again after a restart:

- ``admit``: a Job about to start counts its estimate in the current window, under the id the
  caller gives (a Workload's UID, or the Job's UID for a Job outside Kueue), unless the Pulumi gate
  already counted it in this window at deploy (``<constraint>:job/<name>:<window>``). An estimate the
  gate made in an earlier window, for a Job that did not run then, is released once the new one is
  counted (never before: spend is never under-counted, for a moment it may be over).
- ``settle``: a finished Job's actual cost is recorded once, as ``actual:<job uid>`` (spent), in the
  window its estimate was counted in; then the estimates are released.
- ``accrue``: a running Deployment counts its daily cost in every window it runs in, under the
  gate's id for that window (so a ``pulumi up`` in the same window counts nothing twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from b00t_pulumi.budget.controller import BudgetController
from b00t_pulumi.budget.cost import run_cost
from b00t_pulumi.budget.ledger.base import Ledger, Reservation
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.prices import price_list
from b00t_pulumi.budget.window import Window, current_window
from b00t_pulumi.datum.orchestration import BudgetConstraint
from b00t_pulumi.errors import B00tError
from b00t_pulumi.operator import contract as c
from b00t_pulumi.operator.holds import Hold, Outcome, Reject, Release, Wait
from b00t_pulumi.operator.observed import BudgetView, DeploymentView, JobView, PodView, Resources, iso
from b00t_pulumi.operator.spend import Actual, RunPrice, actual_cost
from b00t_pulumi.operator.status import budget_status
from b00t_pulumi.settings.model import Prices

log = logging.getLogger("b00t_pulumi.operator")


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def constraint_of(budget: BudgetView) -> BudgetConstraint:
    """The budget model of a BudgetConstraint's spec (the planner writes the spec from the same model).

    The webhook is left out: alerts are sent by the operator's alert sender, off the reconcile path."""
    s = budget.spec
    data: dict[str, Any] = {
        "daily_limit": s.get("dailyLimit"),
        "currency": s.get("currency"),
        "cost_per_job": s.get("costPerJob"),
        "alert_threshold": s.get("alertThreshold"),
        "on_budget_exceeded": s.get("onBudgetExceeded"),
        "reset_schedule": s.get("resetSchedule"),
        "timezone": s.get("timezone"),
    }  # absent fields take the model's defaults
    try:
        return BudgetConstraint.model_validate({k: v for k, v in data.items() if v is not None})
    except ValueError as exc:
        raise B00tError(f"BudgetConstraint {budget.ref}: invalid spec: {exc}") from None


@dataclass(frozen=True)
class Budget:
    """A BudgetConstraint as the ledger knows it: id (its name, as the gates use), model, limit."""

    view: BudgetView
    constraint: BudgetConstraint

    @property
    def id(self) -> str:
        return self.view.name

    @property
    def currency(self) -> str:
        return self.constraint.currency or "USD"

    @property
    def limit(self) -> Money:
        return Money(self.constraint.daily_limit, self.currency)

    @property
    def flat(self) -> Money | None:
        cpj = self.constraint.cost_per_job
        return Money(cpj, self.currency) if cpj is not None else None

    @property
    def threshold(self) -> Decimal | None:
        t = self.constraint.alert_threshold
        return Decimal(str(t)) if t is not None else None

    def window(self, now: float) -> Window:
        return current_window(self.constraint.reset_schedule, self.constraint.timezone, _dt(now))

    @classmethod
    def of(cls, view: BudgetView) -> Budget:
        return cls(view, constraint_of(view))


class BudgetBook:
    def __init__(self, ledger: Ledger, prices: Prices, gpu_candidates: Iterable[str] = ()) -> None:
        """``gpu_candidates``: the GPU types a pod that names none may have run on, as the planner
        priced it (b00t:gpuInventory's types); the price list's types when none are given."""
        self.ledger = ledger
        self.prices = prices
        self.gpu_candidates = sorted(gpu_candidates) or sorted(prices.gpu_hour)
        self.controller = BudgetController(ledger)

    # -- prices (the one cost path: b00t_pulumi.budget.cost) ---------------------------------------
    def run_price(self, currency: str) -> RunPrice:
        """What one pod's run of these requests costs in ``currency`` (GPUs by type, CPU, memory)."""
        prices = price_list(self.prices, currency)

        def price(res: Resources, seconds: int) -> Money:
            if res.empty:
                return Money.zero(currency)
            return run_cost(res, prices=prices, pod_seconds=seconds, gpu_candidates=self.gpu_candidates)
        return price

    def _estimate(self, budget: Budget, job: JobView) -> Money:
        est = job.estimated_cost
        cur = job.annotation(c.BUDGET_CURRENCY) or budget.currency
        if est is None:
            if budget.flat is not None:
                return budget.flat
            raise B00tError(f"Job {job.ref} has no {c.ESTIMATED_COST} annotation and {budget.view.ref} "
                            "no costPerJob: it cannot be priced")
        if cur != budget.currency:
            raise B00tError(f"Job {job.ref} is priced in {cur} but {budget.view.ref} is in {budget.currency} "
                            "(b00t-pulumi does not convert currencies)")
        return Money(est, budget.currency)

    def _gate_estimates(self, budget: Budget, job: JobView, windows: Iterable[Window]) -> list[Reservation]:
        out: dict[str, Reservation] = {}
        for w in windows:
            r = self.ledger.get(c.gate_job_id(budget.id, job.name, w.key))
            if r is not None:
                out[r.id] = r
        return list(out.values())

    # -- decisions that write -----------------------------------------------------------------------
    def admit(self, budget: Budget, job: JobView, reservation_id: str, now: float) -> Outcome:
        """Count the Job's estimate before it starts: Release, Hold until the next window, or Reject."""
        window = budget.window(now)
        cost = self._estimate(budget, job)
        gate = self.ledger.get(c.gate_job_id(budget.id, job.name, window.key))
        if gate is not None and gate.counted:
            return Release(f"b00t: {budget.view.ref} counted {gate.amount} for it at deploy")
        d = self.controller.reserve(budget.id, budget.constraint, cost, reservation_id, now=_dt(now),
                                    currency=budget.currency)
        if d.kind == "rejected":
            return Reject(f"b00t: {budget.view.ref}: {cost} would bring the spend to {d.spend + cost} of "
                          f"{d.limit} in the window ending {iso(window.end.timestamp())}; onBudgetExceeded=fail")
        if not d.approved:
            return Hold((Wait("budget", f"{budget.view.ref} has {d.remaining} left of {d.limit}, it needs {cost}; "
                                        f"waits for the window reset at {iso(window.end.timestamp())}",
                              window.end.timestamp()),))
        older = [w for w in self._candidate_windows(budget, job, now) if w.key != window.key]
        for r in self._gate_estimates(budget, job, older):
            if r.state == "reserved":
                self.ledger.release(r.id)  # the gate counted it in a window it did not run in
        return Release(f"b00t: {budget.view.ref} reserved {cost} (spend {d.spend} of {d.limit})")

    def _candidate_windows(self, budget: Budget, job: JobView, now: float) -> list[Window]:
        times = [t for t in (job.created, job.start_time, job.end_time, now) if t]
        seen: dict[str, Window] = {}
        for t in times:
            w = budget.window(t)
            seen.setdefault(w.key, w)
        return list(seen.values())

    def settle(self, budget: Budget, job: JobView, pods: Callable[[], list[PodView]], reservation_ids: Iterable[str],
               now: float) -> Actual | None:
        """Record a finished Job's actual cost once; release what was reserved for it. None: already done.

        ``pods`` is called (an API read) only when the Job has not been settled yet."""
        aid = c.actual_id(job.uid)
        estimates: dict[str, Reservation] = {}
        for rid in reservation_ids:
            r = self.ledger.get(rid)
            if r is not None:
                estimates[r.id] = r
        for r in self._gate_estimates(budget, job, self._candidate_windows(budget, job, now)):
            estimates.setdefault(r.id, r)
        done = self.ledger.get(aid)
        actual: Actual | None = None
        if done is None:
            runs = pods() if budget.flat is None else []  # a flat price needs no pod times
            actual = actual_cost(job, runs, flat=budget.flat, price=self.run_price(budget.currency),
                                 currency=budget.currency)
            counted = sorted((r for r in estimates.values() if r.counted), key=lambda r: r.created_at)
            when = counted[0].window_start if counted else budget.window(job.start_time or job.end_time or now).start
            self.ledger.reserve(budget.id, when, aid, actual.amount, None)
            self.ledger.mark_spent(aid)
        elif done.state == "reserved":
            self.ledger.mark_spent(aid)  # a crash came between the two writes
        for r in estimates.values():
            if r.state == "reserved":
                self.ledger.release(r.id)
        return actual

    def accrue(self, budget: Budget, dep: DeploymentView, now: float) -> Reservation | None:
        """A running Deployment's daily cost in the current window (idempotent with the gate's)."""
        cost = dep.daily_cost
        if cost is None or not dep.running:
            return None
        window = budget.window(now)
        r = self.ledger.reserve(budget.id, window.start, c.gate_deployment_id(budget.id, dep.name, window.key),
                                Money(cost, budget.currency), None)
        return r.reservation

    def admit_deployment(self, budget: Budget, dep: DeploymentView, now: float) -> Outcome:
        """A deferred Deployment gets its replicas back when its daily cost fits the window."""
        cost = dep.daily_cost
        window = budget.window(now)
        if cost is None:
            return Release(f"b00t: {dep.ref} has no {c.ESTIMATED_DAILY_COST}: nothing to count")
        rid = c.gate_deployment_id(budget.id, dep.name, window.key)
        d = self.controller.reserve(budget.id, budget.constraint, Money(cost, budget.currency), rid,
                                    now=_dt(now), currency=budget.currency)
        if d.kind == "rejected":
            return Reject(f"b00t: {budget.view.ref}: a day of {dep.ref} ({cost}) is over the limit; "
                          "onBudgetExceeded=fail")
        if not d.approved:
            return Hold((Wait("budget", f"{budget.view.ref} has {d.remaining} left, {dep.ref} needs {cost} a day; "
                                        f"waits for the window reset at {iso(window.end.timestamp())}",
                              window.end.timestamp()),))
        return Release(f"b00t: {budget.view.ref} counted {cost} for a day of {dep.ref}")

    # -- status ---------------------------------------------------------------------------------
    def status(self, budget: Budget, now: float) -> dict[str, Any]:
        window = budget.window(now)
        spend = self.ledger.spend(budget.id, window.start, budget.currency)
        records = self.ledger.records(budget.id, window.start)
        return budget_status(spec=budget.view.spec, limit=budget.limit, window=window, spend=spend,
                             records=records, generation=budget.view.generation, now=now,
                             previous=budget.view.status)
