"""Golden files pin the examples' output. After an intended change: UPDATE_GOLDEN=1 pytest tests/plan."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from b00t_pulumi.plan import Planner
from b00t_pulumi.plan.render import to_yaml
from b00t_pulumi.plan.workflows import to_argo, to_crd, to_tekton, to_tekton_run

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}: run UPDATE_GOLDEN=1 pytest tests/plan"
    assert text == path.read_text(), f"{name} changed; if intended, regenerate with UPDATE_GOLDEN=1"


def test_environment_plans(env_name: str, env_planner: Planner) -> None:
    check(f"{env_name}-all.yaml", to_yaml(env_planner.plan_cluster().all_objects()))


@pytest.mark.parametrize("render", [to_crd, to_argo, to_tekton])
def test_stack_renderings(dev_planner: Planner, render: object) -> None:
    stack = dev_planner.catalog.stack("llm-inference-pipeline")
    out = render(dev_planner, stack)  # type: ignore[operator]
    objs = out if isinstance(out, list) else [out]
    if render is to_tekton:
        objs.append(to_tekton_run(dev_planner, stack))
    check(f"dev-llm-inference-pipeline-{render.__name__.replace('_', '-')}.yaml", to_yaml(objs))  # type: ignore[attr-defined]
