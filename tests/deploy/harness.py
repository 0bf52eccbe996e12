"""Run the real Pulumi program (``__main__.py``) under Pulumi mocks and record what it registers."""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import settings as psettings

REPO = Path(__file__).resolve().parents[2]
SECRET_SIG = "4dabf18193072939515e22adb298388d"


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    dependencies: list[str]
    custom: bool
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def parent_type(self) -> str:
        return self.urn.split("::")[2].split("$")[-2] if "$" in self.urn.split("::")[2] else ""


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


class _Recorder(pmocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        from google.protobuf import json_format  # type: ignore[import-untyped]

        inputs = json_format.MessageToDict(request.object) if request.object else {}
        self.registered.append(Registration(request.type, request.name, response.urn, request.parent,
                                            list(request.dependencies), request.custom, inputs))
        return response


def dev_config(overrides: dict[str, Any] | None = None, env: str = "dev") -> dict[str, Any]:
    doc = yaml.safe_load((REPO / f"Pulumi.{env}.yaml").read_text())["config"]
    doc.update(overrides or {})
    return {k: v for k, v in doc.items() if v is not None}


class DeferringMocks(_Mocks):
    """Mocks whose BudgetGates defer every item they are given to ``until`` (what a spent budget does)."""

    def __init__(self, until: str = "2026-11-23T00:00:00Z") -> None:
        self.until = until

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        rid, outs = super().new_resource(args)
        if args.name.startswith("budget-gate-"):
            outs.update(deferred={i["name"]: self.until for i in args.inputs.get("items", [])}, reserved=[],
                        outcome="deferred", spend="0.00")
        return rid, outs


def run_program(config: dict[str, Any], *, cwd: Path = REPO, preview: bool = False,
                mocks: pulumi.runtime.Mocks | None = None) -> list[Registration]:
    """Run __main__.py with ``config`` under mocks; return the registrations (raises what it raises)."""
    return run_callable(config, lambda: runpy.run_path(str(REPO / "__main__.py"), run_name="__main__"),
                        cwd=cwd, preview=preview, mocks=mocks)


def run_callable(config: dict[str, Any], body: Callable[[], object], *, cwd: Path = REPO,
                 preview: bool = False, mocks: pulumi.runtime.Mocks | None = None) -> list[Registration]:
    """Run ``body`` as a Pulumi program with ``config`` under mocks; return the registrations."""
    import os

    mocks = mocks or _Mocks()
    recorder = _Recorder(mocks)
    pulumi.runtime.set_mocks(mocks, project="b00t-k8s", stack="dev", preview=preview, monitor=recorder)
    encoded = {k: (json.dumps(v) if isinstance(v, dict | list) else
                   ("true" if v is True else "false" if v is False else str(v))) for k, v in config.items()}
    pulumi.runtime.set_all_config(encoded)
    old = Path.cwd()
    os.chdir(cwd)
    try:
        @pulumi.runtime.test  # type: ignore[untyped-decorator]
        def program() -> None:
            body()

        program()
    finally:
        os.chdir(old)
        psettings.reset_options()
    return recorder.registered


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270"
