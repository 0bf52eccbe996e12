"""Helpers for Kubernetes object dicts: identity, apply order, labels."""

from __future__ import annotations

from typing import Any

K8sObject = dict[str, Any]

MANAGED_BY = "b00t-pulumi"

# Apply order: what others refer to comes first; CRDs before their CRs.
_ORDER = [
    "Namespace", "CustomResourceDefinition", "ResourceFlavor", "AdmissionCheck", "ClusterQueue", "LocalQueue",
    "WorkloadPriorityClass", "ConfigMap", "Secret", "PersistentVolumeClaim", "Service", "Deployment",
    "HorizontalPodAutoscaler", "Job", "BudgetConstraint", "AiMlPipeline", "ClusterPolicy",
    "Workflow", "Pipeline",
]


def kind_rank(obj: K8sObject) -> int:
    kind = obj.get("kind", "")
    return _ORDER.index(kind) if kind in _ORDER else len(_ORDER)


def key(obj: K8sObject) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name): what makes an object unique in a cluster."""
    meta = obj.get("metadata", {})
    return (obj.get("apiVersion", ""), obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))


def ref(obj: K8sObject) -> str:
    """``Kind/namespace/name`` (or ``Kind/name``) for messages and resource names."""
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{obj.get('kind')}/{ns}/{meta.get('name')}" if ns else f"{obj.get('kind')}/{meta.get('name')}"


def sort_for_apply(objs: list[K8sObject]) -> list[K8sObject]:
    return sorted(objs, key=lambda o: (kind_rank(o), key(o)[2], key(o)[3]))


def meta(name: str, namespace: str | None = None, labels: dict[str, str] | None = None,
         annotations: dict[str, str] | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name}
    if namespace:
        m["namespace"] = namespace
    if labels:
        m["labels"] = dict(sorted(labels.items()))
    if annotations:
        m["annotations"] = dict(sorted(annotations.items()))
    return m


def namespace_object(name: str) -> K8sObject:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": meta(name, labels={"app.kubernetes.io/managed-by": MANAGED_BY})}
