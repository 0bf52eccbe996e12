"""Builders of the workload kinds: containers, Deployments, HorizontalPodAutoscalers and Jobs."""

from __future__ import annotations

from typing import Any

from b00t_pulumi.datum.orchestration import ResourceRequirements
from b00t_pulumi.gpu.capacity import GPU_RESOURCE
from b00t_pulumi.plan.needs import GpuNeed
from b00t_pulumi.plan.objects import K8sObject, meta

JOB_BACKOFF_LIMIT = 2


def resources(rr: ResourceRequirements | None, need: GpuNeed | None) -> dict[str, Any]:
    """CPU and memory requests (memory also the limit) and the GPU limit."""
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if rr and rr.cpu:
        requests["cpu"] = rr.cpu
    if rr and rr.memory:
        requests["memory"] = rr.memory
        limits["memory"] = rr.memory
    if need and need.count:
        limits[GPU_RESOURCE] = str(need.count)
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def container(name: str, image: str, *, command: list[str] | None, args: list[str],
              env: list[dict[str, Any]], res: dict[str, Any], ports: list[dict[str, Any]] | None = None,
              mounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": image}
    if command:
        c["command"] = list(command)
    if args:
        c["args"] = list(args)
    if ports:
        c["ports"] = ports
    if env:
        c["env"] = env
    if res:
        c["resources"] = res
    if mounts:
        c["volumeMounts"] = mounts
    return c


def deployment(name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str],
               selector: dict[str, str], pod: dict[str, Any], replicas: int | None) -> K8sObject:
    """``replicas=None``: an HPA owns the count."""
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector},
        "template": {"metadata": {k: v for k, v in meta("", labels=labels | selector,
                                                        annotations=annotations or None).items() if k != "name"},
                     "spec": pod},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta(name, namespace, labels=labels, annotations=annotations or None), "spec": spec}


def hpa(name: str, namespace: str, labels: dict[str, str], min_replicas: int, max_replicas: int) -> K8sObject:
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": meta(name, namespace, labels=labels),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}],
        },
    }


def job(name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str],
        pod_annotations: dict[str, str], pod: dict[str, Any], *, suspend: bool) -> K8sObject:
    spec: dict[str, Any] = {
        "backoffLimit": JOB_BACKOFF_LIMIT,
        "template": {"metadata": {"labels": dict(sorted(labels.items())),
                                  **({"annotations": dict(sorted(pod_annotations.items()))} if pod_annotations
                                     else {})},
                     "spec": pod},
    }
    if suspend:
        spec["suspend"] = True
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": meta(name, namespace, labels=labels, annotations=annotations or None), "spec": spec}
