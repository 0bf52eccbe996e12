"""Entry point of ``b00t-pulumi``: dispatches to the command modules, maps errors to exit codes.

Exit codes: 0 ok, 1 invalid input, 2 usage, 3 deferred or rejected by a budget.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from b00t_pulumi import __version__
from b00t_pulumi.cli.common import EXIT_INVALID, EXIT_USAGE, UsageError, report_error
from b00t_pulumi.errors import B00tError

# Each module has register(subparsers) adding its commands; a command sets func=handler(args)->int.
COMMAND_MODULES = ("validate", "stack", "job", "budget", "epochs", "bench")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="b00t-pulumi",
        description="b00t stack and job datums -> Kubernetes objects, GPU epochs and budgets (no Pulumi needed)",
    )
    parser.add_argument("--version", action="version", version=f"b00t-pulumi {__version__}")
    sub: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser
    )
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"b00t_pulumi.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"b00t_pulumi.cli.{name}":
                continue  # a command module not written yet
            raise
        register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] = module.register
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        handler = getattr(args, "func", None)
        if handler is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        code: int = handler(args)
        return code
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except B00tError as exc:
        return report_error(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        print(f"b00t-pulumi: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
