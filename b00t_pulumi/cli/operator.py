"""``b00t-pulumi operator``: run the b00t operator against a cluster until stopped (SIGINT/SIGTERM).

Settings (prices, ledger): ``--env ENV`` reads ``Pulumi.ENV.yaml``; in a cluster the Deployment passes
them as JSON in ``$B00T_OPERATOR_SETTINGS`` (the same ``b00t:*`` keys). ``--ledger`` wins over both.
kopf is imported only here, when the command runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from b00t_pulumi.cli.common import EXIT_INVALID, EXIT_OK, load_settings
from b00t_pulumi.errors import B00tError, Problem, SettingsError

SETTINGS_ENV = "B00T_OPERATOR_SETTINGS"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("operator", help="run the b00t operator: budgets, epoch and budget holds, Kueue check",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", metavar="ENV", help="read settings (prices, ledger) from Pulumi.ENV.yaml")
    p.add_argument("--ledger", metavar="URL", help="budget ledger URL (default: the settings' b00t:ledger)")
    p.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig (default $KUBECONFIG, ~/.kube/config, "
                                                       "or in-cluster)")
    p.add_argument("--context", metavar="NAME", help="kubeconfig context")
    p.add_argument("--namespace", "-n", action="append", default=[], metavar="NS",
                   help="watch only these namespaces (repeatable; default all)")
    p.add_argument("--liveness", metavar="URL", help="serve a liveness probe, e.g. http://0.0.0.0:8080/healthz")
    p.add_argument("--pending-max", type=float, default=5.0, metavar="S",
                   help="holds shorter than this keep their Kueue quota (Pending); longer ones take the Workload "
                        "out of the queue (default 5)")
    p.add_argument("--poll", type=int, default=10, metavar="S",
                   help="seconds before a hold nothing wakes (a missing BudgetConstraint, an error) is "
                        "looked at again (default 10)")
    p.add_argument("--verbose", "-v", action="store_true")
    p.set_defaults(func=cmd_operator)


def _settings(args: argparse.Namespace) -> Any:
    from b00t_pulumi.settings import settings_from_config

    raw = os.environ.get(SETTINGS_ENV)
    if raw and not args.env:
        try:
            values = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SettingsError([Problem(f"${SETTINGS_ENV}", "", f"invalid JSON: {exc.msg}")]) from None
        if not isinstance(values, dict):
            raise SettingsError([Problem(f"${SETTINGS_ENV}", "", "expected a JSON object of b00t:* keys")])
        return settings_from_config(values, source=f"${SETTINGS_ENV}")
    return load_settings(args)


def cmd_operator(args: argparse.Namespace) -> int:
    from b00t_pulumi.budget.ledger import default_ledger_url, open_ledger, redact_url
    from b00t_pulumi.gates.inputs import absolute_ledger_url
    from b00t_pulumi.operator.alerts import AlertSender
    from b00t_pulumi.operator.book import BudgetBook
    from b00t_pulumi.operator.kube import KubeClient, api_client
    from b00t_pulumi.operator.reconciler import Options, Reconciler, Store

    settings = _settings(args)
    url = absolute_ledger_url(args.ledger or settings.ledger or default_ledger_url(), Path.cwd())
    if args.kubeconfig:
        os.environ["KUBECONFIG"] = str(Path(args.kubeconfig).resolve())  # for kopf's login too
    try:
        ledger = open_ledger(url)
        alert_ledger = open_ledger(url)
        api = api_client(args.kubeconfig, args.context)
    except B00tError:
        raise
    except Exception as exc:
        print(f"b00t-pulumi operator: cannot reach the cluster: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    kube = KubeClient(api)
    book = BudgetBook(ledger, settings.prices, settings.gpu_inventory.gpu_types())
    alerts = AlertSender(alert_ledger, kube.read_secret)
    store = Store()
    reconciler = Reconciler(store, kube, book, alerts=alerts,
                            options=Options(pending_max_s=args.pending_max, poll_s=args.poll))
    from b00t_pulumi.operator import face

    rt = face.Runtime(store, reconciler, kube.list_all, start_alerts=alerts.start, stop_alerts=alerts.stop)
    logging.getLogger("b00t_pulumi").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    logging.getLogger("b00t_pulumi").info("b00t operator: ledger %s", redact_url(url))
    face.run(rt, namespaces=list(args.namespace), liveness=args.liveness, verbose=args.verbose)
    ledger.close()
    alert_ledger.close()
    return EXIT_OK
