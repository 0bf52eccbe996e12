"""What the components cost: `pulumi preview` and `pulumi up` of the examples through B00tCluster
(planner, components, budget gates, epoch plan), beside baselines that create the same objects,
on one local API server (toolchain/cluster.py), in one run.

    .venv/bin/python -m bench.engine [--runs N]

Variants, each from an empty stack (preview, then up, then destroy), N times:

* components  - this project's Python program: one B00tCluster (gates included).
* plain       - a Pulumi program that creates the CLI's YAML (`stack to-k8s --all --secrets show`)
                as plain resources through kubernetes.yaml.v2.ConfigGroup: the same objects
                without components, planning at run time or gates (so without the gates'
                labels and annotations).
* kubectl     - `kubectl apply --server-side --field-manager=b00t-pulumi` of that YAML, CRDs
                first (no Pulumi at all).
* empty       - a Python program that registers nothing: the floor of starting the CLI, the
                language host, Python and the Kubernetes provider... nothing else.

Where the time goes is measured too: the program's own Python work before it registers anything
(imports, datum loading, planning: `program_s`), how much of `up` the state writes take (the
components' up again with PULUMI_SKIP_CHECKPOINTS), and the resource counts of each variant.
Medians; prints a table and writes bench/out/engine.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
PASSPHRASE = "b00t-dev-local-only"
SECRETS = {"N8N_BASIC_AUTH_PASSWORD": "bench-n8n-password", "N8N_BUDGET_WEBHOOK_URL": "http://127.0.0.1:9/webhook/b"}
NOW = {"B00T_NOW": "2026-11-22T21:00:00Z"}

PLAIN_PROGRAM = '''\
"""The CLI's YAML as plain resources: one ConfigGroup, no components, no gates."""
import pulumi
import pulumi_kubernetes as k8s
import yaml

objs = [o for o in yaml.safe_load_all(open("objects.yaml")) if o]
skip = pulumi.Config("b00t").get_bool("skipAwait") or False
for o in objs:  # what the components do: b00t:skipAwait for everything, and never wait for a Job
    if skip or o["kind"] == "Job":
        ann = o["metadata"].setdefault("annotations", {})
        ann.update({"pulumi.com/skipAwait": "true", "pulumi.com/deletionPropagationPolicy": "background"})
cfg = pulumi.Config("kubernetes")
provider = k8s.Provider("k0s", kubeconfig=cfg.get("kubeconfig"), context=cfg.get("context"),
                        suppress_deprecation_warnings=True)
k8s.yaml.v2.ConfigGroup("plain", objs=objs, opts=pulumi.ResourceOptions(provider=provider))
'''

EMPTY_PROGRAM = '''\
import pulumi
import pulumi_kubernetes as k8s

cfg = pulumi.Config("kubernetes")
k8s.Provider("k0s", kubeconfig=cfg.get("kubeconfig"), context=cfg.get("context"))
'''


def toolchain_env() -> dict[str, str]:
    out = subprocess.run(["bash", str(REPO / "toolchain" / "build.sh"), "--print-env"], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"bench.engine: the toolchain is not built (make toolchain): {out.stderr.strip()}")
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


@contextmanager
def cluster(directory: Path, env: dict[str, str]) -> Iterator[Path]:
    env = {**env, "B00T_CLUSTER_DIR": str(directory)}
    script = [sys.executable, str(REPO / "toolchain" / "cluster.py")]
    # the cluster's fake GPU nodes are those of the dev config the programs deploy with
    up = subprocess.run([*script, "up", "--config", str(REPO / "Pulumi.dev.yaml")], env=env, capture_output=True,
                        text=True, check=False)
    if up.returncode != 0:
        subprocess.run([*script, "down"], env=env, capture_output=True, check=False)
        sys.exit(f"bench.engine: the local API server did not start:\n{up.stderr}")
    try:
        yield directory / "kubeconfig"
    finally:
        subprocess.run([*script, "down"], env=env, capture_output=True, check=False)


class Project:
    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.dir, self.env = directory, env

    def run(self, *args: str, extra: dict[str, str] | None = None) -> tuple[float, str]:
        t = time.perf_counter()
        out = subprocess.run(["pulumi", *args, "--non-interactive"], cwd=self.dir, env={**self.env, **(extra or {})},
                             capture_output=True, text=True, check=False)
        took = time.perf_counter() - t
        if out.returncode != 0:
            sys.exit(f"bench.engine: pulumi {' '.join(args)} failed in {self.dir}:\n{out.stdout}\n{out.stderr}")
        return took, out.stdout

    def resources(self) -> int:
        state = json.loads(self.run("stack", "export", "--stack", "dev")[1])
        return len(state["deployment"].get("resources") or [])


def project(root: Path, name: str, kubeconfig: Path, env: dict[str, str], program: str | None) -> Project:
    d = root / name
    d.mkdir()
    if program is None:  # this repository's program
        for f in ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py"):
            shutil.copy2(REPO / f, d / f)
        for sub in ("stacks", "components"):
            shutil.copytree(REPO / sub, d / sub)
    else:
        (d / "Pulumi.yaml").write_text(f"name: bench-{name}\nruntime:\n  name: python\n  options:\n"
                                       "    toolchain: pip\n    virtualenv: .venv\n")
        (d / "__main__.py").write_text(program)
        shutil.copy2(REPO / "Pulumi.dev.yaml", d / "Pulumi.dev.yaml")
    (d / ".venv").symlink_to(REPO / ".venv")
    (d / "state").mkdir()
    p = Project(d, {**env, "PULUMI_BACKEND_URL": f"file://{d / 'state'}", "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
                    "KUBECONFIG": str(kubeconfig), "PYTHONUNBUFFERED": "1", **SECRETS, **NOW})
    p.run("stack", "init", "dev")
    p.run("config", "set", "--stack", "dev", "kubernetes:kubeconfig", str(kubeconfig))
    return p


def cli_yaml(args: list[str], env: dict[str, str]) -> str:
    exe = Path(sys.executable).parent / "b00t-pulumi"
    out = subprocess.run([str(exe), "stack", "to-k8s", "--all", "--env", "dev", *args], cwd=REPO,
                         env={**env, **SECRETS}, capture_output=True, text=True, check=True)
    return out.stdout


def program_seconds(runs: int) -> float:
    """The program's own Python work under Pulumi mocks: imports, datums, planning, registration."""
    code = ("import time, sys; t=time.perf_counter(); sys.path.insert(0, '.');"
            "from tests.deploy.harness import dev_config, run_program;"
            "import tempfile, pathlib; k=pathlib.Path(tempfile.mkdtemp())/'kc';"
            "k.write_text('apiVersion: v1\\nkind: Config\\nclusters: []\\ncontexts: []\\nusers: []\\n');"
            "run_program(dev_config({'kubernetes:kubeconfig': str(k)})); print(time.perf_counter()-t)")
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ, **SECRETS}, capture_output=True,
                             text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def run_kubectl(*args: str) -> None:
    out = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"bench.engine: {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")


def wait_namespaces_gone(kubectl: str, kubeconfig: Path, names: list[str]) -> None:
    """Deletes are in the background (b00t:skipAwait): a run starts once the last one's namespaces are gone."""
    for ns in names:
        subprocess.run([kubectl, "--kubeconfig", str(kubeconfig), "wait", "--for=delete", f"namespace/{ns}",
                        "--timeout=180s"], capture_output=True, check=False)


def kubectl_round(kubectl: str, kubeconfig: Path, crds: str, rest: str, tmp: Path, namespaces: list[str]) -> float:
    (tmp / "crds.yaml").write_text(crds)
    (tmp / "rest.yaml").write_text(rest)
    base = [kubectl, "--kubeconfig", str(kubeconfig)]
    apply = [*base, "apply", "--server-side", "--field-manager=b00t-pulumi", "-f"]
    t = time.perf_counter()
    run_kubectl(*apply, str(tmp / "crds.yaml"))
    run_kubectl(*base, "wait", "--for=condition=Established", "--timeout=60s", "-f", str(tmp / "crds.yaml"))
    run_kubectl(*apply, str(tmp / "rest.yaml"))
    took = time.perf_counter() - t
    run_kubectl(*base, "delete", "--wait=true", "--ignore-not-found", "-f", str(tmp / "rest.yaml"))
    run_kubectl(*base, "delete", "--ignore-not-found", "-f", str(tmp / "crds.yaml"))
    wait_namespaces_gone(kubectl, kubeconfig, namespaces)
    return took


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    env = {**os.environ, **toolchain_env()}
    env.pop("B00T_DATUMS", None)
    results: dict[str, dict[str, list[float]]] = {}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="b00t-bench-") as tmp_s:
        tmp = Path(tmp_s)
        with cluster(tmp / "cluster", env) as kubeconfig:
            everything = cli_yaml(["--secrets", "show"], env)
            namespaces = [d["metadata"]["name"] for d in yaml.safe_load_all(everything)
                          if d and d["kind"] == "Namespace"]
            kubectl = env.get("KUBECTL") or shutil.which("kubectl") or ""
            variants = {"components": project(tmp, "components", kubeconfig, env, None),
                        "plain": project(tmp, "plain", kubeconfig, env, PLAIN_PROGRAM),
                        "empty": project(tmp, "empty", kubeconfig, env, EMPTY_PROGRAM)}
            (variants["plain"].dir / "objects.yaml").write_text(everything)
            for r in range(args.runs):
                for name, p in variants.items():
                    res = results.setdefault(name, {"preview": [], "up": [], "preview_nochange": []})
                    res["preview"].append(p.run("preview", "--stack", "dev")[0])
                    res["up"].append(p.run("up", "--yes", "--stack", "dev")[0])
                    res["preview_nochange"].append(p.run("preview", "--stack", "dev")[0])
                    counts[name] = p.resources()
                    p.run("destroy", "--yes", "--stack", "dev")
                    if kubectl:
                        wait_namespaces_gone(kubectl, kubeconfig, namespaces)
                    print(f"run {r + 1}/{args.runs} {name}: preview {res['preview'][-1]:.1f}s up {res['up'][-1]:.1f}s",
                          file=sys.stderr)
                comp = variants["components"]
                skip = results["components"].setdefault("up_skip_checkpoints", [])
                skip.append(comp.run("up", "--yes", "--stack", "dev", extra={"PULUMI_SKIP_CHECKPOINTS": "true"})[0])
                comp.run("destroy", "--yes", "--stack", "dev")
                if kubectl:
                    wait_namespaces_gone(kubectl, kubeconfig, namespaces)
            if kubectl and Path(kubectl).exists():
                crds = cli_yaml(["--secrets", "show", "--crds-only"], env)
                rest = cli_yaml(["--secrets", "show", "--skip-crds"], env)
                results["kubectl"] = {"up": [kubectl_round(kubectl, kubeconfig, crds, rest, tmp, namespaces)
                                             for _ in range(args.runs)]}
    med = {name: {k: statistics.median(v) for k, v in res.items()} for name, res in results.items()}
    report: dict[str, Any] = {"runs": args.runs, "median_s": med, "resources": counts,
                              "program_s": program_seconds(args.runs)}
    plain = med["plain"]
    report["ratio_components_to_plain"] = {k: med["components"][k] / plain[k] for k in ("preview", "up",
                                                                                         "preview_nochange")}
    report["goal"] = {"preview": 1.2, "up": 1.3}
    report["kubectl_available"] = "kubectl" in med
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "engine.json").write_text(json.dumps(report, indent=2))
    print(f"{'variant':12} {'preview':>8} {'up':>8} {'no-op preview':>14} {'resources':>10}")
    for name, m in med.items():
        print(f"{name:12} {m.get('preview', float('nan')):8.2f} {m['up']:8.2f} "
              f"{m.get('preview_nochange', float('nan')):14.2f} {counts.get(name, 0):10}")
    r = report["ratio_components_to_plain"]
    print(f"components / plain: preview {r['preview']:.2f}x (goal <= 1.2), up {r['up']:.2f}x (goal <= 1.3), "
          f"no-op preview {r['preview_nochange']:.2f}x")
    print(f"components up without checkpoints: {med['components']['up_skip_checkpoints']:.2f}s; "
          f"program's own Python work (mocks): {report['program_s']:.2f}s")
    if not report["kubectl_available"]:
        print("kubectl: not built (toolchain/build.sh step 9); no kubectl baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
