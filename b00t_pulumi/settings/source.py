"""Where settings come from: ``Pulumi.<env>.yaml`` (CLI) or a Pulumi config mapping (program)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from b00t_pulumi.datum.keys import unknown_key_message
from b00t_pulumi.errors import Problem, SettingsError, display_path
from b00t_pulumi.settings.model import EnvironmentSettings

NAMESPACE = "b00t"


def _known_top() -> set[str]:
    return {f.alias or n for n, f in EnvironmentSettings.model_fields.items()}


def settings_from_config(values: Mapping[str, Any], source: str = "Pulumi config") -> EnvironmentSettings:
    """Build settings from ``{key: value}`` of the ``b00t`` config namespace (keys without prefix)."""
    problems: list[Problem] = []
    data: dict[str, Any] = {}
    known = _known_top()
    for key, value in values.items():
        if key not in known:
            problems.append(Problem(source, f"{NAMESPACE}:{key}", unknown_key_message(key, known)))
        else:
            data[key] = value
    try:
        settings = EnvironmentSettings.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors(include_url=False):
            loc = e["loc"]
            key = f"{NAMESPACE}:{loc[0]}" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = f"unknown key {loc[-1]!r}"
            elif e["type"] not in ("value_error", "missing") and not isinstance(e.get("input"), dict | list):
                msg = f"{msg}, got {e.get('input')!r}"
            problems.append(Problem(source, key, msg))
        raise SettingsError(problems) from None
    if problems:
        raise SettingsError(problems)
    return settings


def _read_doc(path: Path) -> dict[str, Any]:
    shown = display_path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SettingsError([Problem(shown, "", f"cannot read: {exc.strerror or exc}")]) from None
    except yaml.YAMLError as exc:
        raise SettingsError([Problem(shown, "", f"invalid YAML: {exc}")]) from None
    if not isinstance(doc, dict):
        raise SettingsError([Problem(shown, "", "expected a mapping with a config: key")])
    return doc


def read_stack_config(path: Path, doc: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(b00t settings, other config such as kubernetes:context) of a ``Pulumi.<env>.yaml``."""
    shown = display_path(path)
    doc = _read_doc(path) if doc is None else doc
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise SettingsError([Problem(shown, "config", "expected a mapping of namespace:key to values")])
    ours: dict[str, Any] = {}
    other: dict[str, Any] = {}
    for key, value in config.items():
        ns, _, name = str(key).partition(":")
        if ns == NAMESPACE and name:
            if isinstance(value, dict) and "secure" in value:
                continue  # encrypted values are read by Pulumi, never by the CLI
            ours[name] = value
        else:
            other[str(key)] = value
    return ours, other


def load_environment(env: str | None, project_dir: Path | None = None,
                     warnings: list[Problem] | None = None) -> EnvironmentSettings:
    """Settings of ``Pulumi.<env>.yaml`` when it exists; defaults otherwise (or when env is None).

    A file with ESC ``environment:`` imports is merged as the engine merges it when the pulumi CLI
    can open them; otherwise a warning (appended to ``warnings``) says which values are lacking."""
    from b00t_pulumi.settings import esc

    if not env:
        return EnvironmentSettings()
    base = project_dir or Path.cwd()
    path = base / f"Pulumi.{env}.yaml"
    if not path.exists():
        raise SettingsError([Problem(display_path(path), "", f"no stack config for environment {env!r}")])
    doc = _read_doc(path)
    ours, _ = read_stack_config(path, doc)
    imports = esc.imports_of(doc)
    if imports:
        merged, why = esc.open_merged_config(env, base)
        if merged is not None:
            ours = {**merged, **ours}
        elif warnings is not None:
            warnings.append(esc.lacking_message(path, imports, why, sorted(_known_top()), list(ours)))
    return settings_from_config(ours, source=display_path(path))
