"""A Catalog: every datum on the search path, by id, with references resolved and checked.

References are stack ``members``, ``depends_on`` and job ``requires_stacks``. A missing reference
names the id, the directories searched and close matches; a cycle is reported with its path.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from b00t_pulumi.datum.loader import datum_files, default_search_path, load_file
from b00t_pulumi.datum.models import TYPE_ALIASES, Datum, JobDatum, StackDatum, canonical_type
from b00t_pulumi.errors import DatumError, Problem, display_path


@dataclass
class Catalog:
    search_path: list[Path]
    datums: dict[str, Datum] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def load(cls, paths: Sequence[Path] | None = None, *, check_refs: bool = True) -> Catalog:
        """Load every datum under ``paths`` (default: the search path). Never raises on bad input."""
        search = list(paths) if paths else default_search_path()
        cat = cls(search_path=search)
        missing = [p for p in search if not p.exists()]
        for p in missing:
            cat.problems.append(Problem(display_path(p), "", "datum path does not exist"))
        seen_files: dict[str, Path] = {}
        for path in datum_files(search):
            result = load_file(path)
            cat.problems.extend(result.problems)
            d = result.datum
            if d is None:
                continue
            if d.id in cat.datums:
                first = seen_files[d.id]
                cat.problems.append(
                    Problem(display_path(path), "b00t.name",
                            f"duplicate datum id {d.id!r}: also defined in {display_path(first)}")
                )
                continue
            cat.datums[d.id] = d
            seen_files[d.id] = path
        if check_refs:
            cat.problems.extend(cat._check_references())
            cat.problems.extend(cat._check_cycles())
        return cat

    # -- queries -------------------------------------------------------------------------------
    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def raise_for_errors(self) -> None:
        if self.errors:
            raise DatumError(self.errors)

    def stacks(self) -> list[StackDatum]:
        return [d for d in self.datums.values() if isinstance(d, StackDatum)]

    def jobs(self) -> list[JobDatum]:
        return [d for d in self.datums.values() if isinstance(d, JobDatum)]

    def find(self, ref: str) -> Datum | None:
        """A datum by id ``name.type`` (``model`` and ``ai_model`` are the same type)."""
        if ref in self.datums:
            return self.datums[ref]
        name, _, dtype = ref.rpartition(".")
        for alias, canon in TYPE_ALIASES.items():
            for other in ((f"{name}.{canon}",) if dtype == alias else (f"{name}.{alias}",) if dtype == canon else ()):
                if other in self.datums:
                    return self.datums[other]
        return None

    def stack(self, name: str) -> StackDatum:
        d = self.find(name if name.endswith(".stack") else f"{name}.stack")
        if not isinstance(d, StackDatum):
            raise DatumError([Problem("", "", self.not_found_message(f"{name}.stack", kind="stack"))])
        return d

    def job(self, name: str) -> JobDatum:
        d = self.find(name if name.endswith(".job") else f"{name}.job")
        if not isinstance(d, JobDatum):
            raise DatumError([Problem("", "", self.not_found_message(f"{name}.job", kind="job"))])
        return d

    def not_found_message(self, ref: str, kind: str = "datum") -> str:
        searched = ", ".join(display_path(p) for p in self.search_path) or "(no directories)"
        pool = list(self.datums)
        if kind in ("stack", "job"):
            pool = [i for i in pool if i.endswith(f".{kind}")]
        close = difflib.get_close_matches(ref, pool, n=3, cutoff=0.5)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        return f"{kind} {ref!r} not found in {searched}{hint}"

    def members(self, stack: StackDatum) -> list[Datum]:
        """The stack's members, nested stacks expanded depth first, each datum once."""
        out: list[Datum] = []
        seen: set[str] = set()

        def walk(s: StackDatum, trail: tuple[str, ...]) -> None:
            for ref in s.members:
                d = self.find(ref)
                if d is None or d.id in seen or d.id in trail:
                    continue
                if isinstance(d, StackDatum):
                    walk(d, (*trail, d.id))
                    continue
                seen.add(d.id)
                out.append(d)

        walk(stack, (stack.id,))
        return out

    def jobs_requiring(self, stack: StackDatum) -> list[JobDatum]:
        return [j for j in self.jobs() if stack.name in _stack_names(j.orch.requires_stacks)]

    # -- checks --------------------------------------------------------------------------------
    def _edges(self, d: Datum) -> Iterable[tuple[str, str]]:
        """(key path, referenced id) pairs of a datum."""
        if isinstance(d, StackDatum):
            for i, ref in enumerate(d.members):
                yield f"b00t.members[{i}]", ref
        for i, ref in enumerate(d.depends_on):
            yield f"b00t.depends_on[{i}]", ref
        if isinstance(d, JobDatum):
            for i, ref in enumerate(d.orch.requires_stacks):
                yield f"b00t.orchestration.requires_stacks[{i}]", ref if ref.endswith(".stack") else f"{ref}.stack"

    def _check_references(self) -> list[Problem]:
        out: list[Problem] = []
        for d in self.datums.values():
            for key, ref in self._edges(d):
                shown = display_path(d.source) if d.source else d.id
                if "." not in ref:
                    out.append(Problem(shown, key, f"{ref!r} is not an id: write <name>.<type>, e.g. {ref}.docker"))
                    continue
                target = self.find(ref)
                if target is None:
                    kind = "stack" if "requires_stacks" in key else "datum"
                    out.append(Problem(shown, key, self.not_found_message(ref, kind=kind)))
                elif "requires_stacks" in key and not isinstance(target, StackDatum):
                    out.append(Problem(shown, key, f"{ref!r} is a {target.type}, not a stack"))
        return out

    def _check_cycles(self) -> list[Problem]:
        out: list[Problem] = []
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done
        reported: set[frozenset[str]] = set()

        def visit(node: str, trail: list[str]) -> None:
            state[node] = 1
            trail.append(node)
            d = self.datums[node]
            for _key, ref in self._edges(d):
                t = self.find(ref)
                if t is None:
                    continue
                if state.get(t.id) == 1:
                    cycle = [*trail[trail.index(t.id):], t.id]
                    sig = frozenset(cycle)
                    if sig not in reported:
                        reported.add(sig)
                        src = self.datums[cycle[0]].source
                        out.append(Problem(display_path(src) if src else cycle[0], "",
                                           f"dependency cycle: {' -> '.join(cycle)}"))
                elif t.id not in state:
                    visit(t.id, trail)
            trail.pop()
            state[node] = 2

        for node in sorted(self.datums):
            if node not in state:
                visit(node, [])
        return out


def _stack_names(refs: Iterable[str]) -> set[str]:
    return {r.removesuffix(".stack") for r in refs}


def kind_of(ref: str) -> str:
    return canonical_type(ref.rpartition(".")[2])
