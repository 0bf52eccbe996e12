"""JSON Schema of datum files, from the pydantic models (``b00t-pulumi schema [TYPE]``).

The schema describes a whole TOML file: the ``[b00t]`` table (the model of its type), the top-level
``[env]`` and ``[ai_model]`` tables, and the tables b00t keeps for its own tooling. An editor uses
it to complete and check datums (taplo: a ``#:schema FILE`` comment on the first line).

It is an aid, not the judge: ``b00t-pulumi validate`` also checks what JSON Schema cannot say
(DNS-1123 names, docker_args, cron expressions, references between datums), and keys that only
warn there (upstream keys with no effect) are allowed here.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import AliasChoices, BaseModel

from b00t_pulumi.datum.keys import TOP_LEVEL_IGNORED, UPSTREAM_IGNORED
from b00t_pulumi.datum.models import DATUM_CLASSES, USED_BY, Datum
from b00t_pulumi.datum.orchestration import NO_EFFECT_KEYS, K8sSettings, Orchestration, ResourceRequirements

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_TYPES = tuple(sorted({cls.TYPES[0] for cls in DATUM_CLASSES.values()}))

# Keys a model strips with a "has no effect" warning, per model: allowed in the schema, described.
_NO_EFFECT: dict[type[BaseModel], dict[str, str]] = {
    Orchestration: NO_EFFECT_KEYS,
    ResourceRequirements: {"gpu": "GPUs come from gpu_requirements"},
    K8sSettings: {"pod_template_source": "objects always come from the b00t-pulumi planner"},
}
_ENV_VALUE = {"type": ["string", "number", "boolean"]}


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """``root`` and every model its fields refer to."""
    from b00t_pulumi.datum.loader import _unwrap

    out: list[type[BaseModel]] = []

    def walk(m: type[BaseModel]) -> None:
        if m in out:
            return
        out.append(m)
        for f in m.model_fields.values():
            inner = _unwrap(f.annotation)
            if inner is not None:
                walk(inner)

    walk(root)
    return out


def _patch_model(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """What validation accepts beyond the field names: alias spellings and no-effect keys."""
    props: dict[str, Any] = schema.setdefault("properties", {})
    for name, f in model.model_fields.items():
        alias = f.validation_alias
        if isinstance(alias, AliasChoices):
            choices = [str(c) for c in alias.choices]
            primary = next((c for c in choices if c in props), None)
            for c in choices:
                if primary and c not in props:
                    props[c] = {**copy.deepcopy(props[primary]),
                                "description": f"another spelling of {primary}"}
        if name in props and name in ("command",):
            props[name] = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}},
                                     {"type": "null"}], "default": None, "title": props[name].get("title", name)}
        if name == "env" and name in props:
            props[name] = {**props[name], "additionalProperties": _ENV_VALUE}
    for key, hint in _NO_EFFECT.get(model, {}).items():
        props.setdefault(key, {"description": f"has no effect in b00t-pulumi ({hint}); validate warns"})


def _datum_schema(cls: type[Datum]) -> dict[str, Any]:
    """The ``[b00t]`` table of ``cls``'s type, with its own ``$defs``."""
    schema = cls.model_json_schema(mode="validation")
    defs: dict[str, Any] = schema.pop("$defs", {})
    for model in _models(cls):
        target = schema if model is cls else defs.get(model.__name__)
        if target is not None:
            _patch_model(target, model)
    props = schema["properties"]
    # The type may be left out: the loader takes it from the file name <name>.<type>.toml.
    schema["required"] = [r for r in schema.get("required", []) if r != "type"]
    dtype = cls.TYPES[0]
    for key in sorted(UPSTREAM_IGNORED):
        props.setdefault(key, {"description": "b00t's own key: no Kubernetes meaning, ignored on purpose"})
    for key, users in sorted(USED_BY.items()):
        if dtype not in users:
            props.setdefault(key, {"description": f"has no effect on a {dtype} datum "
                                                  f"(used by {', '.join(sorted(users))} datums); validate warns"})
    if defs:
        schema["$defs"] = defs
    return schema


def _file_schema(b00t: dict[str, Any], defs: dict[str, Any], title: str, ai_model: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        "b00t": b00t,
        "env": {"type": "object", "description": "merged into [b00t.env]; this table wins",
                "additionalProperties": _ENV_VALUE},
    }
    if ai_model:
        props["ai_model"] = {"type": "object", "description": "provider, size, metadata.container_mount",
                             "properties": {"provider": {"type": "string"}, "size": {"type": "string"},
                                            "metadata": {"type": "object"}}}
    for key in sorted(TOP_LEVEL_IGNORED):
        props[key] = {"description": "b00t's own table, ignored by b00t-pulumi"}
    out: dict[str, Any] = {"$schema": DIALECT, "title": title, "type": "object", "properties": props,
                           "required": ["b00t"], "additionalProperties": False}
    if defs:
        out["$defs"] = defs
    return out


def _hoist(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Move a model schema's ``$defs`` into ``defs`` (shared names are the same models)."""
    schema = copy.deepcopy(schema)
    for name, d in schema.pop("$defs", {}).items():
        defs.setdefault(name, d)
    return schema


def datum_file_schema(datum_type: str | None = None) -> dict[str, Any]:
    """The JSON Schema of a ``<name>.<type>.toml`` file (any type when ``datum_type`` is None)."""
    if datum_type is not None:
        cls = DATUM_CLASSES.get(datum_type)
        if cls is None:
            raise ValueError(f"unknown datum type {datum_type!r}: one of {', '.join(SCHEMA_TYPES)}")
        defs: dict[str, Any] = {}
        b00t = _hoist(_datum_schema(cls), defs)
        return _file_schema(b00t, defs, f"b00t {cls.TYPES[0]} datum ({cls.TYPES[0]}.toml)",
                            ai_model="ai_model" in cls.model_fields)
    defs = {}
    branches: list[dict[str, Any]] = []
    for t in SCHEMA_TYPES:
        cls = DATUM_CLASSES[t]
        body = _hoist(_datum_schema(cls), defs)
        defs[cls.__name__] = body
        branches.append({"if": {"properties": {"type": {"enum": list(cls.TYPES)}}, "required": ["type"]},
                         "then": {"$ref": f"#/$defs/{cls.__name__}"}})
    b00t = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"},
                                                                   "type": {"type": "string"}},
            "allOf": branches,
            "description": "every datum keeps its fields here; types b00t-pulumi does not model are not checked"}
    return _file_schema(b00t, defs, "b00t datum (any type)", ai_model=True)


def settings_schema() -> dict[str, Any]:
    """The JSON Schema of the ``b00t:*`` settings (Pulumi config, camelCase keys)."""
    from b00t_pulumi.settings.model import EnvironmentSettings

    return {"$schema": DIALECT, **EnvironmentSettings.model_json_schema(mode="validation", by_alias=True)}
