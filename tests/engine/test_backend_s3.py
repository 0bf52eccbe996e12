"""Pulumi state on S3: a local moto server as the backend (up, export, destroy)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.engine import Cluster, make_project


@pytest.fixture()
def moto(tmp_path: Path) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_s3_backend_up_export_destroy(moto: str, module_cluster: Cluster, tmp_path: Path) -> None:
    import boto3

    creds = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
    boto3.client("s3", endpoint_url=f"http://{moto}", region_name="us-east-1", aws_access_key_id="test",
                 aws_secret_access_key="test").create_bucket(Bucket="b00t-state")
    backend = f"s3://b00t-state?endpoint={moto}&disableSSL=true&s3ForcePathStyle=true&region=us-east-1"
    project = make_project(tmp_path, module_cluster, backend=backend, extra_env=creds)
    project.up()
    state = json.loads(project.pulumi("stack", "export", "--stack", "dev").stdout)
    types = {r["type"] for r in state["deployment"]["resources"]}
    assert {"kubernetes:apps/v1:Deployment", "b00t:index:B00tStack", "pulumi-python:dynamic:Resource"} <= types
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=f"http://{moto}", region_name="us-east-1",
                                          aws_access_key_id="test", aws_secret_access_key="test")
            .list_objects_v2(Bucket="b00t-state").get("Contents", [])]
    assert any(k.startswith(".pulumi/stacks/") for k in keys), keys
    project.pulumi("destroy", "--yes", "--stack", "dev")
    after = json.loads(project.pulumi("stack", "export", "--stack", "dev").stdout)
    assert not [r for r in after["deployment"].get("resources") or [] if r["type"].startswith("kubernetes:")]
