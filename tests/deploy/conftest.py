from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def kubeconfig(tmp_path: Path) -> Path:
    p = tmp_path / "kubeconfig"
    p.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    return p


@pytest.fixture()
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("N8N_BASIC_AUTH_PASSWORD", "dev-password-123")
    monkeypatch.setenv("N8N_BUDGET_WEBHOOK_URL", "http://127.0.0.1:9/webhook/budget")
