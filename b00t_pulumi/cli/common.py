"""Shared CLI plumbing: datum search path, environment settings, output, exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from b00t_pulumi.errors import B00tError

if TYPE_CHECKING:  # the datum models load when a command needs them, not at start-up
    from b00t_pulumi.datum.catalog import Catalog
    from b00t_pulumi.settings import EnvironmentSettings

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_DEFERRED = 3


class UsageError(Exception):
    """Wrong use of the command line (exit 2)."""


def add_datum_args(p: argparse.ArgumentParser) -> None:
    """``--datums DIR`` (repeatable) and ``--env ENV`` for commands that read datums."""
    p.add_argument(
        "--datums",
        action="append",
        metavar="DIR",
        type=Path,
        help="datum directory (repeatable); default $B00T_DATUMS (colon separated) or ./stacks and ./components",
    )
    p.add_argument("--env", metavar="ENV", help="read environment settings from Pulumi.ENV.yaml")


def add_json_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def load_catalog(args: argparse.Namespace, *, strict: bool = True) -> Catalog:
    """The catalog of ``--datums`` (or the default search path). Raises B00tError on errors."""
    from b00t_pulumi.datum.catalog import Catalog

    catalog = Catalog.load(datum_paths(args))
    print_warnings(catalog.warnings)
    if strict:
        catalog.raise_for_errors()
    return catalog


def datum_paths(args: argparse.Namespace) -> Sequence[Path] | None:
    """``--datums``, else the datum paths of ``--env``'s settings, else None (the default search path)."""
    paths: Sequence[Path] | None = getattr(args, "datums", None)
    if not paths and getattr(args, "env", None):
        paths = [Path(p) for p in load_settings(args).datum_paths]
    return paths or None


_SETTINGS_CACHE: dict[tuple[str, str | None], EnvironmentSettings] = {}


def load_settings(args: argparse.Namespace) -> EnvironmentSettings:
    """Settings of ``--env`` (read once per working directory and environment)."""
    from b00t_pulumi.settings import load_environment

    key = (str(Path.cwd()), getattr(args, "env", None))
    if key not in _SETTINGS_CACHE:
        warnings: list[Any] = []
        _SETTINGS_CACHE[key] = load_environment(key[1], warnings=warnings)
        print_warnings(warnings)
    return _SETTINGS_CACHE[key]


def print_warnings(problems: Sequence[Any]) -> None:
    for p in problems:
        print(str(p), file=sys.stderr)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def report_error(exc: B00tError) -> int:
    for p in exc.problems:
        print(str(p) if str(p) else "error", file=sys.stderr)
    return EXIT_INVALID
