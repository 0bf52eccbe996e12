"""The stack's Pulumi config as written (`b00t:*` values and secrets, for the settings model the CLI
reads from Pulumi.<env>.yaml) and the explicit Kubernetes provider."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime import config as runtime_config

from b00t_pulumi.errors import B00tError, Problem
from b00t_pulumi.settings.source import NAMESPACE


def _all_config() -> dict[str, Any]:
    """Every config key the engine (or the mocks) set: ``namespace:key`` -> raw string value."""
    values: dict[str, Any] = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    return values


def _decode(raw: Any) -> Any:
    if isinstance(raw, str) and raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def config_source() -> str:
    return f"Pulumi config of stack {pulumi.get_stack()}"


def config_values() -> tuple[dict[str, Any], dict[str, Any]]:
    """(``b00t:*`` settings as written, ``b00t:secrets``) of the stack's config, unvalidated."""
    ours: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    for key, raw in _all_config().items():
        ns, _, name = key.partition(":")
        if ns != NAMESPACE:
            continue
        if name == "secrets":
            decoded = _decode(raw)
            secrets = decoded if isinstance(decoded, dict) else {}
            continue
        ours[name] = _decode(raw)
    return ours, secrets


def kubernetes_provider(name: str = "k0s", *, kubeconfig: str | None = None, context: str | None = None,
                        opts: pulumi.ResourceOptions | None = None) -> k8s.Provider:
    """An explicit provider from ``kubeconfig``/``context``, else ``kubernetes:kubeconfig`` /
    ``kubernetes:context``. A kubeconfig path that does not exist is a clear error."""
    cfg = pulumi.Config("kubernetes")
    kubeconfig = kubeconfig or cfg.get("kubeconfig")
    context = context or cfg.get("context")
    if kubeconfig and not kubeconfig.lstrip().startswith(("{", "apiVersion")):
        path = Path(kubeconfig).expanduser()
        if not path.exists():
            raise B00tError([Problem("", "kubernetes:kubeconfig", f"{kubeconfig} does not exist (for the local "
                                     "cluster run `make cluster-up`; for k0s, `k0s kubeconfig admin > FILE`)")])
        kubeconfig = str(path.resolve())
    return k8s.Provider(name, kubeconfig=kubeconfig, context=context, suppress_deprecation_warnings=True,
                        opts=opts)


def has_kubernetes_config() -> bool:
    cfg = pulumi.Config("kubernetes")
    return bool(cfg.get("kubeconfig") or cfg.get("context"))
