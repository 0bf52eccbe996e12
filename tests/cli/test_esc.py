"""Pulumi ESC `environment:` imports: the CLI asks the pulumi CLI for the engine's merge, or says
that it cannot and which settings it lacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from b00t_pulumi.cli.main import main

ENVIRONMENTS = ["b00t/common", "b00t/staging"]


def project(tmp_path: Path, repo: Path) -> Path:
    for d in ("stacks", "components"):
        shutil.copytree(repo / d, tmp_path / d)
    shutil.copy2(repo / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    doc = {"environment": ENVIRONMENTS,
           "config": {"b00t:namespace": "from-file", "b00t:skipAwait": "true"}}
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


def fake_pulumi(tmp_path: Path, config: dict[str, object], rc: int = 0, stderr: str = "") -> Path:
    """A stand-in for `pulumi config --json --open --stack staging` that records its arguments."""
    exe = tmp_path / "bin" / "pulumi"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n"
                   f'echo "$@" > {tmp_path / "args"}\n'
                   f"cat <<'EOF'\n{json.dumps(config)}\nEOF\n"
                   f"echo '{stderr}' >&2\nexit {rc}\n")
    exe.chmod(0o755)
    return exe


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_values_from_esc_are_merged_under_the_file(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    proj = project(tmp_path, repo)
    # what the engine prints: the file's keys win over the environment's; secrets are never read
    merged = {"b00t:namespace": {"value": "from-file", "secret": False},
              "b00t:skipAwait": {"value": "true", "secret": False},
              "b00t:ledger": {"value": "sqlite:///from-esc.db", "secret": False},
              "b00t:kueue": {"value": "{...}", "objectValue": {"clusterQueue": "esc-queue"}, "secret": False},
              "b00t:gpuInventory": {"value": "{...}", "secret": False, "objectValue": {
                  "nodes": [{"name": "esc-gpu-0", "gpuType": "nvidia-a100", "gpus": 1, "slots": 4}]}},
              "b00t:secrets": {"secret": True},
              "kubernetes:context": {"value": "esc-context", "secret": False}}
    monkeypatch.setenv("PULUMI_BIN", str(fake_pulumi(tmp_path, merged)))
    monkeypatch.chdir(proj)
    monkeypatch.delenv("B00T_DATUMS", raising=False)
    code, out, err = run(capsys, "stack", "to-k8s", "--all", "--env", "staging")
    assert code == 0, err
    assert (tmp_path / "args").read_text().split() == ["config", "--json", "--open", "--stack", "staging",
                                                        "--non-interactive"]
    objs = list(yaml.safe_load_all(out))
    assert {o["metadata"].get("namespace") for o in objs if o["kind"] == "Deployment"} == {"from-file"}
    assert "esc-queue" in [o["metadata"]["name"] for o in objs if o["kind"] == "ClusterQueue"]
    assert "cannot open" not in err


@pytest.mark.parametrize("how", ["missing", "fails"])
def test_cli_says_it_cannot_open_the_environments_and_what_it_lacks(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        how: str) -> None:
    proj = project(tmp_path, repo)
    if how == "missing":
        monkeypatch.setenv("PULUMI_BIN", str(tmp_path / "no-such-pulumi"))
    else:
        exe = fake_pulumi(tmp_path, {}, rc=255, stderr="error: backend file:// does not support environments")
        monkeypatch.setenv("PULUMI_BIN", str(exe))
    monkeypatch.chdir(proj)
    monkeypatch.delenv("B00T_DATUMS", raising=False)
    code, out, err = run(capsys, "stack", "list", "--env", "staging")
    assert code == 0
    assert "Pulumi.staging.yaml: environment: warning: imports ESC environment(s) b00t/common, b00t/staging, " \
           "which the CLI cannot open" in err
    if how == "fails":
        assert "does not support environments" in err
    lacks = err.split("possibly lacking: ")[1]
    assert "b00t:ledger" in lacks and "b00t:gpuInventory" in lacks
    assert "b00t:namespace" not in lacks and "b00t:skipAwait" not in lacks
    assert "from-file" in out
