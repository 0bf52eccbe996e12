"""Planner object dicts -> typed pulumi_kubernetes resources (one function, every kind)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from b00t_pulumi.errors import B00tError, Problem
from b00t_pulumi.plan.env import SecretValue
from b00t_pulumi.plan.objects import K8sObject

SKIP_AWAIT = "pulumi.com/skipAwait"
DELETION_POLICY = "pulumi.com/deletionPropagationPolicy"


def no_wait_annotations() -> dict[str, str]:
    """For an API server without kubelet and controllers (b00t:skipAwait): do not wait for readiness,
    and delete in the background, since a foreground delete waits for a garbage collector that
    does not run there."""
    return {SKIP_AWAIT: "true", DELETION_POLICY: "background"}

# (apiVersion, kind) -> typed resource class of pulumi_kubernetes
_TYPED: dict[tuple[str, str], Any] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): k8s.rbac.v1.ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): k8s.rbac.v1.ClusterRoleBinding,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): k8s.autoscaling.v2.HorizontalPodAutoscaler,
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): k8s.apiextensions.v1.CustomResourceDefinition,
}

_FIELDS = {"stringData": "string_data", "roleRef": "role_ref"}


class SecretResolver:
    """Turns planner SecretValues into Pulumi secrets: a ``b00t:secrets`` config entry wins, then the
    deployer's environment (already expanded by the planner). A secret with no value is an error."""

    def __init__(self, config_secrets: Mapping[str, Any] | None = None) -> None:
        self.config_secrets = dict(config_secrets or {})

    def resolve(self, owner: str, key: str, value: SecretValue) -> pulumi.Output[str]:
        for name in (*_variables(value.template), key):
            if name in self.config_secrets:
                return pulumi.Output.secret(str(self.config_secrets[name]))
        if not value.resolved:
            names = _variables(value.template) or (key,)
            raise B00tError([Problem(owner, key, f"secret has no value: export {names[0]} or run "
                                     f"`pulumi config set --secret --path b00t:secrets.{names[0]} VALUE`")])
        return pulumi.Output.secret(value.value)


def _variables(template: str) -> tuple[str, ...]:
    import re

    return tuple(m.group(1) for m in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", template))


def resource_name(obj: K8sObject) -> str:
    """A stable logical name: ``namespace-name`` for namespaced objects, ``name`` otherwise."""
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{ns}-{meta['name']}" if ns else str(meta["name"])


def create(obj: K8sObject, opts: pulumi.ResourceOptions, *, skip_await: bool = False,
           secrets: SecretResolver | None = None, name: str | None = None) -> pulumi.CustomResource:
    """Create the typed resource for one planned object (CustomResource for CRD kinds)."""
    body = dict(obj)
    api, kind = body.pop("apiVersion"), body.pop("kind")
    meta = dict(body.pop("metadata"))
    if skip_await:
        meta["annotations"] = {**meta.get("annotations", {}), **no_wait_annotations()}
    if kind == "Secret" and "stringData" in body:
        resolver = secrets or SecretResolver()
        body["stringData"] = {
            k: resolver.resolve(f"Secret {meta['name']}", k, v) if isinstance(v, SecretValue) else v
            for k, v in body["stringData"].items()
        }
    name = name or resource_name(obj)
    cls = _TYPED.get((api, kind))
    if cls is not None:
        kwargs = {_FIELDS.get(k, k): v for k, v in body.items()}
        resource: pulumi.CustomResource = cls(name, opts=opts, metadata=meta, **kwargs)
        return resource
    if kind == "ClusterPolicy":  # patch the GPU Operator's existing ClusterPolicy, never own it
        return k8s.apiextensions.CustomResourcePatch(name, api_version=api, kind=kind, metadata=meta,
                                                     opts=opts, **body)
    return k8s.apiextensions.CustomResource(name, api_version=api, kind=kind, metadata=meta, opts=opts, **body)
