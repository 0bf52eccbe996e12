"""PersistentVolumeClaims: one per docker volume (``-v``) of a member and per ai_model of a stack."""

from __future__ import annotations

from typing import Any

from b00t_pulumi.plan.objects import K8sObject, meta

RWO = "ReadWriteOnce"


def claim(name: str, namespace: str, labels: dict[str, str], size: str, mode: str = RWO,
          storage_class: str | None = None) -> K8sObject:
    spec: dict[str, Any] = {"accessModes": [mode], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta(name, namespace, labels=labels),
            "spec": spec}


def mounts_rwo(pod: dict[str, Any], claims: dict[str, K8sObject]) -> list[str]:
    """Names of the ReadWriteOnce claims ``pod`` mounts (they pin its replicas to one node)."""
    out = []
    for v in pod.get("volumes", []):
        c = claims.get((v.get("persistentVolumeClaim") or {}).get("claimName", ""))
        if c is not None and RWO in c["spec"]["accessModes"]:
            out.append(c["metadata"]["name"])
    return out
