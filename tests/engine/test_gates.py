"""The gates and the policy pack with the real engine: over-budget changes fail at preview."""

from __future__ import annotations

import re
import time
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
    project.edit(MARKETING, "daily_limit = 100.00", "daily_limit = 2.00")
    preview = project.preview(check=False)
    assert preview.returncode != 0
    text = preview.stdout + preview.stderr
    # its Deployments take 1.94 a day (redis and sentiment-api: 1 CPU, 2 GiB each); the job's 0.50 does not fit
    assert re.search(r"stack marketing-sentiment-analysis: projected 2\.44 USD of 2\.00 USD daily limit "
                     r"\(1 job x 0\.50 over\); window resets \d{4}-\d\d-\d\dT00:00:00Z", text), text
    assert "budget-gate-marketing-sentiment-analysis-budget" in text
    up = project.up(check=False)
    assert up.returncode != 0
    assert b00t_objects(module_cluster) == []


def test_policy_pack_blocks_what_the_program_allows(project: Project) -> None:
    # alert: the gate lets the deploy go on past the limit (64.95 USD of deployments per day > 10.00)
    project.edit(LLM, 'on_budget_exceeded = "defer"', 'on_budget_exceeded = "alert"')
    project.edit(LLM, "daily_limit = 100.00", "daily_limit = 10.00")
    assert project.preview(policy=False).returncode == 0
    blocked = project.preview(check=False)
    text = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0
    assert "budget-within-daily-limit" in text
    assert "BudgetConstraint ai-ml-dev/llm-inference-pipeline-budget: estimated 64.95 USD per day is over the " \
           "daily limit of 10.00 USD" in text


def test_deferred_job_is_created_suspended(project: Project, module_cluster: Cluster) -> None:
    from kubernetes import client

    from b00t_pulumi.cli.main import main

    ledger = f"sqlite:///{project.dir / '.cache' / 'ledger' / 'dev.db'}"
    # 97.60 spent: the Deployments' 1.94 a day still fit (99.54), the job's 0.50 does not
    code = main(["budget", "reserve", "marketing-sentiment-analysis", "--amount", "97.60", "--id", "earlier-batch",
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


def test_without_the_operator_a_deferred_job_waits_in_the_held_queue(project: Project,
                                                                     module_cluster: Cluster) -> None:
    """Environments without the b00t operator (prod here) hold a deferred queued Job in the held
    queue, whose ClusterQueue has stopPolicy Hold: Kueue never admits it, so it never runs."""
    from kubernetes import client

    from b00t_pulumi.cli.main import main
    from b00t_pulumi.plan.kueue import HELD_QUEUE

    project.stop_operator()
    config = (project.dir / "Pulumi.dev.yaml").read_text()
    lines = [ln for ln in config.splitlines(keepends=True) if ln.startswith("  b00t:operator:")
             or ln.startswith("    local: true")]
    assert len(lines) == 2, lines
    project.edit("Pulumi.dev.yaml", "".join(lines), "")
    ledger = f"sqlite:///{project.dir / '.cache' / 'ledger' / 'dev.db'}"
    assert main(["budget", "reserve", "marketing-sentiment-analysis", "--amount", "97.60", "--id", "earlier-batch",
                 "--ledger", ledger, "--datums", str(project.dir / "stacks"), "--datums",
                 str(project.dir / "components")]) == 0
    project.up()
    batch = client.BatchV1Api(module_cluster.api())
    custom = client.CustomObjectsApi(module_cluster.api())
    job: Any = batch.read_namespaced_job("sentiment-scoring", NS)
    assert job.metadata.labels["kueue.x-k8s.io/queue-name"] == HELD_QUEUE

    def workload(owner: str) -> dict[str, Any] | None:
        for w in custom.list_namespaced_custom_object("kueue.x-k8s.io", "v1beta2", NS, "workloads")["items"]:
            if w["metadata"]["ownerReferences"][0]["name"] == owner:
                return w  # type: ignore[no-any-return]
        return None

    wait_until("Kueue made sentiment-scoring's Workload", lambda: workload("sentiment-scoring") is not None,
               timeout=60)
    wait_until("llm-batch-job succeeded", lambda: (batch.read_namespaced_job("llm-batch-job", NS).status.succeeded
                                                   or 0) >= 1, timeout=120)
    held = workload("sentiment-scoring")
    assert held is not None and held["spec"]["queueName"] == HELD_QUEUE
    admitted = [c["type"] for c in (held.get("status") or {}).get("conditions", [])
                if c["type"] in ("QuotaReserved", "Admitted") and c["status"] == "True"]
    assert admitted == [], held.get("status")
    core = client.CoreV1Api(module_cluster.api())
    assert core.list_namespaced_pod(NS, label_selector="job-name=sentiment-scoring").items == []


def test_deferred_hpa_deployment_runs_no_pods(project: Project, module_cluster: Cluster) -> None:
    """A deferred Deployment that an HPA scales runs no pod. Needs the executing cluster (kube-scheduler,
    kwok nodes, the deployment and HPA controllers): on an API server alone it fails, not skips."""
    from kubernetes import client

    from b00t_pulumi.cli.main import main

    # Only the llm stack: its Deployments are not queued, so none waits for the b00t-budget AdmissionCheck's
    # operator (the marketing stack's are queued in Kueue).
    project.pulumi("config", "set", "--stack", "dev", "--path", "b00t:stacks[0]", "llm-inference-pipeline")
    ledger = f"sqlite:///{project.dir / '.cache' / 'ledger' / 'dev.db'}"
    # 90.00 spent: the llm stack's GPU Deployments (21.33 and 42.65 a day) no longer fit in its 100.00
    assert main(["budget", "reserve", "llm-inference-pipeline", "--amount", "90.00", "--id", "earlier-run",
                 "--ledger", ledger, "--datums", str(project.dir / "stacks"), "--datums",
                 str(project.dir / "components")]) == 0
    project.up()
    api = module_cluster.api()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    hpa: Any = client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler("vllm-server", NS)
    assert hpa.spec.min_replicas == 1  # the HPA's floor is there, and does not lift the deferral
    dep: Any = apps.read_namespaced_deployment("vllm-server", NS)
    assert dep.spec.replicas == 0
    assert re.match(r"\d{4}-\d\d-\d\dT00:00:00Z$", dep.metadata.annotations["b00t.io/deferred-until"])
    out = project.outputs()["stacks"]["llm-inference-pipeline"]["budget"]
    # in order, by name: n8n (0.97) still fits in the 10.00 left, pytorch (21.33) does not, nor anything after it
    assert out["outcome"] == "deferred" and sorted(out["deferred"]) == ["pytorch", "vllm-server"]
    deadline = time.monotonic() + 90
    while (dep.status.observed_generation or 0) < dep.metadata.generation and time.monotonic() < deadline:
        time.sleep(1)
        dep = apps.read_namespaced_deployment("vllm-server", NS)
    assert (dep.status.observed_generation or 0) >= dep.metadata.generation, (
        "no deployment controller observed the Deployment: this test needs the executing cluster")
    autoscaling = client.AutoscalingV2Api(api)

    def hpa_saw_zero() -> bool:  # the HPA controller's own word: a target at 0 replicas is not scaled
        conditions = autoscaling.read_namespaced_horizontal_pod_autoscaler("vllm-server", NS).status.conditions
        return any(c.type == "ScalingActive" and c.status == "False" and c.reason == "ScalingDisabled"
                   for c in conditions or [])

    wait_until("the HPA controller saw vllm-server at 0 replicas and left it there", hpa_saw_zero, timeout=60)
    pods = core.list_namespaced_pod(NS, label_selector="app.kubernetes.io/name=vllm-server").items
    assert pods == [] and (apps.read_namespaced_deployment("vllm-server", NS).status.replicas or 0) == 0


def test_an_up_that_changes_a_deployments_cost_in_the_window_re_prices_its_reservation(project: Project) -> None:
    """Until the ledger re-priced, a second up after a datum edit that changed a Deployment's daily cost
    in the same window failed: the gate asked for the same reservation id at another amount."""
    from kubernetes import client
    from kubernetes import config as kconfig

    from b00t_pulumi.budget import open_ledger

    def gate_amount() -> str:
        with open_ledger(f"sqlite:///{project.dir / '.cache' / 'ledger' / 'dev.db'}") as ledger:
            gate = [r for r in ledger.records("marketing-sentiment-analysis-budget")
                    if ":deployment/sentiment-api:" in r.id]
        assert len(gate) == 1, gate
        return str(gate[0].amount.amount)

    api = kconfig.new_client_from_config(config_file=project.env["KUBECONFIG"], context="Default",
                                         persist_config=False)

    def annotated() -> str:
        dep = client.AppsV1Api(api).read_namespaced_deployment("sentiment-api", NS)
        return str(dep.metadata.annotations["b00t.io/estimated-daily-cost"])

    project.up()
    first = gate_amount()
    assert first == annotated()
    project.edit(MARKETING, "replicas = 1", "replicas = 2")
    project.up()
    assert gate_amount() == annotated() != first  # one record, at the new day's cost
    assert project.outputs()["stacks"]["marketing-sentiment-analysis"]["budget"]["outcome"] == "approved"
