"""What the planner decides: secrets, GPUs, time-slicing, namespaces, Kueue, collisions."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from b00t_pulumi.datum import Catalog
from b00t_pulumi.errors import PlanError
from b00t_pulumi.plan import Planner, SecretValue
from b00t_pulumi.plan.render import to_yaml
from b00t_pulumi.settings import EnvironmentSettings, load_environment


def containers(objs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for o in objs:
        if o["kind"] in ("Deployment", "Job"):
            spec = o["spec"]["template"]["spec"]
            for c in spec["containers"] + spec.get("initContainers", []):
                yield o["metadata"]["name"], c


def test_secrets_only_by_reference(dev_planner: Planner) -> None:
    objs = dev_planner.plan_cluster().all_objects()
    refs = 0
    for _, c in containers(objs):
        for e in c.get("env", []):
            if set(e["name"].split("_")) & {"PASSWORD", "KEY", "TOKEN", "SECRET", "WEBHOOK"}:
                assert "value" not in e and e["valueFrom"]["secretKeyRef"]
                refs += 1
    assert refs >= 3
    secrets = [o for o in objs if o["kind"] == "Secret"]
    assert all(isinstance(v, SecretValue) for s in secrets for v in s["stringData"].values())


def test_secret_values_never_printed_unless_asked(catalog: Catalog, repo: Path) -> None:
    environ = {"N8N_BASIC_AUTH_PASSWORD": "hunter2-pw", "N8N_BUDGET_WEBHOOK_URL": "https://n8n.example/webhook/abc"}
    planner = Planner(catalog, load_environment("dev", repo), environ=environ)
    objs = planner.plan_cluster().all_objects()
    text = to_yaml(objs)
    assert "hunter2-pw" not in text and "webhook/abc" not in text
    assert "hunter2-pw" in to_yaml(objs, show_secrets=True)
    assert "hunter2-pw" not in repr(objs) and "hunter2-pw" not in str(objs)
    bc = next(o for o in objs if o["kind"] == "BudgetConstraint" and o["spec"]["target"]["kind"] == "Stack")
    assert bc["spec"]["webhookSecretRef"] == {"name": f"{bc['metadata']['name']}-webhook", "key": "url"}


def test_gpus_only_on_gpu_members(dev_planner: Planner) -> None:
    plan = dev_planner.plan_stack("llm-inference-pipeline")
    gpus = {c["name"]: c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
            for _, c in containers(plan.objects)}
    assert gpus == {"pytorch": "1", "vllm-server": "1", "n8n": None}
    vllm = next(o for o in plan.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "vllm-server")
    pod = vllm["spec"]["template"]["spec"]
    term = pod["affinity"]["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert vllm["spec"]["template"]["metadata"]["labels"]["b00t.io/gpu-batch-group"] == "llama-70b"
    mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert "/models/llama-70b-q4" in mounts


def test_time_slicing_configmap(dev_planner: Planner) -> None:
    cm = next(o for o in dev_planner.plan_cluster().time_slicing if o["kind"] == "ConfigMap")
    assert (cm["kind"], cm["metadata"]["namespace"]) == ("ConfigMap", "gpu-operator")
    cfg = yaml.safe_load(cm["data"]["nvidia-a100"])
    assert cfg == {"version": "v1", "flags": {"migStrategy": "none"}, "sharing": {"timeSlicing": {
        "renameByDefault": False, "failRequestsGreaterThanOne": True,
        "resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}}}


def test_prod_kueue_and_cluster_policy(catalog: Catalog, repo: Path) -> None:
    cp = Planner(catalog, load_environment("prod", repo), environ={}).plan_cluster()
    cq = next(o for o in cp.kueue if o["kind"] == "ClusterQueue")
    assert cq["spec"]["cohortName"] == "ai-ml" and "cohort" not in cq["spec"]
    gpu_group = cq["spec"]["resourceGroups"][1]
    # 2 nodes x 4 GPUs x 4 slots, less the 2 slices the llm stack's GPU Deployments hold outside Kueue
    assert gpu_group["flavors"][0] == {"name": "nvidia-a100",
                                       "resources": [{"name": "nvidia.com/gpu", "nominalQuota": "30"}]}
    # prod sets no b00t:operator: gated Jobs wait in the held queue (a ClusterQueue with stopPolicy Hold)
    assert {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in cp.kueue if o["kind"] == "LocalQueue"} == {
        ("ai-ml-pipelines", "gpu-queue"), ("ai-ml-pipelines", "cpu-queue"), ("ai-ml-pipelines", "b00t-held")}
    policy = next(o for o in cp.time_slicing if o["kind"] == "ClusterPolicy")
    assert policy["spec"]["devicePlugin"]["config"] == {"name": "time-slicing-config", "default": "nvidia-a100"}


def test_gpu_quota_defaults_to_inventory_slots(catalog: Catalog) -> None:
    settings = EnvironmentSettings.model_validate(
        {"gpuInventory": {"nodes": [{"name": "n1", "gpuType": "nvidia-a100", "gpus": 2, "slots": 4}]}})
    cp = Planner(catalog, settings, environ={}).plan_cluster()
    cq = next(o for o in cp.kueue if o["kind"] == "ClusterQueue")
    # 2 GPUs x 4 slots, less the slices of the 2 GPU Deployments outside Kueue
    assert cq["spec"]["resourceGroups"][1]["flavors"][0]["resources"][0]["nominalQuota"] == "6"


def test_namespace_rules(catalog: Catalog) -> None:
    p = Planner(catalog, EnvironmentSettings(), environ={})
    assert p.plan_stack("llm-inference-pipeline").namespace == "ai-ml-pipelines"  # the datum's
    assert p.plan_job("llm-batch-job").namespace == "ai-ml-pipelines"  # its required stack's
    p2 = Planner(catalog, EnvironmentSettings(namespace="team-x"), environ={})
    assert p2.plan_stack("llm-inference-pipeline").namespace == "team-x"  # the environment wins


@pytest.fixture()
def tmp_datums(tmp_path: Path, repo: Path) -> Path:
    for d in ("stacks", "components"):
        shutil.copytree(repo / d, tmp_path / d)
    return tmp_path


def _catalog(root: Path) -> Catalog:
    cat = Catalog.load([root / "stacks", root / "components"])
    cat.raise_for_errors()
    return cat


def test_one_datum_change_touches_only_its_objects(tmp_datums: Path) -> None:
    settings = load_environment("dev", Path(__file__).resolve().parents[2])
    before = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
              for o in Planner(_catalog(tmp_datums), settings, environ={}).plan_cluster().all_objects()}
    f = tmp_datums / "components" / "n8n.docker.toml"
    f.write_text(f.read_text().replace("n8nio/n8n:1.72.1", "n8nio/n8n:1.73.0"))
    after = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
             for o in Planner(_catalog(tmp_datums), settings, environ={}).plan_cluster().all_objects()}
    assert before.keys() == after.keys()
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {("Deployment", "ai-ml-dev", "n8n")}


def test_member_collision_in_one_namespace(tmp_datums: Path) -> None:
    (tmp_datums / "stacks" / "second.stack.toml").write_text(textwrap.dedent("""
        [b00t]
        name = "second"
        type = "stack"
        members = ["n8n.docker"]
        [b00t.orchestration.k8s]
        namespace = "ai-ml-pipelines"
    """))
    with pytest.raises(PlanError, match=r"Deployment ai-ml-pipelines/n8n is also planned by"):
        Planner(_catalog(tmp_datums), EnvironmentSettings(), environ={}).plan_cluster()


def test_unknown_gpu_and_shared_count(tmp_datums: Path) -> None:
    f = tmp_datums / "stacks" / "llm-inference-pipeline.stack.toml"
    text = f.read_text()
    f.write_text(text.replace('gpu_type = "nvidia-a100"', 'gpu_type = "nvidia-a1000"'))
    with pytest.raises(PlanError, match=r"unknown GPU 'nvidia-a1000'; known: .*nvidia-a100,"):
        Planner(_catalog(tmp_datums), EnvironmentSettings(), environ={}).plan_stack("llm-inference-pipeline")
    f.write_text(text.replace("count = 1\n", "count = 2\n", 1))
    with pytest.raises(PlanError, match="failRequestsGreaterThanOne"):
        Planner(_catalog(tmp_datums), EnvironmentSettings(), environ={}).plan_stack("llm-inference-pipeline")


def test_cli_members_skipped_and_said(dev_planner: Planner) -> None:
    plan = dev_planner.plan_stack("llm-inference-pipeline")
    assert any("python.cli is a host tool" in n for n in plan.notes)
    assert not any(o["metadata"]["name"] == "python" for o in plan.objects)


def test_job_waits_and_endpoints(dev_planner: Planner) -> None:
    job = dev_planner.plan_job("llm-batch-job").job_object
    pod = job["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["wait-for-vllm-server", "wait-for-n8n"]
    assert "nc -z n8n.ai-ml-dev.svc.cluster.local 5678" in pod["initContainers"][1]["command"][2]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["B00T_N8N_URL"] == "http://n8n.ai-ml-dev.svc.cluster.local:5678"
    assert job["metadata"]["annotations"]["b00t.io/estimated-cost"] == "1.25"
    assert pod["restartPolicy"] == "Never"


def test_deployment_daily_cost_annotation(dev_planner: Planner) -> None:
    plan = dev_planner.plan_stack("llm-inference-pipeline")
    costs = {o["metadata"]["name"]: o["metadata"]["annotations"]["b00t.io/estimated-daily-cost"]
             for o in plan.objects if o["kind"] == "Deployment"}
    # dev prices, per pod-hour: 1 A100 x 0.50 + 8 CPU x 0.031611 + 32 GiB x 0.004237 = 0.888472; x 24 h =
    # 21.323328 -> 21.33 (cents, rounded up) for pytorch (1 replica: it mounts a ReadWriteOnce claim, no HPA),
    # x 2 (its HPA's maxReplicas) = 42.65 for vllm-server; n8n: no GPU, 1 CPU, 2 GiB, 1 replica
    assert costs == {"pytorch": "21.33", "vllm-server": "42.65", "n8n": "0.97"}
    currencies = {o["metadata"]["annotations"]["b00t.io/budget-currency"] for o in plan.objects
                  if o["kind"] == "Deployment"}
    assert currencies == {"USD"}
