"""The real __main__.py under Pulumi mocks with the dev config: what it registers, and how."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pulumi
import pytest
import yaml

from tests.deploy.harness import DeferringMocks, Registration, dev_config, is_secret, run_program

pytestmark = pytest.mark.usefixtures("secret_env")


@pytest.fixture()
def registered(kubeconfig: Path) -> list[Registration]:
    return run_program(dev_config({"kubernetes:kubeconfig": str(kubeconfig)}))


def by(regs: list[Registration], type_suffix: str) -> list[Registration]:
    return [r for r in regs if r.type.endswith(type_suffix)]


def children(regs: list[Registration], component: Registration) -> list[Registration]:
    return [r for r in regs if r.parent == component.urn]


def test_types_and_counts_per_stack(registered: list[Registration]) -> None:
    stacks = {r.name: r for r in by(registered, "B00tStack")}
    assert set(stacks) == {"llm-inference-pipeline", "marketing-sentiment-analysis"}
    llm = Counter(r.type.split(":")[-1] for r in children(registered, stacks["llm-inference-pipeline"]))
    # one HPA: pytorch and n8n mount ReadWriteOnce claims, so they keep one replica (a planner warning)
    assert llm == {"Deployment": 3, "Service": 2, "HorizontalPodAutoscaler": 1, "PersistentVolumeClaim": 3,
                   "Secret": 2}
    mkt = Counter(r.type.split(":")[-1] for r in children(registered, stacks["marketing-sentiment-analysis"]))
    assert mkt == {"Deployment": 2, "Service": 2, "PersistentVolumeClaim": 2, "Secret": 1}
    # budgets and their gates are created first, at the top, so workloads can wait for them
    assert {r.name for r in by(registered, "index:BudgetConstraint")} == {
        "ai-ml-dev-llm-inference-pipeline-budget", "ai-ml-dev-marketing-sentiment-analysis-budget",
        "ai-ml-dev-llm-batch-job-budget"}
    assert {r.name for r in by(registered, "Resource") if r.type.startswith("pulumi-python:dynamic")} >= {
        "budget-gate-llm-inference-pipeline-budget", "gpu-epochs"}
    assert {r.name for r in by(registered, "B00tJob")} == {"llm-batch-job", "sentiment-scoring"}
    assert len(by(registered, "KueueQueues")) == 1 and len(by(registered, "GpuTimeSlicing")) == 1


def test_every_kubernetes_object_has_a_component_parent_and_the_provider(registered: list[Registration]) -> None:
    top_level = {"Namespace", "CustomResourceDefinition"}
    for r in registered:
        if r.custom and r.type.startswith("kubernetes:") and r.type.split(":")[-1] not in top_level:
            assert r.parent_type.startswith("b00t:index:"), r.urn


def test_gpu_limits_affinity_and_awaits(registered: list[Registration]) -> None:
    dep = next(r for r in by(registered, "apps/v1:Deployment") if r.name.endswith("vllm-server"))
    pod = dep.inputs["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    term = pod["affinity"]["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    # dev's cluster runs pods: Pulumi waits for Deployments; never for Jobs (Kueue and the gates decide)
    assert "pulumi.com/skipAwait" not in dep.inputs["metadata"]["annotations"]
    job = next(r for r in by(registered, "batch/v1:Job") if r.name.endswith("llm-batch-job"))
    assert job.inputs["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    n8n = next(r for r in by(registered, "apps/v1:Deployment") if r.name.endswith("-n8n"))
    assert "nvidia.com/gpu" not in n8n.inputs["spec"]["template"]["spec"]["containers"][0].get(
        "resources", {}).get("limits", {})


def test_jobs_have_queue_labels_and_wait_for_stacks(registered: list[Registration]) -> None:
    job = next(r for r in by(registered, "batch/v1:Job") if r.name.endswith("llm-batch-job"))
    assert job.inputs["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "gpu-queue"
    stack = next(r for r in by(registered, "B00tStack") if r.name == "llm-inference-pipeline")
    component = next(r for r in by(registered, "B00tJob") if r.name == "llm-batch-job")
    assert job.parent == component.urn
    # depending on a component means depending on everything it creates
    stack_deployments = {r.urn for r in children(registered, stack) if r.type.endswith("Deployment")}
    assert len(stack_deployments) == 3 and stack_deployments <= set(job.dependencies)
    local = [r for r in by(registered, "LocalQueue")]
    # dev runs the b00t operator (b00t:operator.local): the AdmissionCheck holds gated Jobs, no held queue
    assert {r.inputs["metadata"]["name"] for r in local} == {"gpu-queue", "cpu-queue"}
    checks = by(registered, "AdmissionCheck")
    assert [r.inputs["spec"]["controllerName"] for r in checks] == ["b00t.io/budget"]


def test_secrets_are_pulumi_secrets(registered: list[Registration]) -> None:
    secrets = by(registered, "core/v1:Secret")
    assert len(secrets) == 5
    for s in secrets:
        # a secret value makes the whole stringData a Pulumi secret on the wire
        assert is_secret(s.inputs["stringData"]) and s.inputs["stringData"]["value"], s.name


def test_crd_before_cr(registered: list[Registration]) -> None:
    crd = next(r for r in registered if r.type.endswith("CustomResourceDefinition"))
    crs = by(registered, "b00t.io/v1:BudgetConstraint")
    assert len(crs) == 3
    for cr in crs:
        assert crd.urn in cr.dependencies
    flavors = {r.urn for r in by(registered, "ResourceFlavor")}
    cq = next(iter(by(registered, "ClusterQueue")))
    assert flavors <= set(cq.dependencies)


def test_time_slicing_configmap(registered: list[Registration]) -> None:
    cm = next(r for r in by(registered, "core/v1:ConfigMap"))
    assert cm.inputs["metadata"]["namespace"] == "gpu-operator"
    cfg = yaml.safe_load(cm.inputs["data"]["nvidia-a100"])
    assert cfg["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]


@pytest.mark.parametrize(("override", "message"), [
    ({"b00t:namepsace": "x"}, r"b00t:namepsace: unknown key 'namepsace': did you mean 'namespace'\?"),
    ({"b00t:prices": {"gpuHour": {"nvidia-a100": "-1"}}}, r"b00t:prices\.gpuHour\.nvidia-a100: .*negative"),
    ({"b00t:kueue": {"borrowingLimit": 2}}, r"borrowingLimit needs a cohort"),
    ({"b00t:skipAwait": "maybe"}, r"b00t:skipAwait: .*boolean"),
    ({"kubernetes:kubeconfig": "/nonexistent/kubeconfig"}, r"kubernetes:kubeconfig: /nonexistent/kubeconfig does not"),
    ({"b00t:stacks": ["no-such-stack"]}, r"stack 'no-such-stack\.stack' not found"),
])
def test_config_errors_are_clear(kubeconfig: Path, override: dict[str, object], message: str) -> None:
    config = dev_config({"kubernetes:kubeconfig": str(kubeconfig), **override})
    with pytest.raises(pulumi.RunError, match=message) as exc:
        run_program(config)
    assert "Traceback" not in str(exc.value)


def test_missing_secret_value_is_a_clear_error(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("N8N_BASIC_AUTH_PASSWORD")
    with pytest.raises(pulumi.RunError, match=r"N8N_BASIC_AUTH_PASSWORD: secret has no value: export "
                                              r"N8N_BASIC_AUTH_PASSWORD or run `pulumi config set --secret"):
        run_program(dev_config({"kubernetes:kubeconfig": str(kubeconfig)}))


def test_secret_from_config_wins(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("N8N_BASIC_AUTH_PASSWORD")
    regs = run_program(dev_config({"kubernetes:kubeconfig": str(kubeconfig),
                                   "b00t:secrets": {"N8N_BASIC_AUTH_PASSWORD": "from-config"}}))
    n8n = next(r for r in by(regs, "core/v1:Secret") if r.name.endswith("n8n-env"))
    assert is_secret(n8n.inputs["stringData"])
    assert n8n.inputs["stringData"]["value"]["N8N_BASIC_AUTH_PASSWORD"] == "from-config"


def test_one_datum_change_changes_only_its_resources(kubeconfig: Path, tmp_path: Path, repo: Path) -> None:
    for d in ("stacks", "components"):
        shutil.copytree(repo / d, tmp_path / d)
    config = dev_config({"kubernetes:kubeconfig": str(kubeconfig),
                         "b00t:datumPaths": [str(tmp_path / "stacks"), str(tmp_path / "components")]})
    before = {r.urn: r.inputs for r in run_program(config)}
    f = tmp_path / "stacks" / "marketing-sentiment-analysis.stack.toml"
    f.write_text(f.read_text().replace("cost_per_job = 0.50", "cost_per_job = 0.75"))
    after = {r.urn: r.inputs for r in run_program(config)}
    assert before.keys() == after.keys()
    changed = sorted(urn.rsplit("::", 1)[1] for urn in before if before[urn] != after[urn])
    # the budget CR, its gate, and the workloads that carry the stack's cost_per_job (the job's cost,
    # seed 000's b00t.io/cost-per-job annotation on the stack's Deployments)
    assert changed == ["ai-ml-dev-marketing-sentiment-analysis-budget", "ai-ml-dev-redis", "ai-ml-dev-sentiment-api",
                       "ai-ml-dev-sentiment-scoring", "budget-gate-marketing-sentiment-analysis-budget"]


def _workloads(regs: list[Registration], kind: str) -> dict[str, dict[str, object]]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in by(regs, kind)}


def test_a_deferred_deployment_runs_no_pods_even_with_an_hpa(kubeconfig: Path) -> None:
    regs = run_program(dev_config({"kubernetes:kubeconfig": str(kubeconfig)}), mocks=DeferringMocks())
    deps = _workloads(regs, "apps/v1:Deployment")
    hpas = {r.inputs["spec"]["scaleTargetRef"]["name"] for r in by(regs, "HorizontalPodAutoscaler")}
    assert hpas == {"vllm-server"}  # an HPA (floor 1) scales it; pytorch and n8n mount ReadWriteOnce claims
    for name in ("pytorch", "vllm-server", "n8n", "redis", "sentiment-api"):
        assert deps[name]["spec"]["replicas"] == 0, name  # type: ignore[index]
        assert deps[name]["metadata"]["annotations"]["b00t.io/deferred-until"] == "2026-11-23T00:00:00Z"  # type: ignore[index]


def test_a_deferred_job_says_when_it_may_start(kubeconfig: Path) -> None:
    regs = run_program(dev_config({"kubernetes:kubeconfig": str(kubeconfig)}), mocks=DeferringMocks())
    jobs = _workloads(regs, "batch/v1:Job")
    assert set(jobs) == {"llm-batch-job", "sentiment-scoring"}
    for job in jobs.values():
        # queued: Kueue owns suspend, the b00t-budget AdmissionCheck holds it until this time
        assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"]  # type: ignore[index]
        assert job["metadata"]["annotations"]["b00t.io/deferred-until"] == "2026-11-23T00:00:00Z"  # type: ignore[index]


def test_undeferred_hpa_deployments_start_at_the_hpa_floor(registered: list[Registration]) -> None:
    deps = _workloads(registered, "apps/v1:Deployment")
    assert deps["vllm-server"]["spec"]["replicas"] == 1  # type: ignore[index]  # the HPA's minReplicas
    assert deps["redis"]["spec"]["replicas"] == 1  # type: ignore[index]  # planned replicas
    for job in _workloads(registered, "batch/v1:Job").values():
        assert job["metadata"]["annotations"]["b00t.io/deferred-until"] == ""  # type: ignore[index]


@pytest.mark.parametrize("operator", [True, False])
@pytest.mark.parametrize("defer", [True, False])
def test_the_program_applies_the_gates_as_the_core_does(kubeconfig: Path, operator: bool, defer: bool) -> None:
    """Every gated workload the program registers has the suspend, replicas and queue that
    ``gates.decisions.apply_fields`` gives the planned object under the same decision."""
    from b00t_pulumi.datum import Catalog
    from b00t_pulumi.gates.decisions import DEFERRED_UNTIL, PLANNED_START, apply_fields, gate_fields, hpa_floor
    from b00t_pulumi.plan import Planner
    from b00t_pulumi.settings import load_environment
    from tests.deploy.harness import REPO

    overrides: dict[str, object] = {"kubernetes:kubeconfig": str(kubeconfig)}
    if not operator:
        overrides["b00t:operator"] = None
    regs = run_program(dev_config(overrides), mocks=DeferringMocks() if defer else None)
    settings = load_environment("dev", REPO)
    if not operator:
        settings = settings.model_copy(update={"operator": None})
    plan = Planner(Catalog.load([REPO / "stacks", REPO / "components"]), settings, environ={}).plan_cluster()
    planned = {(o["kind"], o["metadata"]["name"]): o for o in plan.all_objects()}
    checked = 0
    for kind in ("Job", "Deployment"):
        for name, got in _workloads(regs, f":{kind}").items():
            ann = got["metadata"].get("annotations", {})  # type: ignore[attr-defined]
            gates = {"epoch": PLANNED_START in ann, "budget": DEFERRED_UNTIL in ann}
            if not any(gates.values()):
                continue
            fields = gate_fields(name, assignment=None, deferred={name: "2026-11-23T00:00:00Z"} if defer else {},
                                 kind=kind, **gates)
            obj = planned[(kind, name)]
            want = apply_fields(obj, fields, hpa_floor(obj, plan.all_objects()), operator=operator)
            assert got["spec"].get("suspend") == want["spec"].get("suspend"), name  # type: ignore[attr-defined]
            assert got["spec"].get("replicas") == want["spec"].get("replicas"), name  # type: ignore[attr-defined]
            assert got["metadata"]["labels"] == want["metadata"]["labels"], name  # type: ignore[index]
            pod_spec = got["spec"]["template"].get("spec", {})  # type: ignore[index]
            assert pod_spec.get("affinity") == want["spec"]["template"]["spec"].get("affinity"), name
            checked += 1
    assert checked >= 4  # both Jobs and the budgeted Deployments
