#!/usr/bin/env python3
"""A local k0s-like Kubernetes API server for b00t-pulumi: etcd + kube-apiserver, no controllers.

Usage (python3 stdlib only; the toolchain must be built: toolchain/build.sh):
  python3 toolchain/cluster.py up      start (a no-op when already up), install the Kueue CRDs
  python3 toolchain/cluster.py down    stop and remove the data
  python3 toolchain/cluster.py status  print state; exit 0 when up and ready, 1 otherwise
  python3 toolchain/cluster.py check   create and delete one of each object kind the project uses

Everything lives in .cache/cluster/ of the checkout (B00T_CLUSTER_DIR overrides it):
  kubeconfig   cluster `local`, context `Default`, user `user` (what `k0s kubeconfig admin` writes),
               bearer token, CA = the API server's self-signed serving certificate
  state.json   PIDs, ports and the token; logs/ the two servers' output; etcd/, pki/ the data

There is no kubelet or scheduler, and kube-controller-manager runs only four controllers: the
garbage collector (Pulumi deletes with foreground propagation, which waits for it), the namespace
controller (deleting a namespace deletes its contents and finishes), and the PVC and PV
protection controllers (they remove the `kubernetes.io/pvc-protection` finalizer that admission
adds, without which a PVC, and its namespace, could never be deleted). Objects are
stored and validated (OpenAPI schemas, CEL rules, admission) but nothing else reconciles them:
Deployments and Jobs never become ready, so Pulumi programs must not wait for them
(`pulumi.com/skipAwait: "true"`). The ServiceAccount admission plugin is off (no token controller).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STATE_DIR = Path(os.environ.get("B00T_CLUSTER_DIR") or ROOT / ".cache" / "cluster")
STATE_FILE = STATE_DIR / "state.json"
KUBECONFIG = STATE_DIR / "kubeconfig"
READY_TIMEOUT = float(os.environ.get("B00T_CLUSTER_TIMEOUT", "180"))

# Object kinds the project creates; `check` proves the API server accepts each of them.
CHECK_OBJECTS = [
    ("/api/v1/namespaces/{ns}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
     "metadata": {"name": "c"}, "data": {"k": "v"}}),
    ("/api/v1/namespaces/{ns}/secrets", {"apiVersion": "v1", "kind": "Secret",
     "metadata": {"name": "s"}, "stringData": {"k": "v"}}),
    ("/api/v1/namespaces/{ns}/services", {"apiVersion": "v1", "kind": "Service",
     "metadata": {"name": "svc"}, "spec": {"selector": {"app": "a"}, "ports": [{"port": 80}]}}),
    ("/api/v1/namespaces/{ns}/persistentvolumeclaims", {"apiVersion": "v1",
     "kind": "PersistentVolumeClaim", "metadata": {"name": "pvc"}, "spec": {
         "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
    ("/apis/apps/v1/namespaces/{ns}/deployments", {"apiVersion": "apps/v1", "kind": "Deployment",
     "metadata": {"name": "d", "labels": {"kueue.x-k8s.io/queue-name": "lq"}}, "spec": {
         "replicas": 1, "selector": {"matchLabels": {"app": "a"}}, "template": {
             "metadata": {"labels": {"app": "a"}},
             "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}),
    ("/apis/batch/v1/namespaces/{ns}/jobs", {"apiVersion": "batch/v1", "kind": "Job",
     "metadata": {"name": "j", "labels": {"kueue.x-k8s.io/queue-name": "lq"}}, "spec": {
         "suspend": True, "template": {"spec": {"restartPolicy": "Never",
                                                "containers": [{"name": "c", "image": "busybox"}]}}}}),
    ("/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers", {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                 "minReplicas": 1, "maxReplicas": 2}}),
    ("/apis/kueue.x-k8s.io/v1beta2/resourceflavors", {"apiVersion": "kueue.x-k8s.io/v1beta2",
     "kind": "ResourceFlavor", "metadata": {"name": "{ns}-rf"},
     "spec": {"nodeLabels": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"}}}),
    ("/apis/kueue.x-k8s.io/v1beta2/clusterqueues", {"apiVersion": "kueue.x-k8s.io/v1beta2",
     "kind": "ClusterQueue", "metadata": {"name": "{ns}-cq"}, "spec": {
         "namespaceSelector": {}, "queueingStrategy": "BestEffortFIFO",
         "resourceGroups": [{"coveredResources": ["cpu", "nvidia.com/gpu"], "flavors": [{
             "name": "{ns}-rf", "resources": [{"name": "cpu", "nominalQuota": "8"},
                                              {"name": "nvidia.com/gpu", "nominalQuota": "2"}]}]}]}}),
    ("/apis/kueue.x-k8s.io/v1beta2/namespaces/{ns}/localqueues", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "lq"},
        "spec": {"clusterQueue": "{ns}-cq"}}),
    ("/apis/kueue.x-k8s.io/v1beta2/workloadpriorityclasses", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "WorkloadPriorityClass",
        "metadata": {"name": "{ns}-wpc"}, "value": 100, "description": "check"}),
]


def log(msg: str) -> None:
    print(f"[cluster] {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> None:
    print(f"[cluster] error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def toolchain_env() -> dict[str, str]:
    proc = subprocess.run([str(HERE / "build.sh"), "--print-env", "cluster"], capture_output=True, text=True)
    if proc.returncode != 0:
        die(proc.stderr.strip() or "toolchain/build.sh --print-env failed")
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_state() -> dict | None:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int, exe_hint: str) -> bool:
    """True when `pid` runs and is the process we started (its command line names `exe_hint`)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and exe_hint.encode() in cmdline[0]


class Api:
    def __init__(self, server: str, token: str) -> None:
        self.server, self.token = server, token
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str = "application/json", timeout: float = 10) -> tuple[int, bytes]:
        req = urllib.request.Request(self.server + path, data=body, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if body is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except (urllib.error.URLError, OSError) as e:
            return 0, str(e).encode()


def ready(state: dict) -> bool:
    code, body = Api(state["server"], state["token"]).request("GET", "/readyz", timeout=3)
    return code == 200 and body.strip() == b"ok"


def is_up(state: dict | None) -> bool:
    # "complete" is written last by `up`: an interrupted `up` leaves a stale state, not a cluster.
    return bool(state) and state.get("complete", False) and pid_alive(state["etcd_pid"], "etcd") and \
        pid_alive(state["apiserver_pid"], "kube-apiserver") and \
        pid_alive(state.get("controller_manager_pid", 0), "kube-controller-manager") and ready(state)


def wait_for(what: str, check, timeout: float = READY_TIMEOUT, procs=()) -> None:
    t0 = time.monotonic()
    last = 0.0
    while True:
        if check():
            log(f"{what}: ready after {time.monotonic() - t0:.1f}s")
            return
        for name, proc, logfile in procs:
            if proc.poll() is not None:
                tail = Path(logfile).read_text(errors="replace").splitlines()[-25:]
                die(f"{name} exited with code {proc.returncode} while waiting for {what}; "
                    f"last lines of {logfile}:\n" + "\n".join(tail))
        elapsed = time.monotonic() - t0
        if elapsed > timeout:
            die(f"{what}: not ready after {timeout:.0f}s (see {STATE_DIR / 'logs'})")
        if elapsed - last >= 5:
            log(f"{what}: waiting ({elapsed:.0f}s)...")
            last = elapsed
        time.sleep(0.25)


def stop_pid(pid: int, hint: str, timeout: float = 15) -> None:
    if not pid_alive(pid, hint):
        return
    os.kill(pid, signal.SIGTERM)
    t0 = time.monotonic()
    while pid_alive(pid, hint) and time.monotonic() - t0 < timeout:
        time.sleep(0.1)
    if pid_alive(pid, hint):
        log(f"{hint} (pid {pid}) did not stop after SIGTERM; sending SIGKILL")
        os.kill(pid, signal.SIGKILL)


def write_kubeconfig(server: str, token: str, ca_pem: bytes) -> None:
    # JSON is valid YAML: kubectl, client-go and the Python client all read this file.
    cfg = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "local", "cluster": {
            "server": server,
            "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "contexts": [{"name": "Default", "context": {"cluster": "local", "user": "user",
                                                     "namespace": "default"}}],
        "current-context": "Default",
        "users": [{"name": "user", "user": {"token": token}}],
    }
    KUBECONFIG.write_text(json.dumps(cfg, indent=2) + "\n")
    KUBECONFIG.chmod(0o600)


def install_crds(api: Api, crd_dir: Path) -> None:
    files = sorted(crd_dir.glob("*.yaml"))
    if not files:
        die(f"no CRD files in {crd_dir}")
    names = []
    for f in files:
        # The API server accepts YAML request bodies: no YAML parser needed here.
        code, body = api.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                 f.read_bytes(), content_type="application/yaml", timeout=30)
        if code not in (201, 409):
            die(f"creating CRD from {f.name}: HTTP {code}: {body[:500]!r}")
        names.append(f.name.split("_", 1)[1][: -len(".yaml")] + "." + f.name.split("_", 1)[0])

    def established() -> bool:
        for n in names:
            code, body = api.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{n}")
            if code != 200:
                return False
            conds = (json.loads(body).get("status") or {}).get("conditions") or []
            if not any(c["type"] == "Established" and c["status"] == "True" for c in conds):
                return False
        return True

    wait_for(f"{len(names)} Kueue CRDs Established", established, timeout=60)


def wait_for_garbage_collector(api: Api, procs) -> None:
    """Pulumi deletes with foreground propagation: prove the garbage collector finishes one."""
    path = "/api/v1/namespaces/default/configmaps"
    name = f"b00t-gc-probe-{secrets.token_hex(3)}"
    code, body = api.request("POST", path, json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}).encode())
    if code != 201:
        die(f"creating {name}: HTTP {code} {body[:300]!r}")
    code, body = api.request("DELETE", f"{path}/{name}", json.dumps(
        {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}).encode())
    if code not in (200, 202):
        die(f"deleting {name}: HTTP {code} {body[:300]!r}")
    wait_for("garbage collector (a foreground delete completes)",
             lambda: api.request("GET", f"{path}/{name}")[0] == 404, timeout=120, procs=procs)


def up() -> None:
    state = load_state()
    if is_up(state):
        log(f"already up: {state['server']} (KUBECONFIG={KUBECONFIG})")
        return
    if state:
        log("found a stale cluster state; cleaning it up first")
        down(quiet=True)
    env = toolchain_env()
    for key in ("KUBE_APISERVER", "KUBE_CONTROLLER_MANAGER", "ETCD", "KUEUE_CRDS_DIR"):
        if not env.get(key):
            die(f"toolchain/build.sh --print-env gave no {key}")
    if not shutil.which("openssl"):
        die("openssl is needed to generate the service-account key (apt-get install openssl)")

    t0 = time.monotonic()
    for d in ("etcd", "pki", "logs"):
        (STATE_DIR / d).mkdir(parents=True, exist_ok=True)
    (STATE_DIR / "etcd").chmod(0o700)
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    while len({etcd_port, peer_port, api_port}) < 3:
        peer_port, api_port = free_port(), free_port()
    token = secrets.token_hex(24)
    server = f"https://127.0.0.1:{api_port}"
    pki = STATE_DIR / "pki"
    (pki / "tokens.csv").write_text(f'{token},admin,admin-uid,"system:masters"\n')
    subprocess.run(["openssl", "genrsa", "-out", str(pki / "sa.key"), "2048"], check=True,
                   capture_output=True)

    etcd_log = STATE_DIR / "logs" / "etcd.log"
    etcd = subprocess.Popen(
        [env["ETCD"], "--name", "b00t", "--data-dir", str(STATE_DIR / "etcd"),
         "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
         "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
         "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
         "--initial-cluster", f"b00t=http://127.0.0.1:{peer_port}",
         "--initial-cluster-state", "new", "--logger", "zap", "--log-level", "warn"],
        stdout=etcd_log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    state = {"etcd_pid": etcd.pid, "apiserver_pid": 0, "etcd_port": etcd_port, "api_port": api_port,
             "server": server, "token": token, "kubeconfig": str(KUBECONFIG)}
    STATE_FILE.write_text(json.dumps(state, indent=2) + "\n")
    log(f"etcd {env['ETCD']} on 127.0.0.1:{etcd_port} (pid {etcd.pid})")

    def etcd_healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{etcd_port}/health", timeout=2) as r:
                return json.loads(r.read()).get("health") == "true"
        except (OSError, ValueError):
            return False

    wait_for("etcd", etcd_healthy, procs=[("etcd", etcd, etcd_log)])

    api_log = STATE_DIR / "logs" / "kube-apiserver.log"
    apiserver = subprocess.Popen(
        [env["KUBE_APISERVER"],
         f"--etcd-servers=http://127.0.0.1:{etcd_port}",
         f"--cert-dir={pki}", f"--secure-port={api_port}",
         "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
         "--service-cluster-ip-range=10.0.0.0/24",
         "--authorization-mode=RBAC", f"--token-auth-file={pki / 'tokens.csv'}",
         "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
         f"--service-account-key-file={pki / 'sa.key'}",
         f"--service-account-signing-key-file={pki / 'sa.key'}",
         "--disable-admission-plugins=ServiceAccount",
         # 127.0.0.1 is not a valid Endpoints address: without this the API server logs an
         # error every 10 s trying to publish itself as the `kubernetes` Service.
         "--endpoint-reconciler-type=none",
         "--allow-privileged=true", "--enable-priority-and-fairness=false",
         "--profiling=false", "--v=0"],
        stdout=api_log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    state["apiserver_pid"] = apiserver.pid
    STATE_FILE.write_text(json.dumps(state, indent=2) + "\n")
    log(f"kube-apiserver {env.get('KUBERNETES_VERSION', '')} on {server} (pid {apiserver.pid})")
    wait_for("kube-apiserver /readyz", lambda: ready(state), procs=[
        ("kube-apiserver", apiserver, api_log), ("etcd", etcd, etcd_log)])

    api = Api(server, token)
    wait_for("namespace default", lambda: api.request("GET", "/api/v1/namespaces/default")[0] == 200,
             timeout=60)
    write_kubeconfig(server, token, (pki / "apiserver.crt").read_bytes())

    kcm_log = STATE_DIR / "logs" / "kube-controller-manager.log"
    kcm = subprocess.Popen(
        [env["KUBE_CONTROLLER_MANAGER"], f"--kubeconfig={KUBECONFIG}",
         "--controllers=garbage-collector-controller,namespace-controller,"
         "persistentvolumeclaim-protection-controller,persistentvolume-protection-controller",
         "--leader-elect=false", "--use-service-account-credentials=false",
         "--secure-port=0", "--v=0"],
        stdout=kcm_log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    state["controller_manager_pid"] = kcm.pid
    STATE_FILE.write_text(json.dumps(state, indent=2) + "\n")
    log(f"kube-controller-manager (garbage collector, namespace, PVC/PV protection) (pid {kcm.pid})")

    install_crds(api, Path(env["KUEUE_CRDS_DIR"]))
    wait_for_garbage_collector(api, [("kube-controller-manager", kcm, kcm_log)])
    state["complete"] = True
    STATE_FILE.write_text(json.dumps(state, indent=2) + "\n")
    log(f"up in {time.monotonic() - t0:.1f}s: {server}")
    print(f"KUBECONFIG={KUBECONFIG}")


def down(quiet: bool = False) -> None:
    state = load_state()
    if state:
        stop_pid(state.get("controller_manager_pid", 0), "kube-controller-manager")
        stop_pid(state.get("apiserver_pid", 0), "kube-apiserver")
        stop_pid(state.get("etcd_pid", 0), "etcd")
    if STATE_DIR.exists():
        shutil.rmtree(STATE_DIR)
    if not quiet:
        log("down: servers stopped, " + (f"{STATE_DIR} removed" if state else "nothing was running"))


def status() -> int:
    state = load_state()
    if is_up(state):
        print(f"up {state['server']}")
        print(f"KUBECONFIG={KUBECONFIG}")
        return 0
    print("down" + (" (stale state: run `down` or `up`)" if state else ""))
    return 1


def check() -> None:
    state = load_state()
    if not is_up(state):
        die("the cluster is not up (run: python3 toolchain/cluster.py up)")
    api = Api(state["server"], state["token"])
    ns = f"b00t-check-{secrets.token_hex(3)}"
    code, body = api.request("POST", "/api/v1/namespaces", json.dumps(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}).encode())
    if code != 201:
        die(f"creating namespace {ns}: HTTP {code} {body[:300]!r}")
    created, failed = [], []
    for path, obj in CHECK_OBJECTS:
        text = json.dumps(obj).replace("{ns}", ns)
        obj = json.loads(text)
        p = path.format(ns=ns)
        code, body = api.request("POST", p, text.encode())
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if code == 201:
            created.append(f"{p}/{obj['metadata']['name']}")
            print(f"ok   {name}")
        else:
            failed.append(name)
            print(f"FAIL {name}: HTTP {code} {body[:400]!r}")
    for p in reversed(created):
        api.request("DELETE", p)
    api.request("DELETE", f"/api/v1/namespaces/{ns}")
    # The namespace controller deletes what is left and then the namespace (PVC finalizer included).
    t0 = time.monotonic()
    while api.request("GET", f"/api/v1/namespaces/{ns}")[0] != 404:
        if time.monotonic() - t0 > 60:
            failed.append(f"Namespace/{ns} deletion (still there after 60s)")
            print(f"FAIL namespace {ns} still exists 60s after its deletion")
            break
        time.sleep(0.5)
    else:
        print(f"ok   Namespace/{ns} deleted in {time.monotonic() - t0:.1f}s")
    print(f"check: {len(created)} kinds accepted, {len(failed)} rejected")
    if failed:
        sys.exit(1)


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "up":
        up()
    elif cmd == "down":
        down()
    elif cmd == "status":
        return status()
    elif cmd == "check":
        check()
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
