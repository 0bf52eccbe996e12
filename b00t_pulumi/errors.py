"""Errors a user can act on: the file, the key path, what was wrong and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One problem found in user input, printed as ``FILE: KEY.PATH: message``."""

    file: str
    key_path: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.file, self.key_path) if p)
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}" if where else f"{prefix}{self.message}"


class B00tError(Exception):
    """Base class of every error this package reports to a user (never shown as a traceback)."""

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", "", problems)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DatumError(B00tError):
    """A datum file (or a set of them) is invalid."""


class SettingsError(B00tError):
    """Environment settings (Pulumi config or Pulumi.<env>.yaml) are invalid."""


class PlanError(B00tError):
    """Datums are valid one by one but cannot be planned together (cycles, GPU members...)."""


class ScheduleError(B00tError):
    """The epoch scheduler was given input it cannot plan (unknown GPU type, ...)."""


class BudgetError(B00tError):
    """Budget or ledger failure: bad amount, corrupt or unreachable ledger."""


def display_path(path: Path | str) -> str:
    """A path as the user should see it: relative to the working directory when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)
