"""The operator's pure decisions: views, holds, Kueue answers, actual spend, budget status."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from b00t_pulumi.budget.ledger.base import Reservation
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.window import Window
from b00t_pulumi.operator import contract as c
from b00t_pulumi.operator.holds import Hold, Reject, Release, Wait, waits
from b00t_pulumi.operator.kueue import answer, check_patch, hold_patch, release_patch, same
from b00t_pulumi.operator.observed import (
    CheckState,
    DeploymentView,
    JobView,
    PodView,
    Ref,
    Resources,
    WorkloadView,
    budget_ref,
    parse_time,
)
from b00t_pulumi.operator.spend import actual_cost
from b00t_pulumi.operator.status import budget_status, thresholds_crossed
from tests.operator import objects as o

T0 = o.T0


def test_budget_refs() -> None:
    assert budget_ref("b", "ai") == Ref("ai", "b")
    assert budget_ref("other/b", "ai") == Ref("other", "b")
    assert budget_ref("", "ai") is None


def test_job_view_reads_the_contract_annotations() -> None:
    j = JobView.from_dict(o.job("x", queue="q", suspended_until=T0 + 60, after="a, b,,a", gpus=2,
                                gpu_type="nvidia-a100"))
    assert j.queue == "q" and j.budget == Ref("ai", "b") and j.estimated_cost == Decimal("2.50")
    assert j.suspended_until == T0 + 60 and j.deferred_until is None
    assert j.after_jobs == ("a", "b")
    assert j.resources == Resources(2, "nvidia-a100", Decimal(1), Decimal(2**30))
    done = JobView.from_dict(o.finished(o.job("x"), T0, T0 + 30, failed=True))
    assert done.failed and done.finished and not done.succeeded and done.end_time == T0 + 30


def test_workload_view_finds_its_job_and_our_check() -> None:
    jd = o.job("x", queue="q")
    w = WorkloadView.from_dict(o.workload(jd, state=c.RETRY))
    assert w.job_name == "x" and w.job_uid == jd["metadata"]["uid"] and w.quota_reserved and not w.admitted
    assert w.check is not None and w.check.state == c.RETRY
    other = WorkloadView.from_dict(o.workload(jd, checks=[{"name": "provisioning", "state": "Pending"}]))
    assert other.check is None


def test_deferred_deployment_is_held_until_given_its_replicas() -> None:
    d = DeploymentView.from_dict(o.deployment("api", replicas=0, deferred_until=T0, planned=2))
    assert d.held and not d.running and d.planned_replicas == 2 and d.daily_cost == Decimal("4.00")
    assert not DeploymentView.from_dict(o.deployment("api", replicas=2, deferred_until=T0, planned=2)).held


def test_waits_lists_epoch_deferral_and_dependencies() -> None:
    jobs = {n: JobView.from_dict(d) for n, d in {
        "done": o.finished(o.job("done"), T0, T0 + 5),
        "broken": o.finished(o.job("broken"), T0, T0 + 5, failed=True),
        "running": o.job("running"),
    }.items()}
    j = JobView.from_dict(o.job("x", suspended_until=T0 + 100, deferred_until=T0 + 50,
                                after="done,running,broken,missing", ann={c.PLANNED_NODE: "gpu-0"}))
    ws = waits(j, T0, jobs)
    assert [w.kind for w in ws] == ["epoch", "deferred", "dependency", "dependency-failed", "dependency"]
    assert "planned start 2027-01-15T08:01:40Z on node gpu-0" in ws[0].message
    assert Hold(tuple(ws)).until is None  # a dependency ends on an event, not at a time
    assert Hold(tuple(ws[:2])).until == T0 + 100
    assert waits(j, T0 + 100, {"done": jobs["done"], "running": jobs["done"], "broken": jobs["done"],
                               "missing": jobs["done"]}) == []


def test_kueue_answers() -> None:
    ready = answer(Release("ok"), T0)
    assert (ready.state, ready.requeue_after_s) == (c.READY, None)
    assert answer(Reject("no"), T0).state == c.REJECTED
    soon = answer(Hold((Wait("epoch", "epoch", T0 + 3),)), T0 + 0.4)
    assert soon.state == c.PENDING and soon.wake_at == T0 + 3  # short: keep the quota, wake at the time
    later = answer(Hold((Wait("epoch", "epoch", T0 + 90.2),)), T0 + 0.9)
    # longer: out of the queue (Kueue releases the quota) until the second the hold ends, never before
    assert later.state == c.PENDING and later.deactivate and later.held_until == T0 + 91
    assert "out of the queue until 2027-01-15T08:01:31Z" in later.message
    dep = answer(Hold((Wait("dependency", "waits for Job ai/a"),)), T0)
    assert dep.state == c.PENDING and dep.deactivate and dep.held_until is None
    assert hold_patch(later) == {"metadata": {"annotations": {c.HELD_UNTIL: "2027-01-15T08:01:31Z",
                                                              c.HOLD_REASON: later.message}},
                                 "spec": {"active": False}}
    assert hold_patch(dep)["metadata"] == {"annotations": {c.HELD_UNTIL: "", c.HOLD_REASON: dep.message}}
    assert release_patch()["spec"] == {"active": True}
    patch = check_patch(soon, T0 + 0.9)
    entry = patch["status"]["admissionChecks"][0]  # type: ignore[index]
    assert entry == {"name": c.ADMISSION_CHECK_NAME, "state": c.PENDING, "message": soon.message,
                     "lastTransitionTime": "2027-01-15T08:00:00Z"}
    assert same(CheckState(c.ADMISSION_CHECK_NAME, c.PENDING, later.message), later)
    assert not same(CheckState(c.ADMISSION_CHECK_NAME, c.PENDING, ""), later)


def test_actual_cost_from_kwok_pod_times() -> None:
    jd = o.job("x", gpus=2, gpu_type="nvidia-a100")
    job = JobView.from_dict(o.finished(jd, T0, T0 + 100, failed=False))
    pods = [PodView.from_dict(o.pod(jd, "p1", T0 + 2, T0 + 40), "nvidia-a100"),  # a failed attempt counts
            PodView.from_dict(o.pod(jd, "p2", T0 + 41, T0 + 100), "nvidia-a100"),
            PodView.from_dict(o.pod(jd, "p3", None, None, phase="Pending"), "nvidia-a100")]
    assert pods[0].start == T0 + 2 and pods[0].end == T0 + 40 and pods[0].terminal

    def price(res: Resources, seconds: int) -> Money:
        assert res.gpus == 2 and res.gpu_type == "nvidia-a100"
        return Money.of("0.50", "USD") * res.gpus * (Decimal(seconds) / 3600)

    a = actual_cost(job, pods, flat=None, price=price, currency="USD")
    assert a.basis == "metered" and a.seconds == 38 + 59
    assert a.amount == Money.of((Decimal("1.00") * 97 / 3600).quantize(Decimal("0.000001")), "USD")
    assert actual_cost(job, pods, flat=Money.of("1.25"), price=price, currency="USD").amount == Money.of("1.25")
    gone = actual_cost(job, [], flat=None, price=price, currency="USD")  # pods deleted: the Job's own times
    assert gone.seconds == 100


def _record(rid: str, amount: str, state: str = "spent") -> Reservation:
    now = datetime.fromtimestamp(T0, UTC)
    return Reservation(rid, "b", now, Money.of(amount), state, now, now)  # type: ignore[arg-type]


def test_budget_status_in_the_api_definition() -> None:
    w = Window(datetime.fromtimestamp(T0, UTC), datetime.fromtimestamp(T0 + 60, UTC))
    recs = [_record(c.actual_id("u1"), "3.00"), _record("u2", "2.00", "reserved"), _record("x", "1", "released")]
    spec = {"dailyLimit": "10.00", "currency": "USD", "alertThreshold": 0.5}
    st = budget_status(spec=spec, limit=Money.of("10.00"), window=w, spend=Money.of("5.00"), records=recs,
                       generation=3, now=T0 + 1)
    assert st["currentSpend"] == "5.00" and st["reserved"] == "2.00" and st["remaining"] == "5.00"
    assert st["jobsRun"] == 2 and st["observedGeneration"] == 3 and st["lastReset"] == "2027-01-15T08:00:00Z"
    assert (st["windowStart"], st["windowEnd"]) == ("2027-01-15T08:00:00Z", "2027-01-15T08:01:00Z")
    conds = {x["type"]: x for x in st["conditions"]}
    assert conds["WithinBudget"]["status"] == "True" and conds["AlertThresholdReached"]["status"] == "True"
    assert conds["Exceeded"]["status"] == "False"
    later = budget_status(spec=spec, limit=Money.of("10.00"), window=w, spend=Money.of("12.00"), records=recs,
                          generation=3, now=T0 + 30, previous=st)
    conds2 = {x["type"]: x for x in later["conditions"]}
    assert later["remaining"] == "-2.00" and conds2["Exceeded"]["status"] == "True"
    assert conds2["Exceeded"]["lastTransitionTime"] == "2027-01-15T08:00:30Z"
    assert conds2["AlertThresholdReached"]["lastTransitionTime"] == "2027-01-15T08:00:01Z"  # unchanged: kept
    import jsonschema

    from b00t_pulumi.budget import api
    jsonschema.validate({**later, "conditions": later["conditions"]}, api.STATUS_SCHEMA)  # what the CRD serves
    assert set(later) <= set(api.STATUS_SCHEMA["properties"])  # nothing the API server would prune
    assert thresholds_crossed(Money.of("12"), Money.of("10"), Decimal("0.5")) == [Decimal("0.5"), Decimal(1)]
    assert thresholds_crossed(Money.of("4"), Money.of("10"), Decimal("0.5")) == []


def test_times() -> None:
    assert parse_time("2027-01-15T08:00:00Z") == T0
    assert parse_time("") is None and parse_time("soon") is None
