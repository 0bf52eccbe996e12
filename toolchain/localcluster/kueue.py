"""The Kueue manager, run outside the cluster the way envtest runs webhooks.

- ``--config``: a Configuration with the webhook server on 127.0.0.1 and a port of ours, our
  serving certificate, internal cert management off (it would wait for CA injection into CRD
  conversion webhooks our CRD bases lack), metrics and leader election off, the visibility server
  off, and the integrations this project queues: batch/job, and pods of Deployments.
- Webhook configurations: the module's ``config/components/webhook/manifests.yaml`` with every
  ``service`` reference replaced by ``url: https://127.0.0.1:PORT<path>`` and our CA bundle.
- Kueue v0.19.2 opens ``/etc/kueue/metrics/certs/tls.{crt,key}`` at start even with metrics off;
  toolchain/build.sh patches the manager to read ``$KUEUE_METRICS_CERT_DIR`` instead (docs/toolchain.md).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml

from localcluster.api import Api
from localcluster.procs import ClusterError

NAMESPACE = "kueue-system"
# What this project queues (b00t_pulumi/plan): Jobs; and Deployments of stacks with a queue_name,
# whose pods Kueue admits one by one ("pod" is the integration the "deployment" one builds on).
FRAMEWORKS = ["batch/job", "pod", "deployment"]
_PATHS = {"MutatingWebhookConfiguration": "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
          "ValidatingWebhookConfiguration": "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"}


def configuration(webhook_port: int, health_port: int, cert_dir: Path) -> dict[str, Any]:
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "namespace": NAMESPACE,
        "health": {"healthProbeBindAddress": f"127.0.0.1:{health_port}"},
        "metrics": {"bindAddress": "0"},
        "webhook": {"host": "127.0.0.1", "port": webhook_port, "certDir": str(cert_dir)},
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},
        "featureGates": {"VisibilityOnDemand": False},
        "integrations": {"frameworks": FRAMEWORKS},
        "clientConnection": {"qps": 300, "burst": 500},
    }


def write_configuration(path: Path, webhook_port: int, health_port: int, cert_dir: Path) -> Path:
    path.write_text(json.dumps(configuration(webhook_port, health_port, cert_dir), indent=2) + "\n")
    return path


def webhook_configurations(manifests: Path, port: int, ca_pem: bytes) -> list[dict[str, Any]]:
    """Kueue's webhook configurations pointed at ``https://127.0.0.1:port``, trusting ``ca_pem``."""
    bundle = base64.b64encode(ca_pem).decode()
    out: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(manifests.read_text()):
        if not doc or doc.get("kind") not in _PATHS:
            continue
        doc["metadata"] = {"name": f"kueue-{doc['metadata']['name']}",
                           "labels": {"app.kubernetes.io/managed-by": "b00t-local-cluster"}}
        for hook in doc.get("webhooks") or []:
            svc = (hook.get("clientConfig") or {}).get("service") or {}
            if "path" not in svc:
                raise ClusterError(f"{manifests}: webhook {hook.get('name')} has no service path to rewrite")
            hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{svc['path']}", "caBundle": bundle}
        out.append(doc)
    if not out:
        raise ClusterError(f"{manifests}: no webhook configurations found")
    return out


def install_webhooks(api: Api, manifests: Path, port: int, ca_pem: bytes) -> int:
    n = 0
    for doc in webhook_configurations(manifests, port, ca_pem):
        api.apply(f"{_PATHS[doc['kind']]}/{doc['metadata']['name']}", doc)
        n += len(doc.get("webhooks") or [])
    return n


def job_webhook_works(api: Api) -> bool:
    """A dry-run Job with a queue label comes back suspended: Kueue's webhook answered."""
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": "b00t-kueue-probe", "namespace": "default",
                        "labels": {"kueue.x-k8s.io/queue-name": "probe"}},
           "spec": {"template": {"spec": {"restartPolicy": "Never",
                                          "containers": [{"name": "c", "image": "busybox"}]}}}}
    code, body = api.request("POST", "/apis/batch/v1/namespaces/default/jobs?dryRun=All", json.dumps(job).encode())
    if code != 201:
        return False
    return bool(json.loads(body).get("spec", {}).get("suspend"))
