"""``b00t-pulumi schema [TYPE]``: the JSON Schema of datum files (or of the settings), for editors."""

from __future__ import annotations

import argparse

from b00t_pulumi.cli.common import EXIT_OK, print_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from b00t_pulumi.datum.schema import SCHEMA_TYPES

    p = sub.add_parser("schema", help="JSON Schema of datum files (TOML editors: taplo #:schema)",
                       description="Print the JSON Schema of a datum file of TYPE (default: any type), or "
                                   "of the b00t:* settings. Save it and point your editor at it: "
                                   "docs/datums.md, 'Editor support'.")
    p.add_argument("type", nargs="?", choices=[*SCHEMA_TYPES, "settings"], metavar="TYPE",
                   help=f"one of {', '.join(SCHEMA_TYPES)}, or settings (Pulumi config b00t:*)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from b00t_pulumi.datum.schema import datum_file_schema, settings_schema

    print_json(settings_schema() if args.type == "settings" else datum_file_schema(args.type))
    return EXIT_OK
