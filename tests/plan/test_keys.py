"""No datum key without effect, no object the API server rejects (issue 10): each test pins one defect."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from b00t_pulumi.datum import Catalog
from b00t_pulumi.errors import PlanError
from b00t_pulumi.expand import expand
from b00t_pulumi.plan import Planner, SecretValue
from b00t_pulumi.settings import EnvironmentSettings

A100: dict[str, Any] = {"gpuInventory": {"nodes": [{"name": "g", "gpuType": "nvidia-a100", "slots": 4}]}}


def catalog(root: Path, files: dict[str, str]) -> Catalog:
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text))
    cat = Catalog.load([root])
    cat.raise_for_errors()
    return cat


def planner(cat: Catalog, environ: dict[str, str] | None = None, **settings: Any) -> Planner:
    return Planner(cat, EnvironmentSettings.model_validate(settings), environ=environ or {})


def obj(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def docker(name: str, extra: str = "", args: str = "") -> str:
    return f"""
        [b00t]
        name = "{name}"
        type = "docker"
        image = "busybox:1.36"
        docker_args = [{args}]
        {extra}
    """


def stack(name: str, members: list[str], extra: str = "") -> str:
    return f"""
        [b00t]
        name = "{name}"
        type = "stack"
        members = {members!r}
        {extra}
    """.replace("'", '"')


GPU_STACK = stack("llm", ["srv.docker"], """
    [b00t.orchestration]
    gpu_batch_group = "llama"
    [b00t.orchestration.gpu_requirements]
    count = 1
    gpu_type = "nvidia-a100"
    shared = true
    [b00t.orchestration.gpu_epoch]
    model_id = "llama-q4"
""")


def test_job_with_a_batch_group_and_no_gpu_requirements_shares_the_stacks_gpu(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {"llm.stack.toml": GPU_STACK, "srv.docker.toml": docker("srv"), "j.job.toml": """
        [b00t]
        name = "j"
        type = "job"
        image = "busybox:1.36"
        [b00t.orchestration]
        requires_stacks = ["llm"]
        gpu_batch_group = "llama"
    """})
    job = planner(cat, None, **A100).plan_job("j").job_object
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"  # before: silently no GPU
    assert job["metadata"]["labels"]["b00t.io/model-id"] == "llama-q4"
    assert job["metadata"]["annotations"]["b00t.io/gpu-shared"] == "true"


def test_job_with_a_batch_group_no_stack_runs_is_an_error(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {"j.job.toml": """
        [b00t]
        name = "j"
        type = "job"
        image = "busybox:1.36"
        [b00t.orchestration]
        gpu_batch_group = "nowhere"
    """})
    with pytest.raises(PlanError, match=r"gpu_batch_group: the job has no gpu_requirements .* add "
                                        r"\[b00t.orchestration.gpu_requirements\]"):
        planner(cat).plan_job("j")


def test_member_level_orchestration_keys_without_effect_warn(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {"s.stack.toml": stack("s", ["m.docker"]), "m.docker.toml": docker("m", """
        [b00t.orchestration]
        queue_name = "q"
        [b00t.orchestration.k8s]
        replicas = 3
        [b00t.orchestration.budget_constraint]
        daily_limit = 5
    """)})
    plan = planner(cat).plan_stack("s")
    keys = {w.key_path for w in plan.warnings}
    assert {"b00t.orchestration.queue_name", "b00t.orchestration.k8s", "b00t.orchestration.budget_constraint"} <= keys
    assert all("has no effect on a member of stack s" in w.message for w in plan.warnings)
    dep = obj(plan.objects, "Deployment", "m")
    assert dep["spec"]["replicas"] == 1 and "kueue.x-k8s.io/queue-name" not in dep["metadata"]["labels"]


def test_schedule_type_without_what_it_schedules_by_warns(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {"s.stack.toml": stack("s", ["m.docker"], """
        [b00t.orchestration]
        schedule_type = "queue_based"
    """), "m.docker.toml": docker("m")})
    plan = planner(cat).plan_stack("s")
    assert [w.key_path for w in plan.warnings] == ["b00t.orchestration.schedule_type"]
    assert obj(plan.objects, "Deployment", "m")["metadata"]["labels"]["b00t.io/schedule-type"] == "queue_based"


def test_member_depends_on_waits_for_the_other_members_service(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {
        "s.stack.toml": stack("s", ["api.docker", "db.docker"]),
        "api.docker.toml": docker("api", "", '"-p", "8080:8080"').replace(
            'type = "docker"', 'type = "docker"\n        depends_on = ["db.docker"]'),
        "db.docker.toml": docker("db", "", '"-p", "5432:5432"'),
    })
    plan = planner(cat).plan_stack("s")
    init = obj(plan.objects, "Deployment", "api")["spec"]["template"]["spec"]["initContainers"]
    assert [c["name"] for c in init] == ["wait-for-db"]
    assert "nc -z db.default.svc.cluster.local 5432" in init[0]["command"][2]
    assert "initContainers" not in obj(plan.objects, "Deployment", "db")["spec"]["template"]["spec"]


JOB = """
    [b00t]
    name = "{name}"
    type = "job"
    image = "busybox:1.36"
    depends_on = {deps}
    [b00t.orchestration]
    {orch}
"""


def test_job_after_job_is_held_until_the_other_succeeds(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {
        "a.job.toml": JOB.format(name="a", deps="[]", orch=""),
        "b.job.toml": JOB.format(name="b", deps='["a.job"]', orch=""),
        "c.job.toml": JOB.format(name="c", deps='["a.job"]', orch='queue_name = "q"'),
    })
    p = planner(cat)
    b = p.plan_job("b")
    assert b.job_object["metadata"]["annotations"]["b00t.io/after-jobs"] == "a"
    assert b.job_object["spec"]["suspend"] is True  # not queued: suspend holds it; the operator releases it
    c = p.plan_job("c").job_object
    assert c["metadata"]["annotations"]["b00t.io/after-jobs"] == "a"
    assert "suspend" not in c["spec"]  # queued: Kueue owns suspend; the AdmissionCheck holds it
    assert "suspend" not in p.plan_job("a").job_object["spec"]
    assert any("starts after a succeed" in n for n in b.notes)


def test_ports_one_name_per_port_and_protocol_and_host_bound_ports_stay_out(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {"s.stack.toml": stack("s", ["dns.docker"]), "dns.docker.toml": docker(
        "dns", "", '"-p", "53:53/udp", "-p", "53:53/tcp", "-p", "127.0.0.1:8443:8443"')})
    plan = planner(cat).plan_stack("s")
    svc = obj(plan.objects, "Service", "dns")
    assert [(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]] == [
        ("p53-udp", 53, "UDP"), ("p53", 53, "TCP")]  # before: two ports named p53, rejected by the API server
    ports = obj(plan.objects, "Deployment", "dns")["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert [p["name"] for p in ports] == ["p53-udp", "p53", "p8443"]
    assert any("publishes on one host address only" in w.message for w in plan.warnings)


def test_udp_only_services_are_not_probed_with_nc_and_a_stack_without_service_is_noted(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {
        "u.stack.toml": stack("u", ["syslog.docker"]),
        "syslog.docker.toml": docker("syslog", "", '"-p", "514:514/udp"'),
        "n.stack.toml": stack("n", ["quiet.docker"]),
        "quiet.docker.toml": docker("quiet"),
        "j.job.toml": JOB.format(name="j", deps="[]", orch='requires_stacks = ["u", "n"]'),
    })
    jp = planner(cat).plan_job("j")
    assert "initContainers" not in jp.job_object["spec"]["template"]["spec"]
    assert any("only UDP ports" in n for n in jp.notes)
    assert any("requires stack n, which has no Service" in n for n in jp.notes)


def test_endpoint_urls_have_a_scheme_only_when_known(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {
        "s.stack.toml": stack("s", ["redis.docker", "web.docker", "odd.docker"]),
        "redis.docker.toml": docker("redis", "", '"-p", "6379:6379"'),
        "web.docker.toml": docker("web", "", '"-p", "8000:8000"'),
        "odd.docker.toml": docker("odd", "", '"-p", "7777:7777"'),
    })
    urls = {e.member: e.url for e in planner(cat).plan_stack("s").endpoints}
    assert urls == {"redis": "redis://redis.default.svc.cluster.local:6379",  # before: http://...:6379
                    "web": "http://web.default.svc.cluster.local:8000",
                    "odd": "odd.default.svc.cluster.local:7777"}


def test_one_expander_for_every_field_with_both_default_forms() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert expand("${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${UNSET:-d} ${SET-d}", env).value == "d  d d x"
    assert expand("$${SET}", env).value == "${SET}"
    assert expand("${UNSET}", env).missing == ("UNSET",)


def test_image_command_and_args_are_expanded(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {"s.stack.toml": stack("s", ["m.docker"]), "m.docker.toml": """
        [b00t]
        name = "m"
        type = "docker"
        image = "registry.local/m:${TAG-1.0}"
        command = ["serve", "--port=${PORT:-80}"]
        args = ["${MISSING}"]
    """})
    plan = planner(cat, {"PORT": ""}).plan_stack("s")
    c = obj(plan.objects, "Deployment", "m")["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "registry.local/m:1.0" and c["command"] == ["serve", "--port=80"] and c["args"] == [""]
    assert any(w.key_path == "b00t.args[0]" and "${MISSING}" in w.message for w in plan.warnings)


AUTOSCALE = """
    [b00t.orchestration.k8s]
    enable_auto_scaling = true
    min_replicas = 1
    max_replicas = {top}
"""


def test_hpa_needs_cpu_requests(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {"s.stack.toml": stack("s", ["m.docker"], AUTOSCALE.format(top=3)),
                             "m.docker.toml": docker("m")})
    plan = planner(cat).plan_stack("s")
    assert not [o for o in plan.objects if o["kind"] == "HorizontalPodAutoscaler"]
    assert obj(plan.objects, "Deployment", "m")["spec"]["replicas"] == 1
    assert any("no CPU request" in w.message for w in plan.warnings)


def test_hpa_never_for_a_readwriteonce_claim_and_never_above_the_gpus(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {
        "s.stack.toml": stack("s", ["vol.docker", "gpu.docker"], AUTOSCALE.format(top=9) + """
            [b00t.orchestration.resource_requirements]
            cpu = "1"
        """),
        "vol.docker.toml": docker("vol", "", '"-v", "data:/data"'),
        "gpu.docker.toml": docker("gpu", """
            [b00t.orchestration.gpu_requirements]
            count = 1
            gpu_type = "nvidia-a100"
            shared = true
        """),
    })
    plan = planner(cat, None, **A100).plan_stack("s")
    hpas = {o["metadata"]["name"]: o for o in plan.objects if o["kind"] == "HorizontalPodAutoscaler"}
    assert list(hpas) == ["gpu"] and hpas["gpu"]["spec"]["maxReplicas"] == 4  # 1 GPU x 4 slots, not 9
    assert any("mounts ReadWriteOnce" in w.message for w in plan.warnings)
    assert any("at most 4" in w.message for w in plan.warnings)


def test_a_password_inside_a_url_goes_to_a_secret(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {"s.stack.toml": stack("s", ["m.docker"]), "m.docker.toml": docker("m", """
        [b00t.env]
        DATABASE_URL = "postgres://app:s3cret@db:5432/app"
        CACHE = "${CACHE_URL}"
        PLAIN = "redis://cache:6379"
    """)})
    plan = planner(cat, {"CACHE_URL": "redis://:hunter2@cache:6379"}).plan_stack("s")
    env = {e["name"]: e for e in obj(plan.objects, "Deployment", "m")["spec"]["template"]["spec"]["containers"][0][
        "env"]}
    assert "valueFrom" in env["DATABASE_URL"] and "valueFrom" in env["CACHE"]
    assert env["PLAIN"]["value"] == "redis://cache:6379"
    secret = obj(plan.objects, "Secret", "m-env")
    assert isinstance(secret["stringData"]["DATABASE_URL"], SecretValue)


def test_seed_labels_and_annotations_on_the_workloads(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {"s.stack.toml": stack("s", ["m.docker"], """
        [b00t.orchestration]
        schedule_type = "budget_aware"
        [b00t.orchestration.resource_requirements]
        cpu = "1"
        [b00t.orchestration.budget_constraint]
        daily_limit = 100
        cost_per_job = 2.5
    """), "m.docker.toml": docker("m")})  # (a workload of a budget must request something to be priced)
    dep = obj(planner(cat).plan_stack("s").objects, "Deployment", "m")
    assert dep["metadata"]["labels"]["b00t.io/schedule-type"] == "budget_aware"
    ann = dep["metadata"]["annotations"]
    assert (ann["b00t.io/budget-daily-limit"], ann["b00t.io/cost-per-job"], ann["b00t.io/budget-currency"]) == (
        "100.00", "2.50", "USD")
