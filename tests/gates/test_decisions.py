"""apply_fields: the gates' decision on plain objects, the same rules the Pulumi face applies."""

from __future__ import annotations

from typing import Any

from b00t_pulumi.gates.decisions import apply_fields, gate_fields
from b00t_pulumi.plan.kueue import HELD_QUEUE
from b00t_pulumi.plan.labels import QUEUE_LABEL

UNTIL = "2026-11-23T00:00:00Z"


def job(*, queue: str | None = None, suspend: bool = False) -> dict[str, Any]:
    labels = {QUEUE_LABEL: queue} if queue else {}
    spec: dict[str, Any] = {"template": {"metadata": {}, "spec": {}}}
    if suspend:
        spec["suspend"] = True
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "labels": labels}, "spec": spec}


def decide(deferred: bool) -> Any:
    return gate_fields("j", epoch=False, budget=True, assignment=None, deferred={"j": UNTIL} if deferred else {})


def test_the_planners_hold_of_an_unqueued_job_stays_when_the_gates_let_it_run() -> None:
    # the planner suspends an unqueued Job that runs after other Jobs; the operator unsuspends it
    after = apply_fields(job(suspend=True), decide(deferred=False))
    assert after["spec"]["suspend"] is True
    assert apply_fields(job(), decide(deferred=False))["spec"]["suspend"] is False
    assert apply_fields(job(), decide(deferred=True))["spec"]["suspend"] is True


def test_a_queued_job_keeps_kueues_suspend_and_is_held_by_the_admission_check() -> None:
    for deferred in (False, True):
        out = apply_fields(job(queue="team"), decide(deferred))
        assert "suspend" not in out["spec"]  # Kueue's: it unsuspends on admission whoever set it
        assert out["metadata"]["labels"][QUEUE_LABEL] == "team"
        assert out["metadata"]["annotations"]["b00t.io/deferred-until"] == (UNTIL if deferred else "")


def test_without_the_operator_a_held_queued_job_joins_the_held_queue() -> None:
    held = apply_fields(job(queue="team"), decide(deferred=True), operator=False)
    assert held["metadata"]["labels"][QUEUE_LABEL] == HELD_QUEUE and "suspend" not in held["spec"]
    runs = apply_fields(job(queue="team"), decide(deferred=False), operator=False)
    assert runs["metadata"]["labels"][QUEUE_LABEL] == "team"


def test_a_job_the_epoch_plan_places_prefers_its_planned_node_and_keeps_its_other_affinity() -> None:
    required = {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-A100-SXM4-40GB-SHARED"]}]}]}
    obj = job(queue="team")
    obj["spec"]["template"]["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                                                                    required}}
    assignment = {"epoch": "gpu-node-2-gpu0-e1", "node": "gpu-node-2", "gpu": "gpu-node-2-gpu0", "start": UNTIL}
    placed = gate_fields("j", epoch=True, budget=False, assignment=assignment, deferred=None)
    node_affinity = apply_fields(obj, placed)["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    assert node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] == required
    assert node_affinity["preferredDuringSchedulingIgnoredDuringExecution"] == [
        {"weight": 100, "preference": {"matchFields": [{"key": "metadata.name", "operator": "In",
                                                        "values": ["gpu-node-2"]}]}}]
    # the epoch plan deferred it (no node): no preference; a Job the epoch gate does not apply to is untouched
    unplaced = gate_fields("j", epoch=True, budget=False, assignment={"deferred": "too wide"}, deferred=None)
    assert apply_fields(obj, unplaced)["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"] == []
    assert apply_fields(obj, decide(deferred=False))["spec"]["template"]["spec"]["affinity"] == obj["spec"][
        "template"]["spec"]["affinity"]
