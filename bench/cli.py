"""CLI and planner speed: what a user waits for, beside the baselines it must beat.

    .venv/bin/python -m bench.cli

* CLI start-up: `b00t-pulumi --version` and `b00t-pulumi validate` on the examples, beside the
  baseline of merely importing pulumi + pulumi_kubernetes (what the CLI must never pay).
* Planner throughput: datums -> every Kubernetes object of N synthetic stacks (each a copy of the
  example pipeline in its own namespace), beside the baseline of only loading those TOML files
  with tomllib, as a ratio.
Median of repeated runs; prints a table and writes bench/out/cli.json.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from b00t_pulumi.datum import Catalog
from b00t_pulumi.plan import Planner
from b00t_pulumi.settings import EnvironmentSettings

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"


def timed(cmd: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def synthetic(root: Path, n: int) -> None:
    (root / "stacks").mkdir()
    shutil.copytree(REPO / "components", root / "components")
    text = (REPO / "stacks" / "llm-inference-pipeline.stack.toml").read_text()
    for i in range(n):
        # every copy in its own namespace; one docker member set per namespace is allowed
        t = text.replace('name = "llm-inference-pipeline"', f'name = "pipeline-{i:04d}"')
        t = t.replace('namespace = "ai-ml-pipelines"', f'namespace = "team-{i:04d}"')
        (root / "stacks" / f"pipeline-{i:04d}.stack.toml").write_text(t)


def planner_throughput(n: int, runs: int = 3) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        synthetic(root, n)
        files = sorted(root.rglob("*.toml"))
        base, ours, objects = [], [], 0
        for _ in range(runs):
            t = time.perf_counter()
            for f in files:
                tomllib.loads(f.read_text())
            base.append(time.perf_counter() - t)
            t = time.perf_counter()
            cat = Catalog.load([root / "stacks", root / "components"])
            cat.raise_for_errors()
            plan = Planner(cat, EnvironmentSettings(), environ={}).plan_cluster()
            objects = len(plan.all_objects())
            ours.append(time.perf_counter() - t)
        return statistics.median(base), statistics.median(ours), objects


def main() -> None:
    exe = str(Path(sys.executable).parent / "b00t-pulumi")
    rows = {
        "import pulumi + pulumi_kubernetes (baseline)": timed([sys.executable, "-c",
                                                              "import pulumi, pulumi_kubernetes"]),
        "python -c pass (interpreter floor)": timed([sys.executable, "-c", "pass"]),
        "b00t-pulumi --version": timed([exe, "--version"]),
        "b00t-pulumi validate --env dev": timed([exe, "validate", "-q", "--env", "dev"]),
        "b00t-pulumi stack to-k8s --all --env dev": timed([exe, "stack", "to-k8s", "--all", "--env", "dev"]),
    }
    base = rows["import pulumi + pulumi_kubernetes (baseline)"]
    print(f"{'command':46} {'median s':>9} {'vs pulumi import':>17}")
    for k, v in rows.items():
        print(f"{k:46} {v:9.3f} {v / base:16.2f}x")
    print()
    print(f"{'stacks':>7} {'objects':>8} {'tomllib s':>10} {'plan s':>8} {'ratio':>7} {'objects/s':>10}")
    plans = []
    for n in (10, 100, 400):
        b, o, objs = planner_throughput(n)
        plans.append({"stacks": n, "objects": objs, "tomllib_s": b, "plan_s": o, "ratio": o / b})
        print(f"{n:7d} {objs:8d} {b:10.3f} {o:8.3f} {o / b:6.1f}x {objs / o:10.0f}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "cli.json").write_text(json.dumps({"startup_s": rows, "planner": plans}, indent=2))


if __name__ == "__main__":
    main()
