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

def type_token(api_version: str, kind: str) -> str:
    """The Kubernetes provider's type token, e.g. ``kubernetes:core/v1:Secret``, ``kubernetes:apps/v1:Deployment``
    (the core group is ``core``), ``kubernetes:b00t.io/v1:BudgetConstraint``: what the typed classes of
    pulumi_kubernetes register."""
    return f"kubernetes:{api_version if '/' in api_version else 'core/' + api_version}:{kind}"


class SecretResolver:
    """Turns planner SecretValues into Pulumi secrets: a ``b00t:secrets`` config entry wins, then the
    deployer's environment (already expanded by the planner). A secret with no value is an error."""

    def __init__(self, config_secrets: Mapping[str, Any] | None = None) -> None:
        self.config_secrets = dict(config_secrets or {})

    def resolve(self, owner: str, key: str, value: SecretValue) -> pulumi.Output[str]:
        for name in (*_variables(value.template), key):
            if name in self.config_secrets:
                given = self.config_secrets[name]  # a config value, or an Input from a component's args
                return pulumi.Output.secret(given if isinstance(given, pulumi.Output) else str(given))
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
    if kind == "ClusterPolicy":  # patch the GPU Operator's existing ClusterPolicy, never own it
        return k8s.apiextensions.CustomResourcePatch(name, api_version=api, kind=kind, metadata=meta,
                                                     opts=opts, **body)
    if kind == "Secret":  # as pulumi_kubernetes' Secret does: its data is a secret, in and out
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            additional_secret_outputs=["data", "stringData"]))
        for field in ("data", "stringData"):
            if field in body:
                body[field] = pulumi.Output.secret(body[field])
    # One generic resource per object, with the token and camelCase properties the typed classes of
    # pulumi_kubernetes send: importing those classes costs about half a second of every preview.
    # The provider version as the typed classes ask for it (matters when the default provider is used).
    opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=_provider_version()))
    props = {"apiVersion": api, "kind": kind, "metadata": meta, **body}
    return pulumi.CustomResource(type_token(api, kind), name, props, opts)


def _provider_version() -> str:
    from pulumi_kubernetes import _utilities

    version: str = _utilities.get_version()  # type: ignore[no-untyped-call]
    return version
