"""One GPU capacity model: flavors, quotas, time-slicing, affinities, the epoch plan and the fake nodes agree.

Each test names the defect it pins (issue 10): before the capacity model, flavors carried the unshared
product label that time-sliced nodes never have, quotas ignored Deployments, and so on.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from b00t_pulumi.datum import Catalog
from b00t_pulumi.epoch.deploy import epoch_inputs
from b00t_pulumi.errors import PlanError
from b00t_pulumi.gpu.capacity import CONFIG_LABEL, PRODUCT_LABEL, GpuCapacity
from b00t_pulumi.plan import Planner
from b00t_pulumi.settings import EnvironmentSettings, load_environment
from b00t_pulumi.settings.model import OperatorSettings
from b00t_pulumi.simulation.nodes import fake_nodes


def settings(nodes: list[dict[str, Any]], **extra: Any) -> EnvironmentSettings:
    return EnvironmentSettings.model_validate({"gpuInventory": {"nodes": nodes}, **extra})


def write(root: Path, files: dict[str, str]) -> Catalog:
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text))
    cat = Catalog.load([root])
    cat.raise_for_errors()
    return cat


def kinds(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


GPU_JOB = """
    [b00t]
    name = "{name}"
    type = "job"
    image = "busybox:1.36"
    [b00t.orchestration]
    queue_name = "gpu-queue"
    estimated_duration = "10m"
    [b00t.orchestration.gpu_requirements]
    count = 1
    {extra}
"""


def matches(selector_values: list[str], labels: dict[str, str]) -> bool:
    return labels.get(PRODUCT_LABEL) in selector_values


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_flavor_labels_and_affinities_match_the_nodes(env: str, catalog: Catalog, repo: Path) -> None:
    """The flavor's nodeLabels are a conjunction every node of its class carries, and every GPU pod's
    affinity accepts those nodes (the fake nodes are made by the same function)."""
    s = load_environment(env, repo)
    cp = Planner(catalog, s, environ={}).plan_cluster()
    nodes = {n["metadata"]["name"]: n["metadata"]["labels"] for n in fake_nodes(s)}
    capacity = GpuCapacity.from_inventory(s.gpu_inventory)
    for flavor in kinds(cp.kueue, "ResourceFlavor"):
        wanted = flavor["spec"].get("nodeLabels")
        if not wanted:
            continue
        cls = next(c for c in capacity.classes if c.name == flavor["metadata"]["name"])
        for n in cls.nodes:
            assert wanted.items() <= nodes[n.name].items(), (flavor["metadata"]["name"], n.name)
        # before: NVIDIA-A100-SXM4-40GB, which a time-sliced node (renameByDefault false) never carries
        assert wanted[PRODUCT_LABEL].endswith("-SHARED")
    for o in cp.all_objects():
        if o["kind"] not in ("Deployment", "Job"):
            continue
        aff = o["spec"]["template"]["spec"].get("affinity", {}).get("nodeAffinity")
        if not aff:
            continue
        values = aff["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0][
            "values"]
        assert any(matches(values, labels) for labels in nodes.values()), o["metadata"]["name"]


def test_quota_time_slicing_and_nodes_agree(catalog: Catalog, repo: Path) -> None:
    s = load_environment("prod", repo)
    cp = Planner(catalog, s, environ={}).plan_cluster()
    cm = kinds(cp.time_slicing, "ConfigMap")[0]
    assert "replicas: 4" in cm["data"]["nvidia-a100"]  # = the inventory's slots, the node label
    for n in fake_nodes(s):
        if PRODUCT_LABEL in n["metadata"]["labels"]:
            assert n["metadata"]["labels"]["nvidia.com/gpu.replicas"] == "4"
            assert n["status"]["capacity"]["nvidia.com/gpu"] == "16"  # 4 GPUs x 4 slots
            assert n["metadata"]["labels"][CONFIG_LABEL] in cm["data"]


def test_mixed_inventory_gets_a_flavor_and_config_key_per_node_class(tmp_path: Path) -> None:
    cat = write(tmp_path, {
        "a.job.toml": GPU_JOB.format(name="a", extra='gpu_type = "nvidia-a100"\nshared = true'),
        "b.job.toml": GPU_JOB.format(name="b", extra='gpu_type = "nvidia-a100"'),
    })
    s = settings([
        {"name": "sxm-1", "gpuType": "nvidia-a100", "product": "NVIDIA-A100-SXM4-40GB", "gpus": 2, "slots": 4},
        {"name": "pcie-1", "gpuType": "nvidia-a100", "product": "NVIDIA-A100-80GB-PCIe", "gpus": 1, "slots": 1},
    ])
    cp = Planner(cat, s, environ={}).plan_cluster()
    flavors = {f["metadata"]["name"]: f["spec"]["nodeLabels"] for f in kinds(cp.kueue, "ResourceFlavor")
               if f["spec"].get("nodeLabels")}
    assert flavors == {
        "nvidia-a100-nvidia-a100-sxm4-40gb-x4": {PRODUCT_LABEL: "NVIDIA-A100-SXM4-40GB-SHARED",
                                                 "nvidia.com/gpu.replicas": "4"},
        "nvidia-a100-nvidia-a100-80gb-pcie-x1": {PRODUCT_LABEL: "NVIDIA-A100-80GB-PCIe",
                                                 "nvidia.com/gpu.replicas": "1"},
    }
    cq = kinds(cp.kueue, "ClusterQueue")[0]
    quotas = {f["name"]: f["resources"][0]["nominalQuota"] for f in cq["spec"]["resourceGroups"][1]["flavors"]}
    assert quotas == {"nvidia-a100-nvidia-a100-sxm4-40gb-x4": "8", "nvidia-a100-nvidia-a100-80gb-pcie-x1": "1"}
    cm = kinds(cp.time_slicing, "ConfigMap")[0]
    # the shared class its own key; the unshared node the default 'exclusive' key (never another type's config)
    assert set(cm["data"]) == {"nvidia-a100-nvidia-a100-sxm4-40gb-x4", "exclusive"}
    assert "sharing" not in cm["data"]["exclusive"]
    assert any("kubectl label node sxm-1 nvidia.com/device-plugin.config=nvidia-a100-nvidia-a100-sxm4-40gb-x4" in n
               for n in cp.all_notes())
    # job b does not share: only the unshared product; job a may use either
    job_b = next(o for o in cp.all_objects() if o["kind"] == "Job" and o["metadata"]["name"] == "b")
    expr = job_b["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert expr["values"] == ["NVIDIA-A100-80GB-PCIe"]


def test_cluster_queue_covers_a_queued_members_own_gpu_type(tmp_path: Path) -> None:
    """A queued stack whose member declares its own gpu_requirements: the ClusterQueue needs that flavor."""
    cat = write(tmp_path, {
        "s.stack.toml": """
            [b00t]
            name = "s"
            type = "stack"
            members = ["infer.docker"]
            [b00t.orchestration]
            queue_name = "serve"
        """,
        "infer.docker.toml": """
            [b00t]
            name = "infer"
            type = "docker"
            image = "vllm/vllm-openai:v0.6.4"
            [b00t.orchestration.gpu_requirements]
            count = 1
            gpu_type = "nvidia-l4"
        """,
    })
    cp = Planner(cat, settings([{"name": "l4", "gpuType": "nvidia-l4", "gpus": 2}]), environ={}).plan_cluster()
    cq = kinds(cp.kueue, "ClusterQueue")[0]
    assert [f["name"] for f in cq["spec"]["resourceGroups"][1]["flavors"]] == ["nvidia-l4"]
    assert cq["spec"]["resourceGroups"][1]["flavors"][0]["resources"][0]["nominalQuota"] == "2"


@pytest.mark.parametrize(("extra", "nodes", "kueue", "message"), [
    ("", [{"name": "n", "gpuType": "nvidia-a100"}], {}, "of no type: Kueue admits GPUs per flavor, so set gpu_type"),
    ('gpu_type = "nvidia-h100"', [{"name": "n", "gpuType": "nvidia-a100"}], {},
     "b00t:gpuInventory has no nvidia-h100 node"),
    ('gpu_type = "nvidia-a100"', [{"name": "n", "gpuType": "nvidia-a100"}], {"gpus": {"nvidia-a100": 0}},
     "b00t:kueue.gpus.nvidia-a100 is 0"),
])
def test_queued_gpu_work_kueue_could_never_admit_is_an_error(tmp_path: Path, extra: str, nodes: list[dict[str, Any]],
                                                             kueue: dict[str, Any], message: str) -> None:
    cat = write(tmp_path, {"j.job.toml": GPU_JOB.format(name="j", extra=extra)})
    with pytest.raises(PlanError, match=r"j\.job\.toml: b00t\.orchestration\.gpu_requirements") as err:
        Planner(cat, settings(nodes, kueue=kueue), environ={}).plan_cluster()
    assert message in str(err.value)


def test_max_concurrent_jobs_above_the_slots_is_an_error(tmp_path: Path) -> None:
    cat = write(tmp_path, {"j.job.toml": GPU_JOB.format(name="j", extra='gpu_type = "nvidia-a100"\nshared = true\n'
                           '[b00t.orchestration.gpu_epoch]\nmodel_id = "m"\nmax_concurrent_jobs = 8')})
    with pytest.raises(PlanError, match=r"max_concurrent_jobs: 8 jobs at once .* gives 4 slots"):
        Planner(cat, settings([{"name": "n", "gpuType": "nvidia-a100", "slots": 4}]), environ={}).plan_cluster()


def test_unshared_work_on_only_time_sliced_nodes_is_an_error(tmp_path: Path) -> None:
    cat = write(tmp_path, {"j.job.toml": GPU_JOB.format(name="j", extra='gpu_type = "nvidia-a100"')})
    with pytest.raises(PlanError, match="every nvidia-a100 node in b00t:gpuInventory is time-sliced"):
        Planner(cat, settings([{"name": "n", "gpuType": "nvidia-a100", "slots": 4}]), environ={}).plan_cluster()


def test_deployment_slices_are_left_out_of_quota_and_epoch_slots(catalog: Catalog, repo: Path) -> None:
    planner = Planner(catalog, load_environment("dev", repo), environ={})
    cp = planner.plan_cluster()
    held = planner.held_gpu_slices(cp)
    assert held == {"nvidia-a100": 3}  # pytorch (1) + vllm-server's HPA at its most (2)
    assert [g["slots"] for g in epoch_inputs(planner, cp)["gpus"]] == [1]  # 4 slots - 3 held
    cq = kinds(cp.kueue, "ClusterQueue")[0]
    assert cq["spec"]["resourceGroups"][1]["flavors"][0]["resources"][0]["nominalQuota"] == "1"


def test_several_stacks_sharing_a_type_get_one_replica_count(tmp_path: Path) -> None:
    files = {}
    for name, n in (("s1", 2), ("s2", 3)):
        files[f"{name}.stack.toml"] = f"""
            [b00t]
            name = "{name}"
            type = "stack"
            members = ["{name}-d.docker"]
            [b00t.orchestration.gpu_requirements]
            count = 1
            gpu_type = "nvidia-t4"
            shared = true
            [b00t.orchestration.gpu_epoch]
            model_id = "{name}"
            max_concurrent_jobs = {n}
        """
        files[f"{name}-d.docker.toml"] = f"""
            [b00t]
            name = "{name}-d"
            type = "docker"
            image = "busybox:1.36"
        """
    cat = write(tmp_path, files)
    cp = Planner(cat, settings([{"name": "t4", "gpuType": "nvidia-t4", "slots": 4}]), environ={}).plan_cluster()
    data = kinds(cp.time_slicing, "ConfigMap")[0]["data"]
    assert list(data) == ["nvidia-t4"] and "replicas: 4" in data["nvidia-t4"]  # the slots, not 2 or 3


def test_a_stacks_shared_applies_to_a_member_with_its_own_gpu_requirements(tmp_path: Path) -> None:
    cat = write(tmp_path, {
        "s.stack.toml": """
            [b00t]
            name = "s"
            type = "stack"
            members = ["m.docker"]
            [b00t.orchestration]
            gpu_batch_group = "grp"
            [b00t.orchestration.gpu_requirements]
            shared = true
            [b00t.orchestration.gpu_epoch]
            model_id = "mdl"
        """,
        "m.docker.toml": """
            [b00t]
            name = "m"
            type = "docker"
            image = "busybox:1.36"
            [b00t.orchestration.gpu_requirements]
            count = 1
            memory = "20Gi"
            gpu_type = "nvidia-a10g"
        """,
    })
    plan = Planner(cat, settings([{"name": "a", "gpuType": "nvidia-a10g", "slots": 2}]), environ={}).plan_stack("s")
    dep = kinds(plan.objects, "Deployment")[0]
    assert dep["metadata"]["annotations"]["b00t.io/gpu-shared"] == "true"  # before: dropped
    assert dep["metadata"]["labels"]["b00t.io/gpu-batch-group"] == "grp"
    assert dep["metadata"]["labels"]["b00t.io/model-id"] == "mdl"
    values = dep["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"]
    assert values == ["NVIDIA-A10G-SHARED"]


def test_queued_gpu_work_when_deployments_hold_every_slice_is_an_error(tmp_path: Path) -> None:
    cat = write(tmp_path, {
        "s.stack.toml": """
            [b00t]
            name = "s"
            type = "stack"
            members = ["d.docker"]
            [b00t.orchestration.gpu_requirements]
            count = 1
            gpu_type = "nvidia-a100"
            shared = true
            [b00t.orchestration.k8s]
            replicas = 4
        """,
        "d.docker.toml": '[b00t]\nname = "d"\ntype = "docker"\nimage = "busybox:1.36"\n',
        "j.job.toml": GPU_JOB.format(name="j", extra='gpu_type = "nvidia-a100"\nshared = true'),
    })
    with pytest.raises(PlanError, match="Deployments outside Kueue hold all 4 nvidia-a100 GPU slices"):
        Planner(cat, settings([{"name": "n", "gpuType": "nvidia-a100", "slots": 4}]), environ={}).plan_cluster()


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_kwok_annotations_only_where_kwok_runs(env: str, catalog: Catalog, repo: Path) -> None:
    """Pod-complete delays are for the local kwok cluster (b00t:simulation): never on prod's objects."""
    s = load_environment(env, repo)
    jobs = [o for o in Planner(catalog, s, environ={}).plan_cluster().all_objects() if o["kind"] == "Job"]
    delays = [o["spec"]["template"]["metadata"].get("annotations", {}).get("pod-complete.stage.kwok.x-k8s.io/delay")
              for o in jobs]
    text = str(Planner(catalog, s, environ={}).plan_cluster().all_objects())
    if env == "dev":
        assert delays == ["20.000s", "5.000s"]  # 20 and 5 minutes at timeScale 60
    else:
        assert delays == [None, None] and "kwok" not in text


def test_a_queued_gpu_job_without_gpu_epoch_has_the_held_queue_its_epoch_gate_may_send_it_to(tmp_path: Path) -> None:
    """Every GPU Job is placed by the epoch plan, which may hold it for a later epoch: without the
    operator it then joins the held queue, which must exist in its namespace (the planner used to
    plan it only for Jobs that set gpu_epoch, so such a Job pointed at a LocalQueue nobody made)."""
    cat = write(tmp_path, {"j.job.toml": GPU_JOB.format(name="j", extra='gpu_type = "nvidia-a100"\nshared = true')})
    s = settings([{"name": "n", "gpuType": "nvidia-a100", "slots": 4}],
                 kueue={"clusterQueue": "q", "gpus": {"nvidia-a100": 4}})
    planner = Planner(cat, s, environ={})
    cp = planner.plan_cluster()
    assert [j["id"] for j in epoch_inputs(planner, cp)["jobs"]] == ["j"]  # the epoch gate places it
    queues = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in kinds(cp.kueue, "LocalQueue")}
    assert (cp.jobs[0].namespace, "b00t-held") in queues
    with_operator = Planner(cat, s.model_copy(update={"operator": OperatorSettings(local=True)}), environ={})
    checks = kinds(with_operator.plan_cluster().kueue, "AdmissionCheck")
    assert [c["metadata"]["name"] for c in checks] == ["b00t-budget"]
    # an operator that this project neither starts (local) nor deploys (image) must be run by hand
    by_hand = Planner(cat, s.model_copy(update={"operator": OperatorSettings()}), environ={}).plan_cluster()
    assert any("neither local nor image" in n for n in by_hand.all_notes())
    assert not any("neither local nor image" in n for n in with_operator.plan_cluster().all_notes())


EPOCH = """
    [b00t.orchestration.gpu_epoch]
    model_id = "m"
    load_time = "84s"
    load_time_by_type = {by_type}
"""


def test_load_time_by_type_reaches_the_epoch_plan_and_a_type_without_effect_is_a_warning(tmp_path: Path) -> None:
    cat = write(tmp_path, {
        "a.job.toml": GPU_JOB.format(name="a", extra='gpu_type = "nvidia-h100"') + EPOCH.format(
            by_type='{ nvidia-h100 = "20s", nvidia-l4 = "1m" }'),
        "b.job.toml": GPU_JOB.format(name="b", extra='gpu_type = "nvidia-a100"') + EPOCH.format(
            by_type='{ nvidia-h100 = "20s" }'),
    })
    s = settings([{"name": "a-1", "gpuType": "nvidia-a100", "gpus": 1, "slots": 1},
                  {"name": "h-1", "gpuType": "nvidia-h100", "gpus": 1, "slots": 1}])
    planner = Planner(cat, s, environ={})
    cp = planner.plan_cluster()
    jobs = {j["id"]: j for j in epoch_inputs(planner, cp)["jobs"]}
    assert jobs["a"]["load_s"] == 84 and jobs["a"]["load_s_by_type"] == {"nvidia-h100": 20, "nvidia-l4": 60}
    warned = {(p.file.rsplit("/", 1)[-1], p.key_path, p.message) for p in cp.all_warnings()}
    key = "b00t.orchestration.gpu_epoch.load_time_by_type"
    assert ("a.job.toml", f"{key}.nvidia-l4",
            "has no effect: b00t:gpuInventory has no nvidia-l4 GPU (it has nvidia-a100, nvidia-h100)") in warned
    assert ("b.job.toml", f"{key}.nvidia-h100", "has no effect: gpu_requirements.gpu_type pins nvidia-a100") in warned
    assert all(p.severity == "warning" for p in cp.all_warnings())
    assert not any(w[1] == f"{key}.nvidia-h100" and w[0] == "a.job.toml" for w in warned)


def test_a_bad_gpu_name_in_load_time_by_type_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "a.job.toml").write_text(textwrap.dedent(GPU_JOB.format(name="a", extra="") + EPOCH.format(
        by_type='{ H100 = "20s", nvidia-a100 = "fast" }')))
    problems = [str(p) for p in Catalog.load([tmp_path]).problems]
    assert any(p.endswith('b00t.orchestration.gpu_epoch.load_time_by_type.H100: key: expected a lower-case b00t '
                          "GPU name such as nvidia-a100, got 'H100'") for p in problems), problems
    assert any("load_time_by_type.nvidia-a100: expected a duration" in p for p in problems), problems
