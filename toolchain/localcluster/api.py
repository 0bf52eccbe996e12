"""A small client of the local API server (urllib, bearer token): enough for bootstrapping the cluster."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from localcluster.procs import ClusterError

FIELD_MANAGER = "b00t-local-cluster"


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
                return int(resp.status), bytes(resp.read())
        except urllib.error.HTTPError as e:
            return int(e.code), bytes(e.read())
        except (urllib.error.URLError, OSError) as e:
            return 0, str(e).encode()

    def get(self, path: str) -> dict[str, Any] | None:
        code, body = self.request("GET", path)
        if code == 404:
            return None
        if code != 200:
            raise ClusterError(f"GET {path}: HTTP {code} {body[:300]!r}")
        data: dict[str, Any] = json.loads(body)
        return data

    def items(self, path: str) -> list[dict[str, Any]]:
        data = self.get(path)
        return list((data or {}).get("items") or [])

    def apply(self, path: str, obj: dict[str, Any], *, subresource: str = "") -> dict[str, Any]:
        """Server-side apply of ``obj`` at ``path`` (the object's own URL), as our field manager."""
        url = f"{path}{'/' + subresource if subresource else ''}?fieldManager={FIELD_MANAGER}&force=true"
        code, body = self.request("PATCH", url, json.dumps(obj).encode(), content_type="application/apply-patch+yaml",
                                  timeout=30)
        if code not in (200, 201):
            raise ClusterError(f"apply {obj.get('kind')} {path}: HTTP {code} {body[:500]!r}")
        data: dict[str, Any] = json.loads(body)
        return data

    def delete(self, path: str) -> None:
        code, body = self.request("DELETE", path)
        if code not in (200, 202, 404):
            raise ClusterError(f"DELETE {path}: HTTP {code} {body[:300]!r}")
