"""EpochPlan provider methods called directly, and what the plan does to Jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.rpc import UNKNOWN

from b00t_pulumi.datum import Catalog
from b00t_pulumi.epoch.deploy import epoch_inputs
from b00t_pulumi.gates.decisions import apply_fields, gate_fields
from b00t_pulumi.gates.epoch_plan import EpochPlanProvider
from b00t_pulumi.plan import Planner
from b00t_pulumi.settings import load_environment


def outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    out: dict[str, Any] = result.outs
    return out


def inputs(n_jobs: int, gpu_type: str = "nvidia-a100", slots: int = 2) -> dict[str, Any]:
    return {
        "jobs": [{"id": f"job-{i}", "group": "llama-70b-q4", "duration_s": 600, "load_s": 84, "gpus": 1,
                  "gpu_type": gpu_type} for i in range(n_jobs)],
        "gpus": [{"id": "node-a-gpu0", "node": "node-a", "gpu_type": "nvidia-a100", "slots": slots}],
        "groups": {"llama-70b-q4": {"batch_window_s": 900, "jobs_per_gpu": slots}},
    }


def test_dev_plan_inputs(repo: Path) -> None:
    planner = Planner(Catalog.load([repo / "stacks", repo / "components"]), load_environment("dev", repo), environ={})
    got = epoch_inputs(planner, planner.plan_cluster())
    assert got == {
        "jobs": [{"id": "llm-batch-job", "group": "llama-70b-q4", "duration_s": 1200, "load_s": 84, "gpus": 1,
                  "gpu_type": "nvidia-a100"}],
        # 4 slots, less the 3 the stack's GPU Deployments hold (pytorch, and vllm-server's HPA at its 2 replicas)
        "gpus": [{"id": "dev-gpu-0-gpu0", "node": "dev-gpu-0", "gpu_type": "nvidia-a100", "slots": 1}],
        "groups": {"llama-70b-q4": {"batch_window_s": 900, "jobs_per_gpu": 4}},
    }


def test_create_assigns_every_job_one_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B00T_NOW", "2026-11-22T21:00:00Z")
    got = outs(EpochPlanProvider().create(inputs(4)))
    assert got["loads"] == 1  # one model load serves all four jobs
    a = got["assignments"]
    assert set(a) == {f"job-{i}" for i in range(4)}
    assert {x["epoch"] for x in a.values()} == {got["plan"]["epochs"][0]["id"]}
    assert all(x["node"] == "node-a" and x["suspend"] is False for x in a.values())


def test_update_with_more_jobs_keeps_started_epochs(monkeypatch: pytest.MonkeyPatch) -> None:
    p = EpochPlanProvider()
    monkeypatch.setenv("B00T_NOW", "2026-11-22T21:00:00Z")
    first = outs(p.create(inputs(2)))
    monkeypatch.setenv("B00T_NOW", "2026-11-22T21:05:00Z")
    second = outs(p.update("id", first, inputs(5)))
    e0 = first["plan"]["epochs"][0]
    assert e0 in second["plan"]["epochs"] or any(
        e["id"] == e0["id"] and e["load_start_s"] == e0["load_start_s"] for e in second["plan"]["epochs"])
    for j in ("job-0", "job-1"):
        assert second["assignments"][j]["start_s"] == first["assignments"][j]["start_s"]
    assert second["submitted"]["job-0"] == first["submitted"]["job-0"]
    assert set(second["assignments"]) == {f"job-{i}" for i in range(5)}


def test_unknown_gpu_type_fails_check() -> None:
    result = EpochPlanProvider().check({}, inputs(1, gpu_type="nvidia-h100"))
    assert result.failures and "nvidia-h100" in result.failures[0].reason


def test_unknown_inputs_pass_check_until_apply() -> None:
    news = inputs(1)
    news["jobs"] = UNKNOWN
    assert EpochPlanProvider().check({}, news).failures == []


def test_diff_only_on_input_change() -> None:
    p = EpochPlanProvider()
    assert p.diff("id", inputs(2), inputs(2)).changes is False
    assert p.diff("id", inputs(2), inputs(3)).changes is True


def test_epoch_decision_labels_and_suspends_later_epochs() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "labels": {}},
           "spec": {"template": {"metadata": {"labels": {}}, "spec": {}}}}
    later = {"epoch": "e0003", "gpu": "g0", "node": "n0", "start": "2026-11-22T22:00:00Z", "suspend": True,
             "deferred": None}
    out = apply_fields(job, gate_fields("j", epoch=True, budget=False, assignment=later, deferred=None))
    assert out["metadata"]["labels"]["b00t.io/epoch"] == "e0003"
    assert out["spec"]["template"]["metadata"]["labels"]["b00t.io/epoch"] == "e0003"
    assert out["metadata"]["annotations"]["b00t.io/planned-start"] == "2026-11-22T22:00:00Z"
    assert out["metadata"]["annotations"]["b00t.io/suspended-until"] == "2026-11-22T22:00:00Z"
    assert out["spec"]["suspend"] is True and "suspend" not in job["spec"]
    now = apply_fields(job, gate_fields("j", epoch=True, budget=False, assignment=later | {"suspend": False},
                                        deferred=None))
    assert now["spec"]["suspend"] is False and now["metadata"]["annotations"]["b00t.io/suspended-until"] == ""
    # the keys do not depend on the decision: a preview knows them before the plan exists
    assert set(gate_fields("j", epoch=True, budget=True, assignment=None, deferred=None).annotations) == \
        set(gate_fields("j", epoch=True, budget=True, assignment=later, deferred={"j": "x"}).annotations)


def test_numbers_arrive_as_floats_from_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B00T_NOW", "2026-11-22T21:00:00Z")
    wire = inputs(2)
    wire["groups"]["llama-70b-q4"]["jobs_per_gpu"] = 2.0
    wire["jobs"][0]["gpus"] = 1.0
    wire["gpus"][0]["slots"] = 2.0
    assert EpochPlanProvider().check({}, wire).failures == []
    assert outs(EpochPlanProvider().create(wire))["loads"] == 1


def test_a_job_planned_on_a_gpu_type_its_model_loads_faster_on_gets_that_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B00T_NOW", "2026-11-22T21:00:00Z")
    i = inputs(1, gpu_type="nvidia-h100")
    i["gpus"].append({"id": "node-b-gpu0", "node": "node-b", "gpu_type": "nvidia-h100", "slots": 2})
    i["jobs"][0]["load_s_by_type"] = {"nvidia-h100": 20.0}
    got = outs(EpochPlanProvider().create(i))
    [epoch] = got["plan"]["epochs"]
    assert epoch["gpu"] == "node-b-gpu0" and epoch["load_s"] == 20  # not the 84 s it takes elsewhere
    assert got["assignments"]["job-0"]["start"] == "2026-11-22T21:00:20Z"
