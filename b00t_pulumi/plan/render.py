"""Objects to YAML documents. Secret values are redacted unless the caller asks for them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from b00t_pulumi.plan.env import SecretValue
from b00t_pulumi.plan.objects import K8sObject

REDACTED = "<redacted: set at deploy time>"


def materialize(obj: Any, *, show_secrets: bool) -> Any:
    """A plain copy of ``obj`` with every SecretValue replaced by its value or a redaction marker."""
    if isinstance(obj, SecretValue):
        return obj.value if show_secrets else REDACTED
    if isinstance(obj, dict):
        return {k: materialize(v, show_secrets=show_secrets) for k, v in obj.items()}
    if isinstance(obj, list):
        return [materialize(v, show_secrets=show_secrets) for v in obj]
    return obj


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(objects: Iterable[K8sObject], *, show_secrets: bool = False) -> str:
    docs = [materialize(o, show_secrets=show_secrets) for o in objects]
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, default_flow_style=False, explicit_start=True)


def file_name(obj: K8sObject) -> str:
    m = obj.get("metadata", {})
    name = m.get("name") or m.get("generateName", "object").rstrip("-")
    return f"{obj.get('kind', 'Object').lower()}-{name}.yaml"


def write_dir(objects: Iterable[K8sObject], out: Path, *, show_secrets: bool = False) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for i, o in enumerate(objects):
        p = out / f"{i:02d}-{file_name(o)}"
        p.write_text(to_yaml([o], show_secrets=show_secrets), encoding="utf-8")
        written.append(p)
    return written
