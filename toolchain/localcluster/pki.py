"""Keys and certificates of the local cluster, made with openssl into the cluster's pki/ directory.

- ``sa.key``: the service-account signing key of the API server.
- ``ca.crt``/``ca.key``: a CA of our own, and ``webhook/tls.{crt,key}`` signed by it for IP 127.0.0.1:
  the serving certificate of the Kueue manager's webhook server (the API server calls it at
  ``https://127.0.0.1:PORT``, trusting the CA through each webhook's ``caBundle``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from localcluster.procs import ClusterError


def _openssl(*args: str) -> None:
    out = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args[:2])} failed: {out.stderr.strip()}")


def require_openssl() -> None:
    if not shutil.which("openssl"):
        raise ClusterError("openssl is needed to make the cluster's keys and certificates (apt-get install openssl)")


def service_account_key(pki: Path) -> Path:
    key = pki / "sa.key"
    if not key.exists():
        _openssl("genrsa", "-out", str(key), "2048")
    return key


def webhook_certs(pki: Path) -> Path:
    """A CA and a serving certificate for 127.0.0.1 signed by it; returns the dir with tls.crt/tls.key."""
    out = pki / "webhook"
    out.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = pki / "ca.key", pki / "ca.crt"
    if not ca_crt.exists():
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca_crt),
                 "-days", "3650", "-subj", "/CN=b00t-local-cluster-ca",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    crt, key, csr = out / "tls.crt", out / "tls.key", out / "tls.csr"
    if not crt.exists():
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
                 "-subj", "/CN=127.0.0.1")
        ext = out / "san.cnf"
        ext.write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
                       "keyUsage=critical,digitalSignature,keyEncipherment\n")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial",
                 "-out", str(crt), "-days", "3650", "-extfile", str(ext))
    return out
