"""The gates and the policy pack with the real engine: over-budget changes fail at preview."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.engine import Cluster, Project, make_project, wait_until

NS = "ai-ml-dev"
MARKETING = "stacks/marketing-sentiment-analysis.stack.toml"
LLM = "stacks/llm-inference-pipeline.stack.toml"


@pytest.fixture()
def project(module_cluster: Cluster, tmp_path: Path) -> Iterator[Project]:
    p = make_project(tmp_path, module_cluster)
    yield p
    p.pulumi("destroy", "--yes", "--stack", "dev", check=False)


def b00t_objects(c: Cluster) -> list[str]:
    from kubernetes import client

    api = c.api()
    apps, batch = client.AppsV1Api(api), client.BatchV1Api(api)
    out = [f"Deployment/{d.metadata.name}" for d in apps.list_deployment_for_all_namespaces().items]
    out += [f"Job/{j.metadata.name}" for j in batch.list_job_for_all_namespaces().items]
    return out


def test_over_budget_with_fail_stops_preview_and_creates_nothing(project: Project, module_cluster: Cluster) -> None:
    project.edit(MARKETING, 'on_budget_exceeded = "defer"', 'on_budget_exceeded = "fail"')
    project.edit(MARKETING, "daily_limit = 100.00", "daily_limit = 0.40")
    preview = project.preview(check=False)
    assert preview.returncode != 0
    text = preview.stdout + preview.stderr
    assert re.search(r"stack marketing-sentiment-analysis: projected 0\.50 USD of 0\.40 USD daily limit "
                     r"\(1 job x 0\.50 over\); window resets \d{4}-\d\d-\d\dT00:00:00Z", text), text
    assert "budget-gate-marketing-sentiment-analysis-budget" in text
    up = project.up(check=False)
    assert up.returncode != 0
    assert b00t_objects(module_cluster) == []


def test_policy_pack_blocks_what_the_program_allows(project: Project) -> None:
    # alert: the gate lets the deploy go on past the limit (48.00 USD of GPU deployments per day > 10.00)
    project.edit(LLM, 'on_budget_exceeded = "defer"', 'on_budget_exceeded = "alert"')
    project.edit(LLM, "daily_limit = 100.00", "daily_limit = 10.00")
    assert project.preview(policy=False).returncode == 0
    blocked = project.preview(check=False)
    text = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0
    assert "budget-within-daily-limit" in text
    assert "BudgetConstraint ai-ml-dev/llm-inference-pipeline-budget: estimated 48.00 USD per day is over the " \
           "daily limit of 10.00 USD" in text


def test_deferred_job_is_created_suspended(project: Project, module_cluster: Cluster) -> None:
    from kubernetes import client

    from b00t_pulumi.cli.main import main

    ledger = f"sqlite:///{project.dir / '.cache' / 'ledger' / 'dev.db'}"
    code = main(["budget", "reserve", "marketing-sentiment-analysis", "--amount", "99.80", "--id", "earlier-batch",
                 "--ledger", ledger, "--datums", str(project.dir / "stacks"), "--datums",
                 str(project.dir / "components")])
    assert code == 0
    project.up()
    batch = client.BatchV1Api(module_cluster.api())
    job: Any = batch.read_namespaced_job("sentiment-scoring", NS)
    assert job.spec.suspend is True
    assert re.match(r"\d{4}-\d\d-\d\dT00:00:00Z$", job.metadata.annotations["b00t.io/deferred-until"])
    # dev runs the b00t operator (b00t:operator.local): it holds the queued Job through the b00t-budget
    # AdmissionCheck until its window, with its Workload out of the queue (spec.active false, no quota)
    assert job.metadata.labels["kueue.x-k8s.io/queue-name"] == "cpu-queue"
    custom = client.CustomObjectsApi(module_cluster.api())

    def evicted_for_the_window() -> bool:
        for w in custom.list_namespaced_custom_object("kueue.x-k8s.io", "v1beta2", NS, "workloads")["items"]:
            if w["metadata"]["ownerReferences"][0]["name"] == "sentiment-scoring":
                reason = (w["metadata"].get("annotations") or {}).get("b00t.io/hold-reason", "")
                return w["spec"].get("active") is False and "deferred by its budget until" in reason
        return False

    wait_until("the operator holds sentiment-scoring until its window", evicted_for_the_window, timeout=60)
    out = project.outputs()["stacks"]["marketing-sentiment-analysis"]["budget"]
    assert out["outcome"] == "deferred" and list(out["deferred"]) == ["sentiment-scoring"]
    # the under-budget job of the other stack runs to completion on the kwok GPU node ...
    wait_until("llm-batch-job succeeded", lambda: (batch.read_namespaced_job("llm-batch-job", NS).status.succeeded
                                                   or 0) >= 1, timeout=120)
    # ... while the deferred one (5 s of simulated work) never started
    core = client.CoreV1Api(module_cluster.api())
    assert core.list_namespaced_pod(NS, label_selector="job-name=sentiment-scoring").items == []
    assert batch.read_namespaced_job("sentiment-scoring", NS).spec.suspend is True
