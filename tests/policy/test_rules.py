"""Policy rules and the pack's validate functions, on the planner's real objects, edited to break."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, StackValidationArgs

from b00t_pulumi.budget import Money
from b00t_pulumi.datum import Catalog
from b00t_pulumi.plan import Planner
from b00t_pulumi.plan.render import materialize
from b00t_pulumi.policy import rules
from b00t_pulumi.policy.rules import Resource
from b00t_pulumi.settings import load_environment


def token(obj: dict[str, Any]) -> str:
    api = obj["apiVersion"]
    return f"kubernetes:{'core/' + api if '/' not in api else api}:{obj['kind']}"


@pytest.fixture()
def resources(repo: Path) -> list[Resource]:
    cat = Catalog.load([repo / "stacks", repo / "components"])
    planner = Planner(cat, load_environment("dev", repo), environ={})
    objs = [materialize(o, show_secrets=False) for o in planner.plan_cluster().all_objects()]
    return [Resource(token(o), o, f"urn:{o['kind']}:{o['metadata']['name']}") for o in objs]


def find(res: list[Resource], kind: str, name: str) -> Resource:
    return next(r for r in res if r.kind == kind and r.name == name)


def edit(res: list[Resource], kind: str, name: str) -> tuple[list[Resource], dict[str, Any]]:
    """A deep copy of the resources, and the props of one of them to change."""
    out = [Resource(r.type, copy.deepcopy(dict(r.props)), r.urn) for r in res]
    target = find(out, kind, name)
    return out, target.props  # type: ignore[return-value]


def test_the_dev_plan_passes_every_policy(resources: list[Resource]) -> None:
    assert rules.run_all(resources) == {name: [] for name in rules.POLICIES}


def _set_daily(props: dict[str, Any], amount: str) -> None:
    props["metadata"]["annotations"]["b00t.io/estimated-daily-cost"] = amount


@pytest.mark.parametrize(("vllm", "pytorch", "over"), [
    ("42.65", "21.33", False),   # the plan: 42.65 + 21.33 + 0.97 (n8n) = 64.95 of 100.00
    ("50.03", "49.00", False),   # exactly at the limit is within it
    ("50.04", "49.00", True),    # a cent over
])
def test_budget_over_at_under(resources: list[Resource], vllm: str, pytorch: str, over: bool) -> None:
    res, props = edit(resources, "Deployment", "vllm-server")
    _set_daily(props, vllm)
    _set_daily(find(res, "Deployment", "pytorch").props, pytorch)  # type: ignore[arg-type]
    violations = rules.budget_within_daily_limit(res, {})
    assert bool(violations) == over
    if over:
        assert "BudgetConstraint ai-ml-dev/llm-inference-pipeline-budget: estimated 100.01 USD per day is over " \
               "the daily limit of 100.00 USD" in violations[0].message
        assert violations[0].urn == "urn:BudgetConstraint:llm-inference-pipeline-budget"


def test_budget_adds_ledger_spend(resources: list[Resource]) -> None:
    spent = {"llm-inference-pipeline-budget": Money.of("35.06")}  # 64.95 planned + 35.06 > 100.00
    violations = rules.budget_within_daily_limit(resources, {}, lambda b, ids: spent.get(b.name))
    assert len(violations) == 1 and "ledger spend 35.06" in violations[0].message


def test_job_cost_counts(resources: list[Resource]) -> None:
    res, props = edit(resources, "Job", "llm-batch-job")
    props["metadata"]["annotations"]["b00t.io/estimated-cost"] = "50.01"
    assert "llm-batch-job-budget" in rules.budget_within_daily_limit(res, {})[0].message


def test_unknown_costs_during_preview_do_not_crash(resources: list[Resource]) -> None:
    res, props = edit(resources, "Deployment", "vllm-server")
    _set_daily(props, "04da6b54-80e4-46f7-96ec-b56ff0331ba9")  # Pulumi's unknown sentinel
    assert rules.budget_within_daily_limit(res, {}) == []


def test_gpu_limits_required(resources: list[Resource]) -> None:
    res, props = edit(resources, "Deployment", "vllm-server")
    c = props["spec"]["template"]["spec"]["containers"][0]
    c["resources"]["requests"]["nvidia.com/gpu"] = c["resources"]["limits"].pop("nvidia.com/gpu")
    msgs = [v.message for v in rules.gpu_limits_required(res, {})]
    assert any("requests nvidia.com/gpu without a limit" in m for m in msgs)
    assert any("placed on nvidia-a100 nodes but no container sets" in m for m in msgs)


def test_gpu_jobs_use_kueue(resources: list[Resource]) -> None:
    res, props = edit(resources, "Job", "llm-batch-job")
    del props["metadata"]["labels"]["kueue.x-k8s.io/queue-name"]
    (v,) = rules.gpu_jobs_use_kueue(res, {})
    assert "Job ai-ml-dev/llm-batch-job uses GPUs but has no kueue.x-k8s.io/queue-name label" in v.message


def test_time_slicing_covers_concurrency(resources: list[Resource]) -> None:
    res, props = edit(resources, "ConfigMap", "time-slicing-config")
    props["data"]["nvidia-a100"] = props["data"]["nvidia-a100"].replace("replicas: 4", "replicas: 2")
    msgs = [v.message for v in rules.time_slicing_covers_concurrency(res, {})]
    assert msgs and all("runs up to 4 jobs per nvidia-a100 GPU but time-slicing gives only 2" in m for m in msgs)
    res2, props2 = edit(resources, "ConfigMap", "time-slicing-config")
    props2["data"] = {"nvidia-h100": props2["data"]["nvidia-a100"]}
    assert any("no time-slicing config has a key 'nvidia-a100'" in v.message
               for v in rules.time_slicing_covers_concurrency(res2, {}))


@pytest.mark.parametrize(("image", "bad"), [("redis:7.2-alpine", False), ("redis", True), ("redis:latest", True),
                                            ("localhost:5000/redis", True), ("redis@sha256:" + "a" * 64, False)])
def test_no_latest_images(resources: list[Resource], image: str, bad: bool) -> None:
    res, props = edit(resources, "Deployment", "redis")
    props["spec"]["template"]["spec"]["containers"][0]["image"] = image
    assert bool(rules.no_latest_images(res, {})) == bad


def test_no_plaintext_secrets(resources: list[Resource]) -> None:
    res, props = edit(resources, "Deployment", "n8n")
    env = props["spec"]["template"]["spec"]["containers"][0]["env"]
    env.append({"name": "DB_PASSWORD", "value": "hunter2"})
    env.append({"name": "ALERTS", "value": "https://n8n.example/webhook/x"})
    msgs = [v.message for v in rules.no_plaintext_secrets(res, {})]
    assert len(msgs) == 2 and "env DB_PASSWORD of container n8n is a plain value" in msgs[0]


def test_pack_validate_functions(resources: list[Resource]) -> None:
    from b00t_pulumi.policy.pack import policies

    res, props = edit(resources, "Deployment", "vllm-server")
    _set_daily(props, "99.00")
    opts = PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[])
    pres = [PolicyResource(r.type, r.props, r.urn, r.name, opts, None, None, [], {}) for r in res]
    reported: dict[str, list[tuple[str, str | None]]] = {}
    for p in policies():
        def report(msg: str, urn: str | None = None, _name: str = p.name) -> None:
            reported.setdefault(_name, []).append((msg, urn))

        p.validate(StackValidationArgs(pres, config={}), report)
    assert set(reported) == {"budget-within-daily-limit"}
    assert "121.30 USD per day is over" in reported["budget-within-daily-limit"][0][0]  # 99.00 + 21.33 + 0.97


def test_a_defer_budget_leaves_out_what_its_gate_deferred(resources: list[Resource]) -> None:
    res, props = edit(resources, "Deployment", "vllm-server")
    _set_daily(props, "90.00")  # 90.00 + 21.33 + 0.97 > 100.00: over, unless the gate deferred it
    assert rules.budget_within_daily_limit(res, {})
    props["metadata"]["annotations"]["b00t.io/deferred-until"] = "2026-12-02T00:00:00Z"
    assert rules.budget_within_daily_limit(res, {}) == []


def test_a_relative_ledger_url_is_relative_to_the_project(tmp_path: Path) -> None:
    """Pulumi runs a policy pack in its own directory: dev.json's sqlite:///.cache/ledger/dev.db must
    still be the project's ledger (before, the pack read an empty one under policy/)."""
    from b00t_pulumi.policy.pack import project_ledger_url

    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: python\n")
    pack = tmp_path / "policy"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\n")
    assert project_ledger_url("sqlite:///.cache/ledger/dev.db", pack) == f"sqlite:///{tmp_path}/.cache/ledger/dev.db"
    assert project_ledger_url("sqlite:///x.db", tmp_path) == f"sqlite:///{tmp_path}/x.db"


def test_a_queue_label_unknown_in_a_preview_is_not_a_missing_one(resources: list[Resource]) -> None:
    """Without the b00t operator a gated Job's queue label is the gate's output (its own queue or the held
    one), unknown during a preview: the rule must not stop on it, nor call it missing."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

    res, props = edit(resources, "Job", "llm-batch-job")
    props["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] = UNKNOWN_STRING_VALUE
    job = find(res, "Job", "llm-batch-job")
    proxied = [Resource(r.type, unknown_checking_proxy(dict(r.props)), r.urn) if r is job else r for r in res]
    assert rules.gpu_jobs_use_kueue(proxied, {}) == []
    del props["metadata"]["labels"]["kueue.x-k8s.io/queue-name"]
    assert rules.gpu_jobs_use_kueue(res, {})  # really missing: a violation
