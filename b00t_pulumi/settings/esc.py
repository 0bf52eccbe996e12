"""Pulumi ESC ``environment:`` imports of a ``Pulumi.<env>.yaml``, read the way the engine reads them.

The Pulumi program never needs this: the engine opens the stack's ESC environments and merges their
``pulumiConfig`` under the file's own ``config:`` before the program starts. The CLI reads the file
itself, so for a file with ``environment:`` it asks the engine for the same merge
(``pulumi config --json --open``, which needs a backend with ESC, i.e. Pulumi Cloud). When that is
not possible it says so, and which settings it therefore lacks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from b00t_pulumi.errors import Problem, display_path

NAMESPACE = "b00t"


def imports_of(doc: Mapping[str, Any]) -> list[str]:
    """The ESC environments a stack config imports (``environment:`` list, or ``imports:`` inside it)."""
    env = doc.get("environment")
    if isinstance(env, list):
        return [str(e) for e in env]
    if isinstance(env, dict) and isinstance(env.get("imports"), list):
        return [str(e) for e in env["imports"]]
    if isinstance(env, str):
        return [env]
    return []


def open_merged_config(stack: str, project_dir: Path, *, timeout: float = 60.0
                       ) -> tuple[dict[str, Any] | None, str]:
    """``b00t:*`` config of ``stack`` as the engine merges it (file over ESC ``pulumiConfig``), or
    (None, why not). Secret values are never read: they stay Pulumi's."""
    pulumi = os.environ.get("PULUMI_BIN") or shutil.which("pulumi")
    if not pulumi:
        return None, "no pulumi CLI on PATH"
    try:
        out = subprocess.run([pulumi, "config", "--json", "--open", "--stack", stack, "--non-interactive"],
                             cwd=project_dir, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"`pulumi config --open` did not run: {exc}"
    if out.returncode != 0:
        reason = (out.stderr.strip() or out.stdout.strip()).splitlines()
        return None, f"`pulumi config --json --open --stack {stack}` failed: {reason[-1] if reason else out.returncode}"
    try:
        data = json.loads(out.stdout)
    except json.JSONDecodeError:
        return None, "`pulumi config --json` printed no JSON"
    ours: dict[str, Any] = {}
    for key, entry in data.items() if isinstance(data, dict) else ():
        ns, _, name = str(key).partition(":")
        if ns != NAMESPACE or not name or not isinstance(entry, dict) or entry.get("secret"):
            continue
        ours[name] = entry["objectValue"] if entry.get("objectValue") is not None else entry.get("value")
    return ours, ""


def lacking_message(path: Path, imports: Sequence[str], why: str, known: Sequence[str],
                    in_file: Sequence[str]) -> Problem:
    lacks = [f"b00t:{k}" for k in sorted(set(known) - set(in_file))]
    return Problem(display_path(path), "environment",
                   f"imports ESC environment(s) {', '.join(imports)}, which the CLI cannot open ({why}); "
                   f"any b00t:* value they set is missing here and the CLI uses the file's values and "
                   f"defaults instead. Keys not in the file, so possibly lacking: {', '.join(lacks) or 'none'}",
                   "warning")
