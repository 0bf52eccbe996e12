"""`pulumi up` of the example stacks with the real engine against a real kube-apiserver."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from b00t_pulumi.datum import Catalog
from b00t_pulumi.plan import Planner
from b00t_pulumi.settings import load_environment
from tests.engine.engine import REPO, SECRETS, Cluster, Project, make_project, observer, wait_until

sys.path.insert(0, str(REPO / "toolchain"))
from localcluster import observe

NS = "ai-ml-dev"


@pytest.fixture(scope="module")
def deployed(module_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    project = make_project(tmp_path_factory.mktemp("project"), module_cluster)
    project.up()
    yield project
    project.pulumi("destroy", "--yes", "--stack", "dev", check=False)


def kube(c: Cluster) -> Any:
    from kubernetes import client

    api = c.api()
    return client.CoreV1Api(api), client.AppsV1Api(api), client.BatchV1Api(api), client.CustomObjectsApi(api)


def planned(project: Project) -> list[dict[str, Any]]:
    cat = Catalog.load([project.dir / "stacks", project.dir / "components"])
    return Planner(cat, load_environment("dev", project.dir), environ=SECRETS).plan_cluster().all_objects()


def test_up_creates_every_planned_object(deployed: Project, module_cluster: Cluster) -> None:
    from kubernetes import dynamic

    client = dynamic.DynamicClient(module_cluster.api())
    objs = planned(deployed)
    assert objs
    for o in objs:
        api = client.resources.get(api_version=o["apiVersion"], kind=o["kind"])
        meta = o["metadata"]
        live = api.get(name=meta["name"], namespace=meta.get("namespace"))
        assert live.metadata.name == meta["name"]
        for k, v in (meta.get("labels") or {}).items():
            assert live.metadata.labels[k] == v, (o["kind"], meta["name"], k)


def test_objects_read_back(deployed: Project, module_cluster: Cluster) -> None:
    core, apps, batch, custom = kube(module_cluster)
    deps = {d.metadata.name: d for d in apps.list_namespaced_deployment(NS).items}
    assert set(deps) == {"n8n", "pytorch", "vllm-server", "redis", "sentiment-api"}
    vllm = deps["vllm-server"]
    assert vllm.spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"] == "1"
    # the local cluster runs pods now: Pulumi waited for the Deployment, which is ready
    assert "pulumi.com/skipAwait" not in vllm.metadata.annotations
    assert vllm.status.ready_replicas == 1
    secret = core.read_namespaced_secret("n8n-env", NS)
    assert base64.b64decode(secret.data["N8N_BASIC_AUTH_PASSWORD"]).decode() == SECRETS["N8N_BASIC_AUTH_PASSWORD"]
    env = {e.name: e for e in deps["n8n"].spec.template.spec.containers[0].env}
    assert env["N8N_BASIC_AUTH_PASSWORD"].value is None
    assert env["N8N_BASIC_AUTH_PASSWORD"].value_from.secret_key_ref.name == "n8n-env"
    job = batch.read_namespaced_job("llm-batch-job", NS)
    assert job.metadata.labels["kueue.x-k8s.io/queue-name"] == "gpu-queue"
    assert job.metadata.labels["b00t.io/epoch"]  # the EpochPlan gate's epoch
    assert job.metadata.annotations["b00t.io/planned-node"] == "dev-gpu-0"
    cq = custom.get_cluster_custom_object("kueue.x-k8s.io", "v1beta2", "clusterqueues", "b00t-dev")
    assert cq["spec"]["resourceGroups"][1]["flavors"][0]["name"] == "nvidia-a100"
    bcs = custom.list_namespaced_custom_object("b00t.io", "v1", NS, "budgetconstraints")["items"]
    assert {b["metadata"]["name"] for b in bcs} == {"llm-inference-pipeline-budget", "llm-batch-job-budget",
                                                   "marketing-sentiment-analysis-budget"}
    cm = core.read_namespaced_config_map("time-slicing-config", "gpu-operator")
    assert "replicas: 4" in cm.data["nvidia-a100"]


def test_the_examples_run(deployed: Project, module_cluster: Cluster) -> None:
    """Every Deployment ready on a node of its GPU product (or a CPU node), a batch group's pods on one
    node, every queued Job admitted by the planner's ClusterQueue and complete, a Job that needs a stack
    started only after the stack's Services had ready endpoints, nothing Pending."""
    core, apps, batch, custom = kube(module_cluster)
    api = observer(module_cluster)
    plan = {(o["kind"], o["metadata"]["name"]): o for o in planned(deployed)}
    cq = next(n for (k, n) in plan if k == "ClusterQueue" and not n.endswith("-held"))
    jobs = [n for (k, n) in plan if k == "Job"]
    wait_until("every planned Job complete", lambda: all(
        (batch.read_namespaced_job(n, NS).status.succeeded or 0) >= 1 for n in jobs), timeout=180)
    rows = observe.settled(api, timeout=30)
    assert [r.pod for r in rows if r.phase == "Pending"] == []
    nodes = {n.metadata.name: n.metadata.labels for n in core.list_node().items}
    for (kind, name), o in plan.items():
        if kind != "Deployment":
            continue
        assert apps.read_namespaced_deployment(name, NS).status.ready_replicas == o["spec"].get("replicas", 1)
        pods = [r for r in rows if r.owner == f"Deployment/{name}"]
        assert pods and all(r.phase == "Running" for r in pods), name
        wants_gpu = "nvidia.com/gpu" in (o["spec"]["template"]["spec"]["containers"][0].get("resources", {})
                                         .get("limits", {}))
        for r in pods:
            product = nodes[r.node or ""].get("nvidia.com/gpu.product")
            if wants_gpu:
                values = o["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
                    "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0][
                    "values"]
                assert product in values, (name, product)
            else:
                assert product is None, (name, r.node)  # a CPU node
    groups: dict[str, set[str]] = {}
    for r in rows:
        if r.labels.get("b00t.io/gpu-batch-group") and r.node:
            groups.setdefault(r.labels["b00t.io/gpu-batch-group"], set()).add(r.node)
    assert groups and all(len(n) == 1 for n in groups.values()), groups  # one node (one GPU) per batch group
    for name in jobs:
        run = [r for r in rows if r.owner == f"Job/{name}"]
        assert run and run[0].phase == "Succeeded" and run[0].admitted_by == cq, (name, run)
        job = plan[("Job", name)]
        if plan[("Job", name)]["metadata"]["labels"].get("kueue.x-k8s.io/queue-name"):
            workloads = custom.list_namespaced_custom_object("kueue.x-k8s.io", "v1beta2", NS, "workloads")["items"]
            mine = [w for w in workloads if any(o["name"] == name for o in w["metadata"].get("ownerReferences", []))]
            assert mine and mine[0]["status"]["admission"]["clusterQueue"] == cq
        # the stacks it requires: their Services had ready endpoints before the Job's pod started
        for env in job["spec"]["template"]["spec"]["containers"][0].get("env", []):
            if env["name"].startswith("B00T_") and env["name"].endswith("_URL"):
                svc = env["value"].split("://")[-1].split(".")[0]
                ready = [endpoint_ready_at(api, svc)]
                assert ready[0] is not None and ready[0] <= (run[0].started or 0), (name, svc, ready, run[0].started)


def test_outputs(deployed: Project) -> None:
    out = deployed.outputs()
    llm = out["stacks"]["llm-inference-pipeline"]
    assert llm["namespace"] == NS
    assert llm["endpoints"]["vllm-server"] == f"http://vllm-server.{NS}.svc.cluster.local:8000"
    # dev prices (A100, 8 CPU, 32 GiB a pod): vllm-server 42.65 a day (HPA max 2), pytorch 21.33, n8n 0.97
    assert llm["budget"]["outcome"] == "approved" and llm["budget"]["spend"] == "64.95"
    assert out["jobs"]["llm-batch-job"]["queue"] == "gpu-queue"
    assert out["epochs"]["loads"] == 1


def test_second_up_changes_nothing_and_reserves_nothing(deployed: Project) -> None:
    from b00t_pulumi.budget import open_ledger

    db = deployed.dir / ".cache" / "ledger" / "dev.db"
    from b00t_pulumi.gates.inputs import budget_inputs

    cat = Catalog.load([deployed.dir / "stacks", deployed.dir / "components"])
    planner = Planner(cat, load_environment("dev", deployed.dir), environ=SECRETS)
    items = sum(len(g["items"]) for g in budget_inputs(planner, planner.plan_cluster(), "sqlite:///x"))
    with open_ledger(f"sqlite:///{db}") as led:
        before = led.records()
    gate = [r for r in before if not r.id.startswith("actual:")]  # the operator's settled Jobs beside them
    assert len(gate) == items == 7  # every costed deployment and job, once
    deployed.up("--expect-no-changes")
    with open_ledger(f"sqlite:///{db}") as led:
        assert len(led.records()) == len(before)


def test_editing_a_datum_previews_exactly_its_change(deployed: Project) -> None:
    deployed.edit("components/redis.docker.toml", "redis:7.2-alpine", "redis:7.4-alpine")
    try:
        out = deployed.preview("--json")
        steps = [s for s in json.loads(out.stdout)["steps"] if s["op"] != "same"]
        assert [(s["op"], s["urn"].rsplit("::", 1)[1]) for s in steps] == [("update", "ai-ml-dev-redis")]
    finally:
        deployed.edit("components/redis.docker.toml", "redis:7.4-alpine", "redis:7.2-alpine")


def test_schema_validation_rejects_bad_custom_resources(deployed: Project, module_cluster: Cluster) -> None:
    from kubernetes.client.exceptions import ApiException

    _, _, _, custom = kube(module_cluster)
    bad_budget = {"apiVersion": "b00t.io/v1", "kind": "BudgetConstraint", "metadata": {"name": "bad"},
                  "spec": {"dailyLimit": "lots", "currency": "usd", "onBudgetExceeded": "panic"}}
    with pytest.raises(ApiException) as exc:
        custom.create_namespaced_custom_object("b00t.io", "v1", NS, "budgetconstraints", bad_budget)
    assert exc.value.status == 422
    bad_cq = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "bad-cq"},
              "spec": {"resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": "default-flavor",
                       "resources": [{"name": "cpu", "nominalQuota": "1", "borrowingLimit": "1"}]}]}]}}
    with pytest.raises(ApiException) as exc:  # Kueue's CEL rule: borrowingLimit needs a cohort
        custom.create_cluster_custom_object("kueue.x-k8s.io", "v1beta2", "clusterqueues", bad_cq)
    assert exc.value.status == 422


def test_destroy_removes_everything(deployed: Project, module_cluster: Cluster) -> None:
    core, apps, batch, custom = kube(module_cluster)
    deployed.pulumi("destroy", "--yes", "--stack", "dev")
    assert apps.list_namespaced_deployment(NS).items == []
    assert batch.list_namespaced_job(NS).items == []
    assert [s for s in core.list_namespaced_secret(NS).items if s.metadata.name.endswith("-env")] == []
    assert custom.list_cluster_custom_object("kueue.x-k8s.io", "v1beta2", "clusterqueues")["items"] == []
    from b00t_pulumi.budget import open_ledger

    with open_ledger(f"sqlite:///{deployed.dir / '.cache' / 'ledger' / 'dev.db'}") as led:
        records = led.records()
    # what was reserved is released; what the Jobs really cost (the operator's settlements) stays spent
    assert records and all(r.state == "released" for r in records if not r.id.startswith("actual:"))
    assert all(r.state == "spent" for r in records if r.id.startswith("actual:"))


def endpoint_ready_at(api: Any, service: str) -> float | None:
    """When the Service got its ready endpoints: the endpoints controller's last-change-trigger-time of
    its Endpoints (the time of the pod change that made them), when it has ready addresses."""
    from datetime import datetime

    ep = api.get(f"/api/v1/namespaces/{NS}/endpoints/{service}")
    if not ep or not any(s.get("addresses") for s in ep.get("subsets") or []):
        return None
    stamp = (ep["metadata"].get("annotations") or {}).get("endpoints.kubernetes.io/last-change-trigger-time")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else None
