"""A stack's jobs as an Argo Workflow (DAG) or a Tekton Pipeline (seed 001), and the AiMlPipeline CR.

The jobs of a stack are the job datums that require it. Each becomes a task; a job's ``depends_on``
on another job of the set becomes a DAG edge; every task waits for the stack's Services first.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import Any

from b00t_pulumi.datum.models import JobDatum, StackDatum
from b00t_pulumi.errors import PlanError, Problem
from b00t_pulumi.plan import crds
from b00t_pulumi.plan.objects import MANAGED_BY, K8sObject, meta
from b00t_pulumi.plan.planner import Planner

WAIT_TASK = "wait-for-stack"


def _ordered_jobs(planner: Planner, stack: StackDatum) -> tuple[list[JobDatum], dict[str, list[str]]]:
    jobs = {j.name: j for j in planner.catalog.jobs_requiring(stack) if j.image}
    deps: dict[str, list[str]] = {}
    for name, j in jobs.items():
        deps[name] = sorted({r.rpartition(".")[0] for r in j.depends_on
                             if r.endswith(".job") and r.rpartition(".")[0] in jobs})
    try:
        order = list(TopologicalSorter(deps).static_order())
    except CycleError as exc:
        raise PlanError([Problem(stack.id, "", f"job dependency cycle: {' -> '.join(exc.args[1])}")]) from None
    return [jobs[n] for n in order], deps


def _wait_script(planner: Planner, stack: StackDatum) -> str:
    sp = planner.plan_stack(stack)
    checks = [f"nc -z {ep.host} {p}" for ep in sp.endpoints for p in ep.ports]
    if not checks:
        return f"echo 'stack {stack.name} has no services to wait for'"
    return f"until {' && '.join(checks)}; do echo 'waiting for stack {stack.name}'; sleep 2; done"


def _container(planner: Planner, job: JobDatum) -> dict[str, Any]:
    c: dict[str, Any] = planner.plan_job(job).job_object["spec"]["template"]["spec"]["containers"][0]
    return {k: v for k, v in c.items() if k != "name"}


def _argo_template(planner: Planner, job: JobDatum) -> dict[str, Any]:
    """The job's container plus what places it: labels (batch group), affinity and tolerations."""
    pod = planner.plan_job(job).job_object["spec"]["template"]
    t: dict[str, Any] = {"name": job.name, "metadata": {"labels": pod["metadata"]["labels"]},
                         "container": _container(planner, job)}
    for k in ("affinity", "tolerations"):
        if k in pod["spec"]:
            t[k] = pod["spec"][k]
    return t


def to_argo(planner: Planner, stack: StackDatum) -> K8sObject:
    """An Argo Workflow (``argoproj.io/v1alpha1``): wait for the stack, then the jobs as a DAG."""
    jobs, deps = _ordered_jobs(planner, stack)
    tasks: list[dict[str, Any]] = [{"name": WAIT_TASK, "template": WAIT_TASK}]
    templates: list[dict[str, Any]] = [
        {"name": WAIT_TASK, "container": {"image": "busybox:1.36", "command": ["sh", "-c"],
                                          "args": [_wait_script(planner, stack)]}},
    ]
    for j in jobs:
        tasks.append({"name": j.name, "template": j.name, "dependencies": [WAIT_TASK, *deps[j.name]]})
        templates.append(_argo_template(planner, j))
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": f"{stack.name}-", "namespace": planner.namespace_for(stack),
                     "labels": {"b00t.io/stack": stack.name, "app.kubernetes.io/managed-by": MANAGED_BY}},
        "spec": {"entrypoint": "main",
                 "templates": [{"name": "main", "dag": {"tasks": tasks}}, *templates]},
    }


def to_tekton(planner: Planner, stack: StackDatum) -> K8sObject:
    """A Tekton Pipeline (``tekton.dev/v1``): wait for the stack, then each job after its dependencies."""
    jobs, deps = _ordered_jobs(planner, stack)
    tasks: list[dict[str, Any]] = [{
        "name": WAIT_TASK,
        "taskSpec": {"steps": [{"name": "wait", "image": "busybox:1.36",
                                "script": "#!/bin/sh\n" + _wait_script(planner, stack) + "\n"}]},
    }]
    for j in jobs:
        step = {"name": "run", **_container(planner, j)}
        step.pop("resources", None)
        res = _container(planner, j).get("resources")
        if res:
            step["computeResources"] = res
        tasks.append({"name": j.name, "runAfter": [WAIT_TASK, *deps[j.name]], "taskSpec": {"steps": [step]}})
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "Pipeline",
        "metadata": meta(stack.name, planner.namespace_for(stack),
                         labels={"b00t.io/stack": stack.name, "app.kubernetes.io/managed-by": MANAGED_BY}),
        "spec": {"tasks": tasks},
    }


def to_tekton_run(planner: Planner, stack: StackDatum) -> K8sObject:
    """A Tekton PipelineRun of ``to_tekton``'s Pipeline: each job's task runs in a pod placed the way its
    Kubernetes Job would be (labels such as the Kueue queue and batch group, affinity, tolerations),
    through ``taskRunSpecs`` (a Pipeline itself has no pod template)."""
    jobs, _ = _ordered_jobs(planner, stack)
    specs: list[dict[str, Any]] = []
    for j in jobs:
        pod = planner.plan_job(j).job_object["spec"]["template"]
        spec: dict[str, Any] = {"pipelineTaskName": j.name, "metadata": {"labels": pod["metadata"]["labels"]}}
        template = {k: pod["spec"][k] for k in ("affinity", "tolerations", "nodeSelector") if k in pod["spec"]}
        if template:
            spec["podTemplate"] = template
        specs.append(spec)
    run: K8sObject = {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"generateName": f"{stack.name}-", "namespace": planner.namespace_for(stack),
                     "labels": {"b00t.io/stack": stack.name, "app.kubernetes.io/managed-by": MANAGED_BY}},
        "spec": {"pipelineRef": {"name": stack.name}},
    }
    if specs:
        run["spec"]["taskRunSpecs"] = specs
    return run


def to_crd(planner: Planner, stack: StackDatum) -> list[K8sObject]:
    """The AiMlPipeline CRD and this stack's CR (seed 000 section 5), from the same planned objects."""
    sp = planner.plan_stack(stack)
    so = stack.orch
    deployments = [o for o in sp.objects if o["kind"] == "Deployment"]
    containers = [c for d in deployments for c in d["spec"]["template"]["spec"]["containers"]]
    volumes = [v for d in deployments for v in d["spec"]["template"]["spec"].get("volumes", [])]
    unique_volumes = list({v["name"]: v for v in volumes}.values())
    affinity = next((d["spec"]["template"]["spec"]["affinity"] for d in deployments
                     if "affinity" in d["spec"]["template"]["spec"]), None)
    labels = {"b00t.io/stack": stack.name, "app.kubernetes.io/managed-by": MANAGED_BY}
    if so.schedule:
        labels["b00t.io/schedule-type"] = so.schedule.replace("_", "-")
    if so.gpu_batch_group:
        labels["b00t.io/gpu-batch-group"] = so.gpu_batch_group
    spec: dict[str, Any] = {
        "containers": containers,  # env secrets stay secretKeyRefs: no values are copied
    }
    if unique_volumes:
        spec["volumes"] = unique_volumes
    if affinity:
        spec["affinity"] = affinity
    if so.gpu_epoch or so.gpu_batch_group:
        spec["gpuBatching"] = {"enabled": True}
        if so.gpu_batch_group:
            spec["gpuBatching"]["batchGroup"] = so.gpu_batch_group
        if so.gpu_epoch:
            from b00t_pulumi.datum.quantities import format_duration

            spec["gpuBatching"].update({"modelId": so.gpu_epoch.model_id,
                                        "batchWindow": format_duration(so.gpu_epoch.batch_window),
                                        "maxConcurrentJobs": so.gpu_epoch.max_concurrent_jobs})
    if so.gpu_requirements:
        g = so.gpu_requirements
        spec["resources"] = {"gpu": {"count": g.count, "shared": g.shared,
                                     **({"memory": g.memory} if g.memory else {}),
                                     **({"type": g.gpu_type} if g.gpu_type else {})}}
    if so.budget_constraint and sp.budget:
        spec["budgetConstraint"] = {"enabled": True, **{k: v for k, v in sp.budget["spec"].items() if k != "target"}}
    cr = {"apiVersion": crds.API_VERSION, "kind": "AiMlPipeline",
          "metadata": meta(stack.name, sp.namespace, labels=labels), "spec": spec}
    return [crds.ai_ml_pipeline_crd(), cr]


def to_pod_template(planner: Planner, stack: StackDatum) -> K8sObject:
    """The stack as one pod (upstream b00t's ``to-crd --pod-only``): a ``v1 PodTemplate`` holding the
    AiMlPipeline CR's containers, volumes and affinity, labelled with its batch group."""
    cr = to_crd(planner, stack)[1]
    spec = cr["spec"]
    labels = {"app": stack.name, **cr["metadata"]["labels"]}
    pod: dict[str, Any] = {"containers": spec["containers"]}
    for k in ("volumes", "affinity"):
        if k in spec:
            pod[k] = spec[k]
    return {"apiVersion": "v1", "kind": "PodTemplate",
            "metadata": meta(stack.name, cr["metadata"].get("namespace"), labels=cr["metadata"]["labels"]),
            "template": {"metadata": {"labels": dict(sorted(labels.items()))}, "spec": pod}}
