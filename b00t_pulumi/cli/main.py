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

# command -> (module of b00t_pulumi.cli, one-line help). A module's register(subparsers) adds its
# commands, each with func=handler(args)->int. Only the module of the command being run is imported,
# so `b00t-pulumi --version` or `--help` never pays for pydantic models or the planner.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("validate", "check datum files; one line per problem, exit 1 when any is an error"),
    "stack": ("stack", "list, show and render stacks"),
    "job": ("job", "list and render jobs"),
    "budget": ("budget", "budget check, status, reserve and release"),
    "gpu-epochs": ("epochs", "the GPU epoch plan of the environment's GPU jobs"),
    "show-epoch": ("epochs", "the epochs of one batch group (model) and their jobs"),
    "bench": ("bench", "benchmarks (bench schedule: the epoch scheduler on a trace)"),
    "schema": ("schema", "JSON Schema of datum files, for editors (taplo #:schema)"),
}
COMMAND_MODULES = tuple(dict.fromkeys(m for m, _ in COMMANDS.values()))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


def _command_of(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the module of its command is imported (others get a stub)."""
    parser = _Parser(
        prog="b00t-pulumi",
        description="b00t stack and job datums -> Kubernetes objects, GPU epochs and budgets (no Pulumi needed)",
    )
    parser.add_argument("--version", action="version", version=f"b00t-pulumi {__version__}")
    sub: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser
    )
    wanted = _command_of(argv) if argv is not None else None
    modules = [COMMANDS[wanted][0]] if wanted in COMMANDS else (COMMAND_MODULES if argv is None else [])
    for name in modules:
        module = importlib.import_module(f"b00t_pulumi.cli.{name}")
        register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] = module.register
        register(sub)
    for command, (_, helptext) in COMMANDS.items():
        if command not in sub.choices:
            sub.add_parser(command, help=helptext)  # listed in --help; its module loads when it runs
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
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
