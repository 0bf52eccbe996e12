"""Pulumi config -> EnvironmentSettings (the same model the CLI reads from Pulumi.<env>.yaml)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime import config as runtime_config

from b00t_pulumi.settings import EnvironmentSettings, settings_from_config
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


def read_settings() -> tuple[EnvironmentSettings, dict[str, Any]]:
    """(settings, secrets) from config ``b00t:*``; ``b00t:secrets`` holds secret env values."""
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
    return settings_from_config(ours, source=f"Pulumi config of stack {pulumi.get_stack()}"), secrets


def kubernetes_provider(settings: EnvironmentSettings, name: str = "k0s") -> k8s.Provider:
    """An explicit provider from ``kubernetes:kubeconfig`` / ``kubernetes:context``."""
    cfg = pulumi.Config("kubernetes")
    kubeconfig = cfg.get("kubeconfig")
    if kubeconfig and not kubeconfig.lstrip().startswith(("{", "apiVersion")):
        path = Path(kubeconfig).expanduser()
        if not path.exists():
            raise pulumi.RunError(f"kubernetes:kubeconfig: {kubeconfig} does not exist (for the local cluster run "
                                  "`make cluster-up`; for k0s, `k0s kubeconfig admin > FILE`)")
        kubeconfig = str(path.resolve())
    return k8s.Provider(name, kubeconfig=kubeconfig, context=cfg.get("context"),
                        suppress_deprecation_warnings=True)
