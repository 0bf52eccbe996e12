"""The reconcile loop without a framework: a store of observed objects, a queue of keys, decisions.

The framework face (``operator.face``) feeds watch events into ``Store`` and calls ``Reconciler.run_due``
from one worker thread; everything here is plain Python over the views of ``observed``, the budget
book and a ``Kube`` that writes. Every decision reads only the store, the clock and the ledger, so a
restarted operator (which lists everything first) decides exactly what the old one would have.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from b00t_pulumi.errors import B00tError
from b00t_pulumi.operator import contract as c
from b00t_pulumi.operator.alerts import AlertSender
from b00t_pulumi.operator.book import Budget, BudgetBook
from b00t_pulumi.operator.holds import Hold, Outcome, Reject, Release, Wait, waits
from b00t_pulumi.operator.kueue import active_patch, answer, check_patch, hold_patch, release_patch, same
from b00t_pulumi.operator.observed import (
    AdmissionCheckView,
    BudgetView,
    DeploymentView,
    JobView,
    PodView,
    Ref,
    WorkloadView,
)
from b00t_pulumi.operator.status import changed, thresholds_crossed

log = logging.getLogger("b00t_pulumi.operator")

Kind = Literal["job", "workload", "deployment", "budget", "check"]
KINDS: tuple[Kind, ...] = ("check", "budget", "deployment", "job", "workload")
_UID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")  # the operator's own ids
HOLD_REASON = c.HOLD_REASON  # on a held Job outside Kueue or a held Workload: why it waits


@dataclass(frozen=True, order=True)
class Key:
    kind: Kind
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


class Kube(Protocol):
    """What the reconciler reads live and writes (``operator.kube.KubeClient`` against a real cluster)."""

    def job_pods(self, namespace: str, job_uid: str) -> list[dict[str, Any]]: ...
    def apply_workload_check(self, namespace: str, name: str, body: dict[str, Any]) -> None: ...
    def patch_workload(self, namespace: str, name: str, patch: dict[str, Any]) -> None: ...
    def apply_admission_check(self, name: str, body: dict[str, Any]) -> None: ...
    def patch_job(self, namespace: str, name: str, patch: dict[str, Any]) -> None: ...
    def scale_deployment(self, namespace: str, name: str, replicas: int) -> None: ...
    def patch_budget_status(self, namespace: str, name: str, status: dict[str, Any]) -> None: ...
    def read_budget(self, namespace: str, name: str) -> dict[str, Any] | None: ...


class Store:
    """The latest observed version of each object the operator cares about (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.jobs: dict[Ref, JobView] = {}
        self.workloads: dict[Ref, WorkloadView] = {}
        self.deployments: dict[Ref, DeploymentView] = {}
        self.budgets: dict[Ref, BudgetView] = {}
        self.checks: dict[str, AdmissionCheckView] = {}
        self._versions: dict[tuple[str, str, str], int] = {}
        self.synced = False  # True once every kind has been listed whole (orphan sweeps wait for it)

    def _fresh(self, kind: str, obj: dict[str, Any]) -> bool:
        """Drop an event older than what is stored (a list and a watch may deliver out of order)."""
        meta = obj.get("metadata") or {}
        k = (kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        try:
            rv = int(meta.get("resourceVersion") or 0)
        except ValueError:
            return True
        if rv and rv < self._versions.get(k, 0):
            return False
        self._versions[k] = rv
        return True

    def upsert(self, kind: Kind, obj: dict[str, Any]) -> list[Key]:
        """Store an object; the keys to reconcile because of it."""
        with self._lock:
            if not self._fresh(kind, obj):
                return []
            if kind == "job":
                job = JobView.from_dict(obj)
                old = self.jobs.get(job.ref)
                self.jobs[job.ref] = job
                keys = [Key("job", job.namespace, job.name)]
                if old is None or old.succeeded != job.succeeded or old.failed != job.failed:
                    keys += self._dependents(job)
                keys += [Key("workload", w.namespace, w.name) for w in self.workloads.values()
                         if w.namespace == job.namespace and w.job_name == job.name]
                return keys
            if kind == "workload":
                wl = WorkloadView.from_dict(obj)
                self.workloads[wl.ref] = wl
                keys = [Key("workload", wl.namespace, wl.name)]
                if wl.job_name:
                    keys.append(Key("job", wl.namespace, wl.job_name))
                return keys
            if kind == "deployment":
                dep = DeploymentView.from_dict(obj)
                self.deployments[dep.ref] = dep
                return [Key("deployment", dep.namespace, dep.name)]
            if kind == "budget":
                bv = BudgetView.from_dict(obj)
                self.budgets[bv.ref] = bv
                return [Key("budget", bv.namespace, bv.name), *self._of_budget(bv.ref)]
            ac = AdmissionCheckView.from_dict(obj)
            self.checks[ac.name] = ac
            return [Key("check", "", ac.name)]

    def delete(self, kind: Kind, obj: dict[str, Any]) -> list[Key]:
        meta = obj.get("metadata") or {}
        ref = Ref(str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        with self._lock:
            self._versions.pop((kind, ref.namespace, ref.name), None)
            self._table(kind).pop(ref.name if kind == "check" else ref, None)
        return []

    def _dependents(self, job: JobView) -> list[Key]:
        out: list[Key] = []
        for other in self.jobs.values():
            if other.namespace == job.namespace and job.name in other.after_jobs:
                out.append(Key("job", other.namespace, other.name))
                out += [Key("workload", w.namespace, w.name) for w in self.workloads.values()
                        if w.namespace == other.namespace and w.job_name == other.name]
        return out

    def _of_budget(self, ref: Ref) -> list[Key]:
        out = [Key("job", j.namespace, j.name) for j in self.jobs.values() if j.budget == ref and not j.finished]
        out += [Key("deployment", d.namespace, d.name) for d in self.deployments.values() if d.budget == ref]
        return out

    # -- reads (snapshots; views are immutable) ---------------------------------------------------
    def job(self, ns: str, name: str) -> JobView | None:
        with self._lock:
            return self.jobs.get(Ref(ns, name))

    def jobs_in(self, ns: str) -> dict[str, JobView]:
        with self._lock:
            return {j.name: j for j in self.jobs.values() if j.namespace == ns}

    def workload_of(self, job: JobView) -> WorkloadView | None:
        with self._lock:
            return next((w for w in self.workloads.values()
                         if w.namespace == job.namespace and (w.job_uid == job.uid or
                                                              (w.job_uid is None and w.job_name == job.name))),
                        None)

    def snapshot(self, kind: Kind) -> list[Any]:
        with self._lock:
            return list(self._table(kind).values())

    def get(self, key: Key) -> Any:
        with self._lock:
            return self._table(key.kind).get(key.name if key.kind == "check" else Ref(key.namespace, key.name))

    def _table(self, kind: Kind) -> dict[Any, Any]:
        tables: dict[str, dict[Any, Any]] = {"job": self.jobs, "workload": self.workloads,
                                             "deployment": self.deployments, "budget": self.budgets,
                                             "check": self.checks}
        return tables[kind]


@dataclass
class Options:
    pending_max_s: float = 5.0  # holds shorter than this stay Pending; longer ones are Retry
    poll_s: int = 10  # a hold nothing wakes (a BudgetConstraint not there yet, an error) is looked at again
    status_refresh_s: float = 10.0  # budgets are re-read this often (Pulumi gates write the ledger too)
    sweep_s: float = 60.0  # finished Jobs and orphaned reservations are re-checked this often


@dataclass
class Counters:
    settled: int = 0
    released: int = 0
    admitted: int = 0
    errors: int = 0
    settle_times: list[float] | None = None


class Reconciler:
    def __init__(self, store: Store, kube: Kube, book: BudgetBook, *, alerts: AlertSender | None = None,
                 options: Options | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.kube = kube
        self.book = book
        self.alerts = alerts
        self.options = options or Options()
        self.clock = clock
        self.counters = Counters()
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, Key]] = []
        self._due: dict[Key, float] = {}
        self._seq = itertools.count()
        self._wake = threading.Event()
        self._last_sweep: dict[Ref, float] = {}
        self._reactivated: dict[str, float] = {}

    # -- queue -------------------------------------------------------------------------------
    def enqueue(self, keys: Iterable[Key], at: float | None = None) -> None:
        when = self.clock() if at is None else at
        with self._lock:
            for key in keys:
                old = self._due.get(key)
                if old is not None and old <= when:
                    continue
                self._due[key] = when
                heapq.heappush(self._heap, (when, next(self._seq), key))
        self._wake.set()

    def next_due(self) -> float | None:
        with self._lock:
            while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
                heapq.heappop(self._heap)  # superseded by an earlier entry for the same key
            return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[Key]:
        """Keys due at ``now``, in the order they must be decided: by kind, then by plan order."""
        out: list[Key] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                when, _, key = heapq.heappop(self._heap)
                if self._due.get(key) == when:
                    del self._due[key]
                    out.append(key)
        return sorted(out, key=self._order)

    def _order(self, key: Key) -> tuple[int, tuple[float, float, str]]:
        job: JobView | None = None
        if key.kind == "job":
            job = self.store.job(key.namespace, key.name)
        elif key.kind == "workload":
            wl = self.store.get(key)
            job = self.store.job(key.namespace, wl.job_name) if wl and wl.job_name else None
        return (KINDS.index(key.kind), job.plan_order if job else (0.0, 0.0, key.name))

    def wait(self, timeout: float) -> None:
        """Block until a key is enqueued or ``timeout`` seconds pass (for a thread-based runner)."""
        self._wake.wait(timeout)
        self._wake.clear()

    def run_due(self) -> int:
        """Reconcile every due key; the number reconciled."""
        now = self.clock()
        keys = self.pop_due(now)
        for key in keys:
            try:
                self.reconcile(key, self.clock())
            except B00tError as exc:
                self.counters.errors += 1
                log.warning("%s: %s", key, exc)
                self.enqueue([key], self.clock() + self.options.poll_s)
            except Exception as exc:  # an API error: try again soon, never stop the loop
                self.counters.errors += 1
                log.warning("%s: %s: %s", key, type(exc).__name__, str(exc)[:500])
                self.enqueue([key], self.clock() + 2.0)
        return len(keys)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.run_due()
            nxt = self.next_due()
            self.wait(0.5 if nxt is None else max(0.0, min(0.5, nxt - self.clock())))

    # -- reconcile -------------------------------------------------------------------------------
    def reconcile(self, key: Key, now: float) -> None:
        obj = self.store.get(key)
        if obj is None:
            return
        if key.kind == "check":
            self._check(obj, now)
        elif key.kind == "workload":
            self._workload(obj, now)
        elif key.kind == "job":
            self._job(obj, now)
        elif key.kind == "deployment":
            self._deployment(obj, now)
        else:
            self._budget(obj, now)

    def _budget_of(self, ref: Ref | None) -> Budget | None:
        if ref is None:
            return None
        view = self.store.get(Key("budget", ref.namespace, ref.name))
        if view is None:  # not watched yet (its CRD came after the operator started): read it live
            obj = self.kube.read_budget(ref.namespace, ref.name)
            if obj is not None:
                self.enqueue(self.store.upsert("budget", obj))
                view = self.store.get(Key("budget", ref.namespace, ref.name))
        return Budget.of(view) if view is not None else None

    def decide(self, job: JobView, reservation_id: str, now: float) -> Outcome:
        """Release, Hold or Reject a Job that is about to start (counting its budget when released)."""
        ws = waits(job, now, self.store.jobs_in(job.namespace))
        if ws:
            return Hold(tuple(ws))
        if job.budget is None:
            return Release("b00t: no epoch, budget or dependency holds it")
        budget = self._budget_of(job.budget)
        if budget is None:
            return Hold((Wait("budget", f"BudgetConstraint {job.budget} does not exist (yet)",
                              now + self.options.poll_s),))
        return self.book.admit(budget, job, reservation_id, now)

    def _check(self, ac: AdmissionCheckView, now: float) -> None:
        if ac.controller == c.CONTROLLER_NAME and not ac.active:
            self.kube.apply_admission_check(ac.name, active_patch(ac.generation, now))
            log.info("admission check %s: Active", ac.name)

    def _workload(self, wl: WorkloadView, now: float) -> None:
        if wl.check is None or wl.finished or wl.admitted:
            return  # not ours, or done
        if wl.held_by_us:
            self._held_workload(wl, now)
            return
        if not wl.active or not wl.quota_reserved:
            return  # inactive (Rejected, or a user's), or Kueue has not reserved quota yet: it asks us then
        if wl.check.state in (c.READY, c.REJECTED, c.RETRY):
            return  # answered (a Retry is Kueue's to act on)
        if wl.job_name is None:
            # not a Job's (the pods of a queued Deployment): no gate applies, its budget is counted per window
            outcome: Outcome = Release("b00t: no epoch, budget or dependency holds it")
            job_name = wl.owner_kind or "?"
        else:
            job = self.store.job(wl.namespace, wl.job_name)
            if job is None:  # the Workload came before its Job reached the store
                self.enqueue([Key("workload", wl.namespace, wl.name)], now + 1.0)
                return
            outcome = self.decide(job, wl.uid, now)
            job_name = job.name
        ans = answer(outcome, now, pending_max_s=self.options.pending_max_s)
        if not same(wl.check, ans):
            self.kube.apply_workload_check(wl.namespace, wl.name, check_patch(ans, now))
            log.info("workload %s/%s (%s): %s: %s", wl.namespace, wl.name, job_name, ans.state, ans.message)
        if ans.deactivate:
            self.kube.patch_workload(wl.namespace, wl.name, hold_patch(ans))
        if ans.state == c.READY:
            self.counters.admitted += 1
            owner = self.store.job(wl.namespace, wl.job_name) if wl.job_name else None
            if owner is not None and owner.budget:
                self._budget_soon(owner.budget)
        wake = ans.wake_at if ans.wake_at is not None else ans.held_until
        if wake is not None:
            self.enqueue([Key("workload", wl.namespace, wl.name)], wake)

    def _held_workload(self, wl: WorkloadView, now: float) -> None:
        """A Workload the operator took out of the queue: back in once its hold is over."""
        key = Key("workload", wl.namespace, wl.name)
        until = wl.held_until
        if until is not None and until > now:
            self.enqueue([key], until)
            return
        job = self.store.job(wl.namespace, wl.job_name) if wl.job_name else None
        if job is not None:
            ws = waits(job, now, self.store.jobs_in(job.namespace))
            if ws:  # an epoch or deferral still ahead, or a Job it depends on: wait (events wake dependents)
                end = Hold(tuple(ws)).until
                if end is not None:
                    self.enqueue([key], end)
                return
        # its time has come (the budget is asked again once Kueue has reserved quota for it)
        if now - self._reactivated.get(wl.uid, -1e9) < 5.0:
            return  # asked a moment ago; the store has not seen it yet
        self._reactivated[wl.uid] = now
        self.kube.patch_workload(wl.namespace, wl.name, release_patch())
        self.counters.released += 1
        log.info("workload %s/%s (%s): back in the queue", wl.namespace, wl.name, wl.job_name or wl.owner_kind)

    def _budget_soon(self, ref: Ref) -> None:
        self.enqueue([Key("budget", ref.namespace, ref.name)], self.clock() + 0.2)

    def _job(self, job: JobView, now: float) -> None:
        if job.finished:
            self._settle(job, now)
            return
        held = job.queue is None and job.suspend and bool(
            job.annotation(c.SUSPENDED_UNTIL) or job.annotation(c.DEFERRED_UNTIL) or job.after_jobs)
        if not held:
            return
        outcome = self.decide(job, job.uid, now)
        if isinstance(outcome, Release):
            self.kube.patch_job(job.namespace, job.name,
                                {"metadata": {"annotations": {HOLD_REASON: None}}, "spec": {"suspend": False}})
            self.counters.released += 1
            log.info("job %s released: %s", job.ref, outcome.message)
            if job.budget:
                self._budget_soon(job.budget)
            return
        message = outcome.message
        if job.annotations.get(HOLD_REASON) != message:
            self.kube.patch_job(job.namespace, job.name, {"metadata": {"annotations": {HOLD_REASON: message}}})
        if isinstance(outcome, Hold):
            until = outcome.until
            if until is not None:
                self.enqueue([Key("job", job.namespace, job.name)], until)
            elif any(w.kind == "budget" for w in outcome.waits):
                self.enqueue([Key("job", job.namespace, job.name)], now + self.options.poll_s)

    def _settle(self, job: JobView, now: float) -> None:
        budget = self._budget_of(job.budget)
        if budget is None:
            return
        wl = self.store.workload_of(job)
        ids = [i for i in (wl.uid if wl else None, job.uid) if i]
        def pods() -> list[PodView]:
            return [PodView.from_dict(p, job.resources.gpu_type) for p in self.kube.job_pods(job.namespace, job.uid)]

        started = time.perf_counter()
        actual = self.book.settle(budget, job, pods, ids, now)
        if actual is not None:
            self.counters.settled += 1
            if self.counters.settle_times is not None:
                self.counters.settle_times.append(time.perf_counter() - started)
            log.info("job %s settled: %s", job.ref, actual.describe())
            self._budget_soon(budget.view.ref)

    def _deployment(self, dep: DeploymentView, now: float) -> None:
        budget = self._budget_of(dep.budget)
        if budget is None:
            return
        key = Key("deployment", dep.namespace, dep.name)
        if dep.held:
            until = dep.deferred_until
            if until is not None and until > now:
                self.enqueue([key], until)
                return
            outcome = self.book.admit_deployment(budget, dep, now)
            if isinstance(outcome, Release):
                assert dep.planned_replicas is not None
                self.kube.scale_deployment(dep.namespace, dep.name, dep.planned_replicas)
                log.info("deployment %s released: %s", dep.ref, outcome.message)
                self._budget_soon(budget.view.ref)
            elif isinstance(outcome, Hold) and outcome.until is not None:
                self.enqueue([key], outcome.until)
            elif isinstance(outcome, Reject):
                log.info("deployment %s stays at 0 replicas: %s", dep.ref, outcome.message)
            return
        if dep.running and self.book.accrue(budget, dep, now) is not None:
            self._budget_soon(budget.view.ref)
        self.enqueue([key], budget.window(now).end.timestamp())  # count it again in the next window

    def _budget(self, view: BudgetView, now: float) -> None:
        live = self.kube.read_budget(view.namespace, view.name)  # a spec change is seen even unwatched
        if live is None:
            return
        self.store.upsert("budget", live)
        view = self.store.get(Key("budget", view.namespace, view.name)) or view
        budget = Budget.of(view)
        window = budget.window(now)
        if now - self._last_sweep.get(view.ref, 0.0) >= self.options.sweep_s:
            self._last_sweep[view.ref] = now
            self._sweep(budget, now)
        status = self.book.status(budget, now)
        if changed(view.status, status):
            self.kube.patch_budget_status(view.namespace, view.name, status)
        if self.alerts is not None and view.spec.get("webhookSecretRef"):
            spend = self.book.ledger.spend(budget.id, window.start, budget.currency)
            for t in thresholds_crossed(spend, budget.limit, budget.threshold):
                self.alerts.submit(budget, window, t, spend)
        key = Key("budget", view.namespace, view.name)
        self.enqueue([key], min(window.end.timestamp(), now + self.options.status_refresh_s))

    def _sweep(self, budget: Budget, now: float) -> None:
        """Finished Jobs settled again (idempotent: releases estimates a later deploy made for them);
        reservations of Jobs and Workloads that no longer exist are kept as spent (they ran)."""
        for job in self.store.snapshot("job"):
            if job.finished and job.budget == budget.view.ref:
                self._settle(job, now)
        if not self.store.synced:
            return
        uids = {j.uid for j in self.store.snapshot("job")} | {w.uid for w in self.store.snapshot("workload")}
        window = budget.window(now)
        for r in self.book.ledger.records(budget.id, window.start):
            if r.state != "reserved" or not _UID.match(r.id) or r.id in uids:
                continue
            self.book.ledger.mark_spent(r.id)
            log.info("reservation %s of %s: its Job is gone before it was settled; kept as spent at %s",
                     r.id, budget.id, r.amount)
