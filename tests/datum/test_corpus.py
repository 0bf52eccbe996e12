"""Every upstream datum in ../shared/corpus/b00t-upstream loads, or gets clear validate errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from b00t_pulumi.cli.main import main
from b00t_pulumi.datum import Catalog, load_file
from b00t_pulumi.datum.loader import datum_files
from b00t_pulumi.plan import Planner

LINE = re.compile(r"^\S[^:]*: \S.*$")


def test_every_corpus_file_loads_or_fails_clearly(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = datum_files([corpus])
    assert len(files) >= 90
    loaded = 0
    for f in files:
        code = main(["validate", "-q", str(f)])
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err
        assert code in (0, 1)
        lines = out.out.splitlines()
        if code == 1:
            assert lines and all(LINE.match(ln) for ln in lines), (f, lines)
        result = load_file(f)
        if result.datum is not None:
            loaded += 1
    # A single file cannot resolve its members; loaded counts files whose own content is valid.
    assert loaded == len(files)


def test_corpus_as_one_catalog(corpus: Path) -> None:
    cat = Catalog.load([corpus])
    # What upstream itself does not ship is reported by name, with the directory searched.
    missing = {p.message.split("'")[1] for p in cat.errors}
    assert missing <= {"docker.cli", "grok-guru.mcp", "mistralrs-proxy.ai", "plantuml.mcp", "chrome-mcp.mcp"}
    for p in cat.errors:
        assert "not found in" in p.message


def test_upstream_ids_come_from_fields_inside(corpus: Path) -> None:
    r = load_file(corpus / "helix-db.docker.toml")
    assert r.datum is not None and r.datum.id == r.datum.name + "." + r.datum.type
    assert any("ids come from the fields inside" in p.message for p in r.problems)


def test_upstream_llm_pipeline_and_job_plan(corpus: Path) -> None:
    cat = Catalog.load([corpus])
    planner = Planner(cat, environ={})
    stack = planner.plan_stack("llm-inference-pipeline")
    kinds = sorted(o["kind"] for o in stack.objects)
    assert "Deployment" in kinds and "Service" in kinds
    job = planner.plan_job("llm-batch-job").job_object
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "gpu-queue"
    assert [c["name"] for c in job["spec"]["template"]["spec"]["initContainers"]] == ["wait-for-n8n"]
    # gpu_type (upstream) and shared are honoured
    aff = job["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    values = aff["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert "NVIDIA-A100-SXM4-40GB-SHARED" in values["values"]
