"""Bad URLs, corrupt and unreachable ledgers: a clear BudgetError naming the URL, never a secret or traceback."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from b00t_pulumi.budget import Money, default_ledger_url, open_ledger, redact_url
from b00t_pulumi.budget.ledger import sqlite_path
from b00t_pulumi.budget.ledger.k8s import K8sLedger
from b00t_pulumi.errors import BudgetError

from .conftest import fake_k8s_ledger, free_port

W = datetime(2026, 11, 22, tzinfo=UTC)


def test_redact_url() -> None:
    assert redact_url("dynamodb://t?region=us-east-1&endpoint=http://u:pw@h:5000/x") == (
        "dynamodb://t?region=us-east-1&endpoint=http://h:5000/x"
    )
    assert redact_url("dynamodb://t?region=r&profile=prod") == "dynamodb://t?region=r&profile=***"
    assert redact_url("k8s://user:token@budgets?context=c") == "k8s://budgets?context=c"
    assert redact_url("sqlite:///rel/x.db") == "sqlite:///rel/x.db"
    assert redact_url("sqlite:////abs/x.db?timeout=5") == "sqlite:////abs/x.db?timeout=5"


def test_sqlite_paths(tmp_path: Path) -> None:
    assert sqlite_path("sqlite:///rel/x.db") == "rel/x.db"
    assert sqlite_path("sqlite:////abs/x.db") == "/abs/x.db"
    assert sqlite_path("sqlite:///:memory:") == ":memory:"
    assert default_ledger_url(tmp_path) == f"sqlite:///{tmp_path.resolve()}/.cache/ledger.db"
    with pytest.raises(BudgetError, match="expected sqlite:///"):
        sqlite_path("sqlite://x.db")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("postgres://db", "unknown ledger URL"),
        ("ledger.db", "unknown ledger URL"),
        ("sqlite:///x.db?bogus=1", "unknown option 'bogus'"),
        ("sqlite:///x.db?timeout=soon", "timeout must be a number"),
        ("dynamodb://?region=us-east-1", "expected dynamodb://TABLE"),
        ("k8s://", "expected k8s://NAMESPACE"),
        ("k8s://ns?keep_windows=0", "keep_windows"),
    ],
)
def test_bad_urls(url: str, match: str) -> None:
    with pytest.raises(BudgetError, match=match):
        open_ledger(url)


def test_sqlite_creates_directories(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/deep/er/ledger.db"
    with open_ledger(url) as lg:
        assert lg.reserve("a.stack", W, "r", Money.of(1), None).approved
    with open_ledger(url) as lg:  # reopening keeps the data
        assert lg.spend("a.stack", W, "USD") == Money.of(1)


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "ledger.db"
    bad.write_bytes(b"this is not a sqlite database, just some text that is long enough" * 20)
    url = f"sqlite:///{bad}"
    with pytest.raises(BudgetError) as exc:
        open_ledger(url)
    text = str(exc.value)
    assert f"ledger {url}" in text and "not a usable SQLite ledger" in text
    assert "Traceback" not in text


def test_sqlite_with_another_schema(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    con.commit()
    con.close()
    with pytest.raises(BudgetError, match="not a b00t ledger: the database has other tables \\(users\\)"):
        open_ledger(f"sqlite:///{other}")


def test_sqlite_with_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    open_ledger(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = 'b00t-ledger/99' WHERE key = 'schema'")
    con.commit()
    con.close()
    with pytest.raises(BudgetError, match="unsupported ledger schema 'b00t-ledger/99'"):
        open_ledger(f"sqlite:///{path}")


def test_sqlite_in_an_unwritable_place(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(BudgetError, match="cannot open"):
        open_ledger(f"sqlite:///{blocker}/sub/ledger.db")


def test_dynamodb_unreachable(aws_env: None) -> None:
    port = free_port()  # nothing listens there
    url = f"dynamodb://ledger?region=us-east-1&endpoint=http://127.0.0.1:{port}&timeout=1"
    with pytest.raises(BudgetError) as exc:
        open_ledger(url)
    assert "cannot reach the DynamoDB endpoint" in str(exc.value)
    assert f"127.0.0.1:{port}" in str(exc.value)


def test_dynamodb_secret_profile_is_not_shown(aws_env: None) -> None:
    with pytest.raises(BudgetError) as exc:
        open_ledger("dynamodb://ledger?region=us-east-1&profile=very-secret-profile")
    assert "ProfileNotFound" in str(exc.value)
    assert "very-secret-profile" not in str(exc.value)


def test_dynamodb_table_with_another_key_schema(aws_env: None) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName="orders",
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        with pytest.raises(BudgetError, match="not a b00t ledger"):
            open_ledger("dynamodb://orders?region=us-east-1")
        with pytest.raises(BudgetError, match="does not exist"):
            open_ledger("dynamodb://missing?region=us-east-1&create=false")


def test_k8s_unreachable(tmp_path: Path) -> None:
    port = free_port()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}
users:
- name: u
  user: {{token: super-secret-token}}
contexts:
- name: ctx
  context: {{cluster: c, user: u}}
current-context: ctx
"""
    )
    url = f"k8s://budgets?kubeconfig={kubeconfig}&timeout=2"
    with pytest.raises(BudgetError) as exc:
        open_ledger(url)
    assert "cannot reach the API server" in str(exc.value)
    assert "k8s://budgets" in str(exc.value)
    assert "super-secret-token" not in str(exc.value)


def test_k8s_bad_kubeconfig(tmp_path: Path) -> None:
    with pytest.raises(BudgetError, match="kubeconfig"):
        open_ledger(f"k8s://budgets?kubeconfig={tmp_path}/missing")


def test_k8s_missing_constraint_object() -> None:
    lg, _ = fake_k8s_ledger()
    with pytest.raises(BudgetError, match=r"BudgetConstraint 'nope\.stack' in namespace 'budgets' not found"):
        lg.reserve("nope.stack", W, "r", Money.of(1), None)
    with pytest.raises(BudgetError, match="not a Kubernetes object name"):
        lg.reserve("Upper.stack", W, "r", Money.of(1), None)


def test_k8s_missing_crd() -> None:
    from .fake_kube import FakeCustomObjects

    with pytest.raises(BudgetError, match="no BudgetConstraint custom resource definition"):
        K8sLedger("other-namespace", api=FakeCustomObjects("budgets"))
