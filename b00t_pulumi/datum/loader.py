"""Load datum files: TOML -> checked keys -> pydantic models, with every problem reported.

Errors are ``Problem(file, key_path, message)``; nothing here raises on bad user input except the
``load_*_or_raise`` helpers, which raise ``DatumError`` carrying all problems at once.
"""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from b00t_pulumi.datum.docker_args import DockerArgsError, parse_docker_args
from b00t_pulumi.datum.keys import (
    TOP_LEVEL_IGNORED,
    TOP_LEVEL_USED,
    UPSTREAM_IGNORED,
    unknown_key_message,
)
from b00t_pulumi.datum.models import DATUM_CLASSES, USED_BY, Datum, DockerDatum, OtherDatum
from b00t_pulumi.errors import Problem, display_path

DATUM_SUFFIX = ".toml"
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def default_search_path(cwd: Path | None = None) -> list[Path]:
    """``B00T_DATUMS`` (colon separated), else ``stacks/`` and ``components/`` under cwd."""
    env = os.environ.get("B00T_DATUMS")
    if env:
        return [Path(p) for p in env.split(":") if p]
    base = cwd or Path.cwd()
    return [base / "stacks", base / "components"]


def datum_files(paths: Iterable[Path]) -> list[Path]:
    """Every ``*.toml`` datum file under the given files or directories, in a stable order."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob(f"*{DATUM_SUFFIX}") if f.is_file()))
        elif p.is_file():
            out.append(p)
    return out


class LoadResult:
    __slots__ = ("datum", "path", "problems")

    def __init__(self, path: Path, datum: Datum | None, problems: list[Problem]) -> None:
        self.path = path
        self.datum = datum
        self.problems = problems

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def load_file(path: Path) -> LoadResult:
    """Read one datum file. Never raises for bad content: problems are in the result."""
    shown = display_path(path)
    problems: list[Problem] = []

    def err(key: str, msg: str) -> None:
        problems.append(Problem(shown, key, msg))

    def warn(key: str, msg: str) -> None:
        problems.append(Problem(shown, key, msg, "warning"))

    try:
        raw = path.read_bytes()
    except OSError as exc:
        err("", f"cannot read the file: {exc.strerror or exc}")
        return LoadResult(path, None, problems)
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        err("", f"not UTF-8 text (byte {exc.start}): a datum must be a UTF-8 TOML file")
        return LoadResult(path, None, problems)
    except tomllib.TOMLDecodeError as exc:
        err("", f"invalid TOML: {exc}")
        return LoadResult(path, None, problems)

    b00t = doc.get("b00t")
    if not isinstance(b00t, dict):
        err("b00t", "missing [b00t] table: every datum keeps its fields under [b00t]")
        return LoadResult(path, None, problems)

    for key in doc:
        if key in TOP_LEVEL_IGNORED or key in TOP_LEVEL_USED:
            continue
        err(key, unknown_key_message(key, TOP_LEVEL_USED | TOP_LEVEL_IGNORED))

    name, dtype = b00t.get("name"), b00t.get("type")
    if dtype is None:
        # upstream infers the type from the file name <name>.<type>.toml when [b00t] has none
        parts = path.name.split(".")
        if len(parts) >= 3 and parts[-1] == "toml":
            dtype = parts[-2]
            b00t = {**b00t, "type": dtype}
    if not isinstance(name, str) or not name:
        err("b00t.name", "missing or not a string: every datum needs a name")
    if not isinstance(dtype, str) or not dtype:
        err("b00t.type", f"missing or not a string: one of {', '.join(sorted(DATUM_CLASSES))} (or another b00t type)")
    if problems and any(p.key_path in ("b00t.name", "b00t.type") for p in problems):
        return LoadResult(path, None, problems)
    assert isinstance(name, str) and isinstance(dtype, str)

    cls = DATUM_CLASSES.get(dtype)
    if cls is None:
        warn("b00t.type", f"type {dtype!r} is not modelled by b00t-pulumi: the datum is known by its id only "
             f"and cannot be deployed (modelled: {', '.join(sorted(DATUM_CLASSES))})")
        try:
            other = OtherDatum.model_validate({k: v for k, v in b00t.items() if k in ("name", "type", "hint")})
        except ValidationError as exc:
            problems.extend(_convert(exc, OtherDatum, shown))
            return LoadResult(path, None, problems)
        other._source = path
        return LoadResult(path, other, problems)

    fields = set(cls.model_fields)
    data: dict[str, Any] = {}
    ignored: list[str] = []
    for key, value in b00t.items():
        if key in fields:
            data[key] = value
        elif key in USED_BY:
            warn(f"b00t.{key}", f"has no effect on a {dtype} datum (used by {', '.join(sorted(USED_BY[key]))} datums)")
        elif key in UPSTREAM_IGNORED:
            ignored.append(f"b00t.{key}")
        else:
            err(f"b00t.{key}", unknown_key_message(key, fields | UPSTREAM_IGNORED))

    # Top-level [env] merges into [b00t.env], as upstream's UnifiedConfig does.
    top_env = doc.get("env")
    if top_env is not None:
        if not isinstance(top_env, dict):
            err("env", "expected a table of NAME = value")
        else:
            merged = dict(data.get("env") or {}) if isinstance(data.get("env"), dict) else {}
            for k, v in top_env.items():
                if k in merged and merged[k] != v:
                    warn(f"env.{k}", "also set in [b00t.env]; the top-level [env] value wins")
                merged[k] = v
            data["env"] = merged
    if isinstance(data.get("env"), dict):
        for k, v in data["env"].items():
            where = "env" if isinstance(top_env, dict) and k in top_env else "b00t.env"
            if not _ENV_NAME.match(k):
                err(f"{where}.{k}", "not a valid environment variable name (letters, digits, '_', '-', '.')")
            if not isinstance(v, str | int | float | bool):
                err(f"{where}.{k}", f"expected a string, number or boolean, got {type(v).__name__}")

    if "ai_model" in doc:
        if "ai_model" in fields:
            data["ai_model"] = doc["ai_model"]
        else:
            warn("ai_model", f"an [ai_model] table has no effect on a {dtype} datum")
    for key in doc:
        if key in TOP_LEVEL_IGNORED:
            ignored.append(key)

    context: dict[str, Any] = {"warnings": []}
    datum: Datum | None = None
    try:
        datum = cls.model_validate(data, context=context)
    except ValidationError as exc:
        problems.extend(_convert(exc, cls, shown))
    for key, msg in context["warnings"]:
        warn(key, msg)

    if isinstance(datum, DockerDatum):
        try:
            parsed = parse_docker_args(datum.docker_args)
        except DockerArgsError as exc:
            err(f"b00t.docker_args[{exc.index}]", str(exc))
            datum = None
        else:
            for flag in parsed.unsupported:
                warn("b00t.docker_args", f"{flag!r} has no Kubernetes equivalent in b00t-pulumi and is not applied")

    if datum is not None:
        stem = path.name[: -len(DATUM_SUFFIX)] if path.name.endswith(DATUM_SUFFIX) else path.name
        if stem != datum.id:
            warn("b00t.name", f"the file name says {stem!r} but the datum id is {datum.id!r} "
                 "(ids come from the fields inside the file)")
        if any(p.severity == "error" for p in problems):
            datum = None
        else:
            datum._source = path
            datum._ignored = tuple(ignored)
    return LoadResult(path, datum, problems)


def _convert(exc: ValidationError, root: type[BaseModel], shown: str) -> list[Problem]:
    out: list[Problem] = []
    for e in exc.errors(include_url=False):
        loc = e["loc"]
        is_key = bool(loc) and loc[-1] == "[key]"  # pydantic's marker for a bad key of a table
        if is_key:
            loc = loc[:-1]
        key_path = "b00t" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        msg = e["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if is_key:
            msg = f"key: {msg}"
        etype = e["type"]
        if etype == "extra_forbidden":
            known = _known_keys_at(root, loc[:-1])
            msg = unknown_key_message(str(loc[-1]), known) if known else f"unknown key {loc[-1]!r}"
        elif etype == "missing":
            msg = "required key is missing"
        elif "input" in e and etype not in ("value_error", "assertion_error") and not isinstance(e["input"], dict):
            msg = f"{msg}, got {e['input']!r}"
        if etype == "literal_error":
            msg = msg.replace("Input should be", "expected one of")
        out.append(Problem(shown, key_path, msg))
    return out


def _unwrap(tp: Any) -> type[BaseModel] | None:
    """The pydantic model inside Optional[...] / Annotated[...] / list[...] / dict[str, ...]."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            found = _unwrap(arg)
            if found is not None:
                return found
        return None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    return None


def _known_keys_at(root: type[BaseModel], loc: Sequence[int | str]) -> set[str]:
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:  # an alias was used
            field = next((f for f in model.model_fields.values()
                          if f.validation_alias and str(part) in str(f.validation_alias)), None)
        model = _unwrap(field.annotation) if field is not None else None
    if model is None:
        return set()
    known: set[str] = set()
    for fname, f in model.model_fields.items():
        known.add(fname)
        choices = getattr(f.validation_alias, "choices", None)
        if choices:
            known.update(str(c) for c in choices)
    return known
