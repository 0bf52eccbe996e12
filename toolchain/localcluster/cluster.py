"""The local cluster's life: up (idempotent; syncs the fake nodes), down, status.

Processes, in start order, all on 127.0.0.1 (docs/toolchain.md says why each is there):
etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, the Kueue manager.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from localcluster import kueue, kwok, pki
from localcluster.api import Api
from localcluster.procs import ClusterError, Proc, State, log, start, stop, wait_for

# The controllers a real cluster runs for the objects this project creates (plus what deletes work on).
CONTROLLERS = [
    "garbage-collector-controller", "namespace-controller",
    "persistentvolumeclaim-protection-controller", "persistentvolume-protection-controller",
    "job-controller", "deployment-controller", "replicaset-controller", "node-lifecycle-controller",
    "pod-garbage-collector-controller", "ttl-after-finished-controller",
    "endpoints-controller", "endpointslice-controller", "horizontal-pod-autoscaler-controller",
]
PORT_TRIES = 3  # attempts of `up` when a port it picked is taken before its process binds it
ORDER = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kueue"]


def toolchain_env(build_sh: Path) -> dict[str, str]:
    proc = subprocess.run(["bash", str(build_sh), "--print-env", "cluster"], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise ClusterError(proc.stderr.strip() or "toolchain/build.sh --print-env failed")
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


class LocalCluster:
    def __init__(self, state_dir: Path, build_sh: Path) -> None:
        self.dir = state_dir
        self.build_sh = build_sh
        self.state_file = state_dir / "state.json"
        self.kubeconfig = state_dir / "kubeconfig"
        self.logs = state_dir / "logs"
        self.pki = state_dir / "pki"

    # ------------------------------------------------------------------ state
    def state(self) -> State | None:
        return State.load(self.state_file)

    def api(self, st: State) -> Api:
        return Api(st.data["server"], st.data["token"])

    def is_up(self, st: State | None) -> bool:
        if st is None or not st.data.get("complete"):
            return False
        if any(name not in st.procs or not st.procs[name].alive() for name in ORDER):
            return False
        code, body = self.api(st).request("GET", "/readyz", timeout=3)
        return code == 200 and body.strip() == b"ok"

    def dead(self, st: State) -> list[str]:
        return [p.died() or "" for name, p in st.procs.items() if name in ORDER and not p.alive()]

    # ------------------------------------------------------------------ up
    def up(self, nodes: list[dict[str, Any]]) -> State:
        st = self.state()
        if self.is_up(st):
            assert st is not None
            log(f"already up: {st.data['server']} (KUBECONFIG={self.kubeconfig})")
            self.sync_nodes(st, nodes)
            return st
        if st is not None:
            for why in self.dead(st):
                log(f"stale cluster: {why}")
            log("cleaning up the stale cluster state first")
            self.down(quiet=True)
        env = toolchain_env(self.build_sh)
        for key in ("KUBE_APISERVER", "KUBE_CONTROLLER_MANAGER", "KUBE_SCHEDULER", "ETCD", "KUEUE_CRDS_DIR",
                    "KUEUE_MANAGER", "KUEUE_WEBHOOK_MANIFESTS", "KWOK", "KWOK_STAGES_DIR"):
            if not env.get(key):
                raise ClusterError(f"toolchain/build.sh --print-env gave no {key}")
        pki.require_openssl()
        for attempt in range(1, PORT_TRIES + 1):
            try:
                return self._start(env, nodes)
            except ClusterError as exc:
                if "address already in use" not in str(exc) or attempt == PORT_TRIES:
                    log(f"up failed; logs are in {self.logs}")
                    raise
                # free_ports releases the ports it found before the processes bind them: another
                # cluster starting at the same moment (parallel engine tests) may take one first
                log(f"a port was taken before it was bound; starting again on others ({attempt}/{PORT_TRIES})")
                self.down(quiet=True)
        raise AssertionError("unreachable")  # pragma: no cover

    def _start(self, env: dict[str, str], nodes: list[dict[str, Any]]) -> State:
        """Start every process on newly picked ports (``up``'s one attempt)."""
        t0 = time.monotonic()
        for d in ("etcd", "pki", "logs"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        (self.dir / "etcd").chmod(0o700)
        etcd_port, peer_port, api_port, webhook_port, health_port = free_ports(5)
        token = secrets.token_hex(24)
        st = State(self.state_file)
        st.data = {"server": f"https://127.0.0.1:{api_port}", "token": token, "kubeconfig": str(self.kubeconfig),
                   "etcd_port": etcd_port, "api_port": api_port, "kueue_webhook_port": webhook_port,
                   "kueue_health_port": health_port}
        st.save()
        self._start_etcd(st, env["ETCD"], etcd_port, peer_port)
        self._start_apiserver(st, env, etcd_port, api_port, token)
        api = self.api(st)
        self._start_controllers(st, env)
        self._install_crds(api, Path(env["KUEUE_CRDS_DIR"]))
        self._start_kwok(st, api, env)
        self.sync_nodes(st, nodes)
        self._start_kueue(st, api, env, webhook_port, health_port)
        self._wait_for_garbage_collector(api, st)
        st.data["complete"] = True
        st.save()
        log(f"up in {time.monotonic() - t0:.1f}s: {st.data['server']}")
        return st

    def _start_etcd(self, st: State, etcd: str, port: int, peer: int) -> None:
        p = start("etcd", [etcd, "--name", "b00t", "--data-dir", str(self.dir / "etcd"),
                           "--listen-client-urls", f"http://127.0.0.1:{port}",
                           "--advertise-client-urls", f"http://127.0.0.1:{port}",
                           "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                           "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                           "--initial-cluster", f"b00t=http://127.0.0.1:{peer}", "--initial-cluster-state", "new",
                           "--listen-metrics-urls", "", "--logger", "zap", "--log-level", "warn"], self.logs)
        st.add(p)
        log(f"etcd {etcd} on 127.0.0.1:{port} (pid {p.pid})")

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    return bool(json.loads(r.read()).get("health") == "true")
            except (OSError, ValueError):
                return False

        wait_for("etcd", healthy, procs=[p])

    def _start_apiserver(self, st: State, env: dict[str, str], etcd_port: int, api_port: int, token: str) -> None:
        (self.pki / "tokens.csv").write_text(f'{token},admin,admin-uid,"system:masters"\n')
        sa_key = pki.service_account_key(self.pki)
        p = start("kube-apiserver", [
            env["KUBE_APISERVER"], f"--etcd-servers=http://127.0.0.1:{etcd_port}", f"--cert-dir={self.pki}",
            f"--secure-port={api_port}", "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            "--service-cluster-ip-range=10.0.0.0/24", "--authorization-mode=RBAC",
            f"--token-auth-file={self.pki / 'tokens.csv'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={sa_key}", f"--service-account-signing-key-file={sa_key}",
            "--disable-admission-plugins=ServiceAccount",
            # 127.0.0.1 is not a valid Endpoints address: without this the API server logs an error
            # every 10 s trying to publish itself as the `kubernetes` Service.
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true", "--enable-priority-and-fairness=false", "--profiling=false", "--v=0"],
            self.logs)
        st.add(p)
        log(f"kube-apiserver {env.get('KUBERNETES_VERSION', '')} on {st.data['server']} (pid {p.pid})")
        api = self.api(st)
        wait_for("kube-apiserver /readyz", lambda: api.request("GET", "/readyz", timeout=3) == (200, b"ok"),
                 procs=[p, st.procs["etcd"]])
        wait_for("namespace default", lambda: api.request("GET", "/api/v1/namespaces/default")[0] == 200,
                 timeout=60, procs=[p])
        write_kubeconfig(self.kubeconfig, st.data["server"], token, (self.pki / "apiserver.crt").read_bytes())

    def _start_controllers(self, st: State, env: dict[str, str]) -> None:
        kcm = start("kube-controller-manager", [
            env["KUBE_CONTROLLER_MANAGER"], f"--kubeconfig={self.kubeconfig}",
            f"--controllers={','.join(CONTROLLERS)}", "--leader-elect=false",
            "--use-service-account-credentials=false", "--secure-port=0", "--v=0"], self.logs)
        st.add(kcm)
        log(f"kube-controller-manager: {len(CONTROLLERS)} controllers (pid {kcm.pid})")
        config = self.dir / "kube-scheduler.yaml"
        config.write_text(json.dumps(scheduler_configuration(self.kubeconfig), indent=2) + "\n")
        sched = start("kube-scheduler", [env["KUBE_SCHEDULER"], f"--config={config}", "--secure-port=0", "--v=0"],
                      self.logs)
        st.add(sched)
        log(f"kube-scheduler (pid {sched.pid})")

    def _install_crds(self, api: Api, crd_dir: Path) -> None:
        files = sorted(crd_dir.glob("*.yaml"))
        if not files:
            raise ClusterError(f"no CRD files in {crd_dir}")
        names = []
        for f in files:
            code, body = api.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                     f.read_bytes(), content_type="application/yaml", timeout=30)
            if code not in (201, 409):
                raise ClusterError(f"creating CRD from {f.name}: HTTP {code}: {body[:500]!r}")
            group, rest = f.name.split("_", 1)
            names.append(f"{rest[: -len('.yaml')]}.{group}")

        def established() -> bool:
            for n in names:
                crd = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{n}")
                conds = ((crd or {}).get("status") or {}).get("conditions") or []
                if not any(c["type"] == "Established" and c["status"] == "True" for c in conds):
                    return False
            return True

        wait_for(f"{len(names)} Kueue CRDs Established", established, timeout=60)

    def _start_kwok(self, st: State, api: Api, env: dict[str, str]) -> None:
        stages = self.dir / "kwok-stages.yaml"
        for obj in kwok.write_stages(Path(env["KWOK_STAGES_DIR"]), stages):
            if obj.get("kind") == "StorageClass":
                api.apply(f"/apis/storage.k8s.io/v1/storageclasses/{obj['metadata']['name']}", obj)
        p = start("kwok", [env["KWOK"], *kwok.flags(self.kubeconfig, stages)], self.logs)
        st.add(p)
        log(f"kwok {env.get('KWOK_VERSION', '')} (pid {p.pid}), stages in {stages.name}")

    def sync_nodes(self, st: State, nodes: list[dict[str, Any]]) -> None:
        api = self.api(st)
        names, removed = kwok.sync_nodes(api, nodes)
        log(f"fake nodes: {kwok.describe(nodes)}" + (f"; removed {', '.join(removed)}" if removed else ""))
        wait_for(f"{len(names)} nodes Ready and untainted", lambda: kwok.nodes_ready(api, names), timeout=120,
                 procs=[st.procs[n] for n in ("kwok", "kube-controller-manager") if n in st.procs])

    def _start_kueue(self, st: State, api: Api, env: dict[str, str], webhook_port: int, health_port: int) -> None:
        api.apply(f"/api/v1/namespaces/{kueue.NAMESPACE}",
                  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": kueue.NAMESPACE}})
        certs = pki.webhook_certs(self.pki)
        config = kueue.write_configuration(self.dir / "kueue-config.json", webhook_port, health_port, certs)
        p = start("kueue", [env["KUEUE_MANAGER"], f"--config={config}", f"--kubeconfig={self.kubeconfig}",
                            "--zap-log-level=info"], self.logs, env={"KUEUE_METRICS_CERT_DIR": str(certs)})
        st.add(p)
        log(f"Kueue {env.get('KUEUE_VERSION', '')} manager, webhooks on 127.0.0.1:{webhook_port} (pid {p.pid})")

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/readyz", timeout=2) as r:
                    return int(r.status) == 200
            except OSError:
                return False

        wait_for("Kueue manager /readyz", ready, procs=[p])
        n = kueue.install_webhooks(api, Path(env["KUEUE_WEBHOOK_MANIFESTS"]), webhook_port,
                                   (self.pki / "ca.crt").read_bytes())
        wait_for(f"Kueue webhooks ({n}) answer", lambda: kueue.job_webhook_works(api), timeout=60, procs=[p])

    def _wait_for_garbage_collector(self, api: Api, st: State) -> None:
        """Pulumi deletes with foreground propagation: prove the garbage collector finishes one."""
        path = "/api/v1/namespaces/default/configmaps"
        name = f"b00t-gc-probe-{secrets.token_hex(3)}"
        code, body = api.request("POST", path, json.dumps(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}).encode())
        if code != 201:
            raise ClusterError(f"creating {name}: HTTP {code} {body[:300]!r}")
        code, body = api.request("DELETE", f"{path}/{name}", json.dumps(
            {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}).encode())
        if code not in (200, 202):
            raise ClusterError(f"deleting {name}: HTTP {code} {body[:300]!r}")
        wait_for("garbage collector (a foreground delete completes)",
                 lambda: api.request("GET", f"{path}/{name}")[0] == 404, timeout=120,
                 procs=[st.procs["kube-controller-manager"]])

    # ------------------------------------------------------------------ down
    def down(self, quiet: bool = False) -> None:
        st = self.state()
        if st is not None:
            for name in reversed(ORDER):
                p: Proc | None = st.procs.get(name)
                if p is not None:
                    stop(p)
        if self.dir.exists():
            shutil.rmtree(self.dir)
        if not quiet:
            log("down: processes stopped, " + (f"{self.dir} removed" if st else "nothing was running"))


def scheduler_configuration(kubeconfig: Path) -> dict[str, Any]:
    """kube-scheduler's defaults, but a pod that did not fit is retried after 1 s, not backed off up to
    10 s: jobs run in scaled time here (a 20-minute job in 20 s), so a 10 s backoff would be minutes."""
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "leaderElection": {"leaderElect": False},
        "podInitialBackoffSeconds": 1, "podMaxBackoffSeconds": 1,
    }


def write_kubeconfig(path: Path, server: str, token: str, ca_pem: bytes) -> None:
    """Cluster ``local``, context ``Default``, user ``user``: what ``k0s kubeconfig admin`` writes.
    JSON is valid YAML: kubectl, client-go and the Python client all read it."""
    import base64

    cfg = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "local", "cluster": {"server": server,
                                                   "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "contexts": [{"name": "Default", "context": {"cluster": "local", "user": "user", "namespace": "default"}}],
        "current-context": "Default",
        "users": [{"name": "user", "user": {"token": token}}],
    }
    path.write_text(json.dumps(cfg, indent=2) + "\n")
    path.chmod(0o600)
