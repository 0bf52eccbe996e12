"""`b00t-pulumi validate --env E` refuses exactly what the program refuses for the same settings.

Each case is an environment whose objects a real cluster would never run; before the preflight,
`validate` planned stacks and jobs one by one and exited 0 on all of them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from b00t_pulumi.cli.main import main
from tests.deploy.harness import REPO, run_program

CASES: dict[str, tuple[dict[str, Any], str | None]] = {
    "examples": ({}, None),
    "no-gpu-of-the-type": ({"b00t:gpuInventory": {"nodes": [{"name": "n", "gpuType": "nvidia-h100", "slots": 4}]}},
                           "b00t:gpuInventory has no nvidia-a100 node"),
    "too-few-slots": ({"b00t:gpuInventory": {"nodes": [{"name": "n", "gpuType": "nvidia-a100", "slots": 2}]}},
                      "4 jobs at once on one nvidia-a100 GPU, but its time-slicing gives 2 slots"),
    "zero-quota": ({"b00t:kueue": {"clusterQueue": "q", "gpus": {"nvidia-a100": 0}}},
                   "b00t:kueue.gpus.nvidia-a100 is 0"),
}


def project(tmp: Path, overrides: dict[str, Any]) -> Path:
    for d in ("stacks", "components"):
        shutil.copytree(REPO / d, tmp / d)
    doc = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    doc["config"].update(overrides)
    doc["config"]["b00t:ledger"] = f"sqlite:///{tmp / 'ledger.db'}"
    doc["config"] = {k: v for k, v in doc["config"].items() if v is not None}
    (tmp / "Pulumi.case.yaml").write_text(yaml.safe_dump(doc))
    return tmp


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_refuses_what_the_program_refuses(case: str, tmp_path: Path, kubeconfig: Path, secret_env: None,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    overrides, message = CASES[case]
    root = project(tmp_path, overrides)
    monkeypatch.chdir(root)
    monkeypatch.delenv("B00T_DATUMS", raising=False)
    code = main(["validate", "--env", "case"])
    out = capsys.readouterr()
    config = yaml.safe_load((root / "Pulumi.case.yaml").read_text())["config"]
    config["kubernetes:kubeconfig"] = str(kubeconfig)
    if message is None:
        assert code == 0, out.out + out.err
        run_program(config, cwd=root)
        return
    assert code == 1 and message in out.out, out.out + out.err
    with pytest.raises(pulumi.RunError, match="invalid input") as err:
        run_program(config, cwd=root)
    assert message in str(err.value)
