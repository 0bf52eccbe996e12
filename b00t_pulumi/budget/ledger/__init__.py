"""Ledgers by URL: ``sqlite:///path``, ``dynamodb://TABLE?region=..&endpoint=..``, ``k8s://NAMESPACE``.

``open_ledger(url)`` returns a Ledger; every failure (bad URL, corrupt file, unreachable service)
is a BudgetError naming the URL as ``redact_url`` shows it: no user, password, token or unknown
query value ever appears in a message.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from b00t_pulumi.budget._errors import budget_error
from b00t_pulumi.budget.ledger.base import (
    COUNTED,
    STATES,
    Ledger,
    Reservation,
    ReserveResult,
    State,
    check_constraint_id,
    check_reservation_id,
    threshold_key,
)

DEFAULT_LEDGER_PATH = Path(".cache") / "ledger.db"
SCHEMES = ("sqlite", "dynamodb", "k8s")

# Query keys shown as they are; any other query value is replaced by "***" when displayed.
_PUBLIC_QUERY = {"region", "endpoint", "context", "kubeconfig", "timeout", "keep_windows", "create"}
_QUERY_KEYS = {
    "sqlite": {"timeout"},
    "dynamodb": {"region", "endpoint", "profile", "timeout", "create"},
    "k8s": {"kubeconfig", "context", "timeout", "keep_windows"},
}


def default_ledger_url(cwd: Path | None = None) -> str:
    """``sqlite:///<cwd>/.cache/ledger.db``: the project-local embedded ledger."""
    base = (cwd or Path.cwd()).resolve()
    return f"sqlite:///{base / DEFAULT_LEDGER_PATH}"


def _strip_userinfo(netloc: str) -> str:
    return netloc.rpartition("@")[2]


def redact_url(url: str) -> str:
    """The URL as it may be logged: no userinfo, query values kept only for public keys."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable ledger URL>"
    query = []
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        for v in values:
            if key == "endpoint":
                ep = urlsplit(v if "://" in v else f"http://{v}")
                v = urlunsplit((ep.scheme, _strip_userinfo(ep.netloc), ep.path, "", ""))
            query.append(f"{key}={v if key in _PUBLIC_QUERY else '***'}")
    q = f"?{'&'.join(query)}" if query else ""
    if parts.scheme.lower() == "sqlite":  # keep sqlite:///relative vs sqlite:////absolute as written
        return url.split("?", 1)[0] + q
    netloc = _strip_userinfo(parts.netloc)
    return f"{parts.scheme}://{netloc}{parts.path}{q}"


def _query(url: str, scheme: str, query: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        if key not in _QUERY_KEYS[scheme]:
            known = ", ".join(sorted(_QUERY_KEYS[scheme])) or "none"
            raise budget_error(f"unknown option {key!r} (known: {known})", f"ledger {redact_url(url)}")
        out[key] = values[-1]
    return out


def _float(url: str, q: dict[str, str], key: str, default: float) -> float:
    if key not in q:
        return default
    try:
        value = float(q[key])
    except ValueError:
        raise budget_error(f"{key} must be a number of seconds", f"ledger {redact_url(url)}") from None
    if value <= 0:
        raise budget_error(f"{key} must be greater than 0", f"ledger {redact_url(url)}")
    return value


def sqlite_path(url: str) -> str:
    """The file of ``sqlite:///rel/path`` (relative to the working directory), ``sqlite:////abs/path``,
    ``sqlite:///~/path`` or ``sqlite:///:memory:``."""
    rest = url[len("sqlite://") :].split("?", 1)[0]
    if not rest.startswith("/") or rest == "/":
        raise budget_error(
            "expected sqlite:///relative/path.db or sqlite:////absolute/path.db", f"ledger {redact_url(url)}"
        )
    path = rest[1:]
    if path == ":memory:":
        return path
    return str(Path(os.path.expanduser(path)))


def open_ledger(url: str | None = None) -> Ledger:
    """Open (and create when missing) the ledger at ``url`` (default ``default_ledger_url()``)."""
    url = url or default_ledger_url()
    shown = redact_url(url)
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in SCHEMES:
        raise budget_error(
            "unknown ledger URL; use sqlite:///path.db, dynamodb://TABLE?region=R, or k8s://NAMESPACE",
            f"ledger {shown}",
        )
    parts = urlsplit(url)
    q = _query(url, scheme, parts.query)
    if scheme == "sqlite":
        from b00t_pulumi.budget.ledger.sqlite import SqliteLedger

        return SqliteLedger(sqlite_path(url), display_url=shown, busy_timeout_s=_float(url, q, "timeout", 30.0))
    if scheme == "dynamodb":
        from b00t_pulumi.budget.ledger.dynamodb import DynamoDbLedger

        table = _strip_userinfo(parts.netloc)
        if not table or parts.path not in ("", "/"):
            raise budget_error("expected dynamodb://TABLE?region=REGION[&endpoint=URL]", f"ledger {shown}")
        endpoint = q.get("endpoint")
        if endpoint and "://" not in endpoint:
            host = endpoint.split(":", 1)[0]
            endpoint = f"http://{endpoint}" if host in ("localhost", "127.0.0.1", "::1") else f"https://{endpoint}"
        return DynamoDbLedger(
            table,
            region=q.get("region"),
            endpoint=endpoint,
            profile=q.get("profile"),
            display_url=shown,
            timeout_s=_float(url, q, "timeout", 5.0),
            create_table=q.get("create", "true").lower() not in ("false", "0", "no"),
        )
    from b00t_pulumi.budget.ledger.k8s import K8sLedger

    namespace = _strip_userinfo(parts.netloc)
    if not namespace or parts.path not in ("", "/"):
        raise budget_error("expected k8s://NAMESPACE[?kubeconfig=PATH&context=NAME]", f"ledger {shown}")
    keep = q.get("keep_windows", "8")
    if not keep.isdigit() or int(keep) < 1:
        raise budget_error("keep_windows must be a whole number >= 1", f"ledger {shown}")
    return K8sLedger(
        namespace,
        kubeconfig=q.get("kubeconfig"),
        context=q.get("context"),
        display_url=shown,
        keep_windows=int(keep),
        timeout_s=_float(url, q, "timeout", 10.0),
    )


__all__ = [
    "COUNTED",
    "DEFAULT_LEDGER_PATH",
    "STATES",
    "Ledger",
    "Reservation",
    "ReserveResult",
    "State",
    "check_constraint_id",
    "check_reservation_id",
    "default_ledger_url",
    "open_ledger",
    "redact_url",
    "sqlite_path",
    "threshold_key",
]
