"""Datum models: one pydantic model per datum type a stack uses.

A datum file is ``<name>.<type>.toml`` with everything under ``[b00t]``; its id is
``<b00t.name>.<b00t.type>`` from the fields inside the file, not from the file name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from b00t_pulumi.datum.docker_args import DockerArgs, parse_docker_args
from b00t_pulumi.datum.orchestration import Orchestration
from b00t_pulumi.datum.quantities import check_dns1123

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

TYPE_ALIASES = {"model": "ai_model"}
MODELLED_TYPES = ("stack", "job", "docker", "cli", "ai_model", "k8s")


def canonical_type(datum_type: str) -> str:
    """``model`` is upstream's other spelling of ``ai_model``."""
    return TYPE_ALIASES.get(datum_type, datum_type)


class Datum(BaseModel):
    """Fields shared by every datum type (``[b00t]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    TYPES: ClassVar[tuple[str, ...]] = ()
    # Datums whose name becomes a Kubernetes object name must be DNS-1123 labels.
    K8S_NAMED: ClassVar[bool] = False

    name: str
    type: str
    hint: str = ""
    depends_on: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    orchestration: Orchestration | None = None

    _source: Path | None = PrivateAttr(default=None)
    _ignored: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if cls.K8S_NAMED:
            return check_dns1123(v)
        if not _NAME.match(v):
            raise ValueError(f"{v!r} is not a datum name: use letters, digits, '.', '_' and '-'")
        return v

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out: dict[str, Any] = {}
        for key, val in v.items():
            if isinstance(val, bool):
                out[key] = "true" if val else "false"
            elif isinstance(val, int | float):
                out[key] = str(val)
            else:
                out[key] = val
        return out

    @property
    def id(self) -> str:
        """``<name>.<type>``, the id stacks use to name their members."""
        return f"{self.name}.{self.type}"

    @property
    def kind(self) -> str:
        return canonical_type(self.type)

    @property
    def source(self) -> Path | None:
        return self._source

    @property
    def ignored_keys(self) -> tuple[str, ...]:
        """Upstream keys this datum carries that b00t-pulumi ignores on purpose."""
        return self._ignored

    @property
    def orch(self) -> Orchestration:
        return self.orchestration or Orchestration()


class StackDatum(Datum):
    """``type = "stack"``: a set of members deployed together."""

    TYPES: ClassVar[tuple[str, ...]] = ("stack",)
    K8S_NAMED: ClassVar[bool] = True
    type: Literal["stack"]
    members: list[str] = Field(default_factory=list, description="member ids <name>.<type>")


class JobDatum(Datum):
    """``type = "job"``: a batch job that may require running stacks.

    Orchestration style (``image``, ``command``, ``args``) becomes a Kubernetes Job; workflow style
    (``[b00t.job]`` with steps) is b00t's own runner and is planned only when it also has an image.
    """

    TYPES: ClassVar[tuple[str, ...]] = ("job",)
    K8S_NAMED: ClassVar[bool] = True
    type: Literal["job"]
    image: str | None = None
    command: list[str] | None = None
    args: list[str] = Field(default_factory=list)
    job: dict[str, Any] | None = Field(default=None, description="workflow-style steps (b00t runner)")

    @field_validator("command", mode="before")
    @classmethod
    def _command(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @property
    def workflow_steps(self) -> list[dict[str, Any]]:
        steps = (self.job or {}).get("steps", [])
        return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []


class DockerDatum(Datum):
    """``type = "docker"``: a container image run with ``docker_args``; a Deployment in Kubernetes."""

    TYPES: ClassVar[tuple[str, ...]] = ("docker",)
    K8S_NAMED: ClassVar[bool] = True
    type: Literal["docker"]
    image: str | None = Field(default=None, description="required to deploy; upstream may build it instead")
    docker_args: list[str] = Field(default_factory=list)
    command: list[str] | None = Field(default=None, description="overrides the image entrypoint (docker run CMD)")
    args: list[str] = Field(default_factory=list)

    @field_validator("command", mode="before")
    @classmethod
    def _command(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("image")
    @classmethod
    def _image(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or any(c.isspace() for c in v)):
            raise ValueError(f"expected a container image reference such as redis:7.2, got {v!r}")
        return v

    @property
    def run(self) -> DockerArgs:
        """docker_args parsed (validated when the datum was loaded)."""
        return parse_docker_args(self.docker_args)


class CliDatum(Datum):
    """``type = "cli"``: a host tool. Not deployed to Kubernetes (the planner says so)."""

    TYPES: ClassVar[tuple[str, ...]] = ("cli",)
    type: Literal["cli"]


class AiModelInfo(BaseModel):
    """The parts of the top-level ``[ai_model]`` table the planner uses; the rest is kept as is."""

    model_config = ConfigDict(extra="allow", frozen=True)
    provider: str | None = None
    size: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def container_mount(self) -> str | None:
        v = self.metadata.get("container_mount")
        return v if isinstance(v, str) else None


class AiModelDatum(Datum):
    """``type = "ai_model"`` (or ``"model"``): model weights, mounted into GPU members from a PVC."""

    TYPES: ClassVar[tuple[str, ...]] = ("ai_model", "model")
    type: Literal["ai_model", "model"]
    ai_model: AiModelInfo = Field(default_factory=AiModelInfo)

    @property
    def mount_path(self) -> str:
        return self.ai_model.container_mount or f"/models/{self.name}"


class K8sDatum(Datum):
    """``type = "k8s"``: a Helm chart installed by b00t; not rendered by this planner."""

    TYPES: ClassVar[tuple[str, ...]] = ("k8s",)
    type: Literal["k8s"]
    namespace: str | None = None
    chart_path: str | None = None


class OtherDatum(Datum):
    """A datum of a type b00t-pulumi does not model (mcp, container, ...): known by id only."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    TYPES: ClassVar[tuple[str, ...]] = ()


DATUM_CLASSES: dict[str, type[Datum]] = {
    t: cls
    for cls in (StackDatum, JobDatum, DockerDatum, CliDatum, AiModelDatum, K8sDatum)
    for t in cls.TYPES
}

# Fields each type uses, to tell "wrong type" from "unknown key".
USED_BY: dict[str, set[str]] = {}
for _cls in (StackDatum, JobDatum, DockerDatum, AiModelDatum, K8sDatum):
    for _f in set(_cls.model_fields) - set(Datum.model_fields):
        USED_BY.setdefault(_f, set()).add(_cls.TYPES[0])
