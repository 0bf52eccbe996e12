"""What the render commands print or write, so that it is safe to pipe into ``kubectl apply``.

* Secrets: by default a Secret whose values are secret is left out, and stderr says how to create
  it (``kubectl create secret generic ... --from-literal=...``); ``--secrets show`` prints the real
  values instead. Nothing ever writes a placeholder into a Secret.
* Phases: CRDs must be established before their custom resources can be applied. ``--crds-only``
  and ``--skip-crds`` split a stream; ``-o DIR`` writes CRDs into ``DIR/crds/`` and the rest into
  ``DIR/``, so ``kubectl apply -f DIR/crds/`` and ``kubectl apply -f DIR/`` are the two phases.
* Upstream b00t's shapes: ``--output-dir [DIR]`` (default ``./<name>-k8s``) and ``--output FILE``
  (a path ending in ``.yaml``/``.yml`` is one multi-document file).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b00t_pulumi.cli.common import EXIT_OK, UsageError
from b00t_pulumi.errors import B00tError, Problem
from b00t_pulumi.plan import render
from b00t_pulumi.plan.env import SecretValue
from b00t_pulumi.plan.objects import K8sObject, ref

FIELD_MANAGER = "b00t-pulumi"
CRD_KIND = "CustomResourceDefinition"
CRD_DIR = "crds"
_DEFAULT_DIR = object()  # --output-dir given without a value


def add_output_args(p: argparse.ArgumentParser, *, phases: bool = True) -> None:
    """Output options of the render commands (``stack to-k8s``, ``job to-k8s``, ``stack to-crd``, ...)."""
    p.add_argument("-o", "--output", type=Path, metavar="PATH",
                   help="write into PATH: a directory gets one file per object (CRDs under PATH/crds/); "
                        "a path ending in .yaml or .yml is one multi-document file")
    p.add_argument("--output-dir", nargs="?", const=_DEFAULT_DIR, metavar="DIR",
                   help="upstream b00t's shape: one file per object in DIR (default ./<name>-k8s)")
    p.add_argument("--secrets", choices=("omit", "show"), default="omit",
                   help="omit (default): leave Secrets with secret values out and print on stderr how to "
                        "create them; show: print the real values (never into logs)")
    p.add_argument("--show-secrets", action="store_const", const="show", dest="secrets",
                   help="the same as --secrets show")
    if phases:
        group = p.add_mutually_exclusive_group()
        group.add_argument("--crds-only", action="store_true",
                           help="only the CustomResourceDefinitions (apply them first)")
        group.add_argument("--skip-crds", action="store_true",
                           help="everything but the CustomResourceDefinitions (apply after them)")


@dataclass
class Output:
    """Objects ready to print: secret values resolved or their Secrets left out, with the notes."""

    objects: list[K8sObject]
    omitted: list[K8sObject] = field(default_factory=list)  # Secrets left out (their values are secret)
    notes: list[str] = field(default_factory=list)


def _has_secret(obj: Any) -> bool:
    if isinstance(obj, SecretValue):
        return True
    if isinstance(obj, dict):
        return any(_has_secret(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_has_secret(v) for v in obj)
    return False


def _literal(key: str, value: Any) -> str:
    """A ``--from-literal`` value for the shell: ``"${VAR}"`` expands from the deployer's environment.
    A secret the datum writes out with no ``${VAR}`` in it is never printed: ``"${KEY}"`` instead."""
    if isinstance(value, SecretValue):
        text = value.template if "${" in value.template else "${" + env_name(key) + "}"
        # Double quotes keep ${VAR} and ${VAR:-default} (the datum's syntax is the shell's) and
        # nothing else: backslashes, quotes and backticks are escaped.
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
        return f'"{escaped}"'
    return shlex.quote(str(value))


def env_name(key: str) -> str:
    """``key`` as a shell variable name (``webhook-url`` -> ``WEBHOOK_URL``)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", key).upper()
    return name if name and not name[0].isdigit() else f"_{name}"


def create_secret_command(secret: K8sObject) -> str:
    """The ``kubectl create secret generic`` command that creates ``secret`` from the environment."""
    meta = secret["metadata"]
    parts = ["kubectl", "create", "secret", "generic", shlex.quote(meta["name"])]
    if meta.get("namespace"):
        parts += ["-n", shlex.quote(meta["namespace"])]
    for key, value in {**secret.get("data", {}), **secret.get("stringData", {})}.items():
        parts.append(f"--from-literal={shlex.quote(key)}={_literal(key, value)}")
    return " ".join(parts)


def _unresolved(secret: K8sObject) -> list[Problem]:
    out = []
    for key, value in secret.get("stringData", {}).items():
        if isinstance(value, SecretValue) and not value.resolved:
            names = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", value.template) or [key]
            out.append(Problem(ref(secret), f"stringData.{key}",
                               f"secret has no value: export {names[0]} (without --secrets show the Secret is "
                               "left out and its kubectl command printed)"))
    return out


def prepare(objects: Sequence[K8sObject], *, secrets: str) -> Output:
    """Resolve secret values (``show``) or leave their Secrets out (``omit``). Raises on a missing value."""
    if secrets == "show":
        problems = [p for o in objects if o.get("kind") == "Secret" for p in _unresolved(o)]
        if problems:
            raise B00tError(problems)
        return Output([render.materialize(o, show_secrets=True) for o in objects])
    kept: list[K8sObject] = []
    omitted: list[K8sObject] = []
    for o in objects:
        if o.get("kind") == "Secret" and _has_secret(o):
            omitted.append(o)
        elif _has_secret(o):  # only Secrets carry secret values; anything else is a planner bug
            raise AssertionError(f"{ref(o)} carries a secret value outside a Secret")
        else:
            kept.append(o)
    notes = []
    if omitted:
        notes.append(f"{len(omitted)} Secret(s) left out: their values are secret and are never printed. "
                     "Create them from your environment (or rerun with --secrets show):")
        notes += [f"  {create_secret_command(s)}" for s in omitted]
    return Output(kept, omitted, notes)


def split_phases(objects: list[K8sObject]) -> tuple[list[K8sObject], list[K8sObject]]:
    """(CRDs, everything else), each in apply order."""
    crds = [o for o in objects if o.get("kind") == CRD_KIND]
    return crds, [o for o in objects if o.get("kind") != CRD_KIND]


def _defines(crds: list[K8sObject], objects: list[K8sObject]) -> bool:
    """Whether some object is a custom resource of one of ``crds``."""
    kinds = {(c["spec"]["group"], c["spec"]["names"]["kind"]) for c in crds}
    return any((o.get("apiVersion", "").partition("/")[0], o.get("kind")) in kinds for o in objects)


def apply_hint(target: str) -> str:
    return f"kubectl apply --server-side --field-manager={FIELD_MANAGER} -f {target}"


def output_target(args: argparse.Namespace, default_name: str) -> Path | None:
    """Where to write (``-o PATH`` or ``--output-dir [DIR]``), or None for stdout."""
    out: Path | None = getattr(args, "output", None)
    out_dir = getattr(args, "output_dir", None)
    if out is not None and out_dir is not None:
        raise UsageError("give -o/--output or --output-dir, not both")
    if out_dir is _DEFAULT_DIR:
        return Path(f"./{default_name}-k8s")
    if out_dir is not None:
        return Path(str(out_dir))
    return out


def _is_file(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml") and not path.is_dir()


def emit(objects: list[K8sObject], args: argparse.Namespace, notes: Sequence[str] = (), *,
         default_name: str = "b00t") -> int:
    """Print or write ``objects`` as the options say; notes and hints go to stderr."""
    for n in notes:
        print(f"note: {n}", file=sys.stderr)
    out = prepare(objects, secrets=getattr(args, "secrets", "omit"))
    crds, rest = split_phases(out.objects)
    if getattr(args, "crds_only", False):
        selected, phased = crds, False
    elif getattr(args, "skip_crds", False):
        selected, phased = rest, False
    else:
        selected, phased = out.objects, bool(crds) and _defines(crds, rest)
    target = output_target(args, default_name)
    if target is None or _is_file(target):
        text = render.to_yaml(selected)
        if target is None:
            sys.stdout.write(text)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(target, file=sys.stderr)
        if phased:
            print("note: the stream holds CustomResourceDefinitions and their custom resources; one "
                  "`kubectl apply` fails for those resources until the CRDs are established. Apply in two "
                  "phases: --crds-only first, then --skip-crds (or write a directory with -o DIR).",
                  file=sys.stderr)
    else:
        written = _write_dir(selected, target, phased_crds=crds if phased else [])
        for p in written:
            print(p, file=sys.stderr)
        if phased:
            print("note: apply the CRDs first, then the rest:\n"
                  f"  {apply_hint(str(target / CRD_DIR) + '/')}\n"
                  f"  kubectl wait --for=condition=Established --timeout=60s -f {target / CRD_DIR}/\n"
                  f"  {apply_hint(str(target) + '/')}", file=sys.stderr)
    for n in out.notes:
        print(f"note: {n}" if not n.startswith("  ") else n, file=sys.stderr)
    return EXIT_OK


_OURS = re.compile(r"^\d{2,}-[a-z0-9]+-.+\.yaml$")


def _clear(directory: Path) -> None:
    """Remove the files an earlier run wrote (``NN-kind-name.yaml``), so none is applied stale."""
    if directory.is_dir():
        for f in directory.iterdir():
            if f.is_file() and _OURS.match(f.name):
                f.unlink()


def _write_dir(objects: list[K8sObject], out: Path, *, phased_crds: list[K8sObject]) -> list[Path]:
    """One file per object, numbered in apply order; the CRDs of a phased output under ``out/crds/``.
    Files of an earlier run are removed first (only those named like ours)."""
    _clear(out)
    _clear(out / CRD_DIR)
    first = [o for o in objects if any(o is c for c in phased_crds)]
    rest = [o for o in objects if not any(o is c for c in phased_crds)]
    written = render.write_dir(first, out / CRD_DIR) if first else []
    return written + render.write_dir(rest, out)
